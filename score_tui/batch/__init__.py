"""`score-tui --batch`: score-client's commands on the engine, with progress on stderr."""
