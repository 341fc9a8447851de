"""`score-tui`: the transfer manager's entry point."""

from __future__ import annotations

import argparse
import sys

from score_tui import __version__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="score-tui",
        description="Queue, watch and control uploads and downloads through a Score broker.",
    )
    parser.add_argument("--version", action="version", version=f"score-tui {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    _parser().parse_args(argv)
    print(
        "score-tui: the transfer manager is not part of this release yet; "
        "run `score-broker serve` to start the broker.",
        file=sys.stderr,
    )
    return 2
