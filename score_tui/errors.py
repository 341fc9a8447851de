"""The root of every error score-tui reports to its user.

Each message is one line that says what went wrong and what to do; the batch command line
prints it after a cross, the terminal UI in a notification. The families below it: transfers
(`client.errors.TransferError`), configuration, manifests, requests, slicing and its regions
and indexes, and the demo.
"""

from __future__ import annotations


class ScoreTuiError(Exception):
    """Something the user can act on, said in one line."""
