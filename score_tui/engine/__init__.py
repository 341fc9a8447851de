"""The transfer engine: UI-free, journalled, resumable.

Import what you need from its modules (`engine.engine`, `engine.journal`, `engine.model`, ...):
importing the package itself loads nothing, so the configuration can use `engine.settings`
without the data plane.
"""
