"""What the terminal UI records to resume at its next start, when several instances (browser tabs
of `score-tui --serve`) share one journal and quit at once."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from score_tui.app import read_interrupted, record_interrupted

BROKER = "http://127.0.0.1:8087"


@pytest.fixture(autouse=True)
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    return tmp_path


def test_each_instance_keeps_what_the_others_recorded() -> None:
    record_interrupted(BROKER, ["a1", "a2"], [])
    record_interrupted(BROKER, ["b1"], [])
    assert read_interrupted()[BROKER] == ["b1", "a1", "a2"]
    record_interrupted(BROKER, [], ["a1"])  # a later start finished a1
    assert read_interrupted()[BROKER] == ["b1", "a2"]
    record_interrupted("http://other:8087", ["c1"], [])
    assert read_interrupted()[BROKER] == ["b1", "a2"]


def _quit_many_times(name: str, count: int) -> None:
    for number in range(count):
        record_interrupted(BROKER, [f"{name}{number}"], [])


def test_instances_quitting_at_the_same_moment_lose_nothing() -> None:
    context = multiprocessing.get_context("fork")
    instances = [context.Process(target=_quit_many_times, args=(n, 60)) for n in "abc"]
    for instance in instances:
        instance.start()
    for instance in instances:
        instance.join(timeout=60)
        assert instance.exitcode == 0
    recorded = read_interrupted()[BROKER]
    assert sorted(recorded) == sorted(f"{n}{i}" for n in "abc" for i in range(60))
