"""The transfer engine: UI-free, journalled, resumable."""

from score_tui.engine.engine import Engine, EngineSettings
from score_tui.engine.journal import Journal
from score_tui.engine.model import Direction, Md5State, PartRecord, PartState, State, Transfer

__all__ = [
    "Direction",
    "Engine",
    "EngineSettings",
    "Journal",
    "Md5State",
    "PartRecord",
    "PartState",
    "State",
    "Transfer",
]
