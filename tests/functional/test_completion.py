"""Shell completion of `score-tui` and `score-broker` through real bash, as a user gets it after
`eval "$(register-python-argcomplete score-tui)"`."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.support.completion import completions

BIN = Path(sys.executable).parent  # the environment the project is installed in


def test_batch_commands_complete_after_batch() -> None:
    assert completions(BIN, "score-tui --batch up") == ["upload"]
    offered = completions(BIN, "score-tui --batch ")
    assert {"upload", "download", "view", "status", "resume"} <= set(offered)


def test_batch_command_options_complete() -> None:
    offered = completions(BIN, "score-tui --batch download --")
    assert {"--object-id", "--manifest", "--analysis-id", "--output-dir", "--validate"} <= set(
        offered
    )
    assert "--batch" not in offered, "--batch is already given"
    assert completions(BIN, "score-tui --batch download --output-l") == ["--output-layout"]
    assert completions(BIN, "score-tui --batch download --output-layout ") == [
        "filename",
        "bundle",
        "id",
    ]


def test_ui_options_complete_without_batch() -> None:
    offered = completions(BIN, "score-tui --")
    assert {"--batch", "--demo", "--server-url"} <= set(offered)
    assert "--object-id" not in offered


def test_broker_commands_complete() -> None:
    assert completions(BIN, "score-broker k") == ["keys"]
    assert {"upgrade", "status", "copy"} <= set(completions(BIN, "score-broker db "))
    assert {"create", "list", "revoke"} <= set(completions(BIN, "score-broker keys "))
    assert "--scope" in completions(BIN, "score-broker keys create --")
