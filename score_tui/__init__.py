"""score-tui: a terminal app that queues and moves large genomics files through a Score broker."""

__version__ = "0.1.0"
