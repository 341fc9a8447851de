"""Asking bash for completions as a user's shell does on Tab: the function that
`register-python-argcomplete` defines, called with COMP_LINE, COMP_POINT, COMP_WORDS and
COMP_CWORD set as bash sets them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

PRESS_TAB = r"""
eval "$(register-python-argcomplete "$COMMAND")"
COMP_LINE=$LINE
COMP_POINT=${#LINE}
read -ra COMP_WORDS <<<"$LINE"
[[ $LINE == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_python_argcomplete "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"""


def completions(bin_dir: Path, line: str, env: dict[str, str] | None = None) -> list[str]:
    """What Tab offers at the end of `line`, its command and `register-python-argcomplete`
    taken from `bin_dir`."""
    base = os.environ if env is None else env
    shell_env = {
        **base,
        "PATH": f"{bin_dir}{os.pathsep}{base.get('PATH', '')}",
        "COMMAND": line.split()[0],
        "LINE": line,
    }
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", PRESS_TAB],
        capture_output=True, text=True, env=shell_env, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [word.strip() for word in done.stdout.splitlines() if word.strip()]
