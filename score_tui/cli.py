"""`score-tui`: the transfer manager's entry point (`--batch COMMAND` runs without the UI)."""

from __future__ import annotations

import argparse
import sys

from score_tui import __version__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="score-tui",
        description="Queue, watch and control uploads and downloads through a Score broker. "
        "`score-tui --batch COMMAND --help` lists the headless commands.",
    )
    parser.add_argument("--version", action="version", version=f"score-tui {__version__}")
    parser.add_argument("--batch", action="store_true", help="run a command without the UI")
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if "--batch" in arguments:
        from score_tui.batch.cli import main as batch_main

        arguments.remove("--batch")
        return batch_main(arguments)
    _parser().parse_args(arguments)
    print(
        "score-tui: the terminal UI is not part of this release yet; "
        "use `score-tui --batch COMMAND` (see `score-tui --batch --help`).",
        file=sys.stderr,
    )
    return 2
