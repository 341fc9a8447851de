"""F1 and `?`: the keys, the screens, and where the queue and the token are kept."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# score-tui

Uploads and downloads through a Score broker, part by part, each part checked by MD5.

| Key | Action |
|---|---|
| `a` | add a download: object ids, a manifest, or an analysis and its study |
| `u` | add an upload: files registered with Song, an object id, or a manifest |
| `p` | pause or resume the selected transfer |
| `P` | pause everything that runs, or resume everything paused |
| `x` | cancel the selected transfer (a download's partial file is removed) |
| `r` | retry every failed transfer |
| `Enter` | the selected transfer's parts |
| `v` | slice a BAM/CRAM by region (the selected one, or any object id); save as SAM/BAM/CRAM |
| `/` | filter the queue (`Esc` clears it) |
| `s` | settings and login: broker, token, concurrency, bandwidth cap |
| `ctrl+p` | the command palette: every action by name |
| `F1`, `?` | this help |
| `q` | quit: running transfers pause and resume at the next start |

The queue is kept in the journal (`score-tui --batch status` shows the same queue), so a
transfer interrupted by quitting, a crash or a lost connection goes on where it stopped,
without sending finished parts again. Downloads are written to a hidden `.partial` file and
moved into place only after the whole-file MD5 matches; an existing file is never overwritten
unless you ask for it.
"""


class HelpScreen(ModalScreen[None]):
    """Keys and what they do."""

    BINDINGS = [Binding("escape,q,f1,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(HELP)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
