"""Running a killed one-step upload (`upload --study S --file F --publish`) again, as a user
would: the same command, until it succeeds. A real broker with the embedded Song and Score's
smallest parts (20 MiB: the broker's minimum, whatever `[storage] part_size` says); the command
is a real process, killed with SIGKILL at points chosen by watching the journal and Song, never
by guessing with sleeps.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import BrokerFactory
from tests.support.broker import BrokerProcess
from tests.support.tui import Tui

STUDY = "RERUN-CA"
MiB = 1024 * 1024
PART = 20 * MiB
PARTS = 4
WAIT = 60.0
#: Slow enough (a part every ~0.4 s) to watch the parts go by.
LIMIT = "50MB/s"


@pytest.fixture
def broker(broker_factory: BrokerFactory, tmp_path: Path) -> BrokerProcess:
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    return broker_factory(storage, song={"url": "embedded"})


@pytest.fixture
def user(tmp_path: Path, broker: BrokerProcess) -> Tui:
    (tmp_path / "user").mkdir()
    return Tui(tmp_path / "user", broker.url)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """Four parts at the broker's 20 MiB part size."""
    path = tmp_path / "run" / "reads.bam"
    path.parent.mkdir()
    path.write_bytes(random.Random(5).randbytes((PARTS - 1) * PART + 4321))
    return path


def upload_command(path: Path, *extra: str) -> list[str]:
    return [*extra, "upload", "--study", STUDY, "--access", "open", "--file", str(path),
            "--publish"]  # fmt: skip


def journal_rows(tui: Tui, query: str) -> list[tuple[Any, ...]]:
    """Rows of a read-only query of the journal (none while it or the table does not exist)."""
    if not tui.journal_path.exists():
        return []
    db = sqlite3.connect(f"file:{tui.journal_path}?mode=ro", uri=True, timeout=30)
    try:
        return db.execute(query).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


def registered(tui: Tui) -> bool:
    return bool(journal_rows(tui, "SELECT 1 FROM registrations WHERE analysis_id IS NOT NULL"))


def parts_done(tui: Tui) -> int:
    return len(journal_rows(tui, "SELECT 1 FROM parts WHERE done = 1"))


def uploads_done(tui: Tui) -> bool:
    return bool(journal_rows(tui, "SELECT 1 FROM transfers WHERE state = 'done'"))


def analyses(broker: BrokerProcess) -> list[dict[str, Any]]:
    """Every analysis of the study in the embedded Song, whatever its state."""
    response = httpx.get(
        f"{broker.url}/song/studies/{STUDY}/analysis",
        params={"analysisStates": "PUBLISHED,UNPUBLISHED,SUPPRESSED"},
    )
    if response.status_code == 404:  # the study is created by the first registration
        return []
    assert response.status_code == 200, response.text
    return list(response.json())


def killed_when(tui: Tui, args: list[str], condition: Callable[[], bool]) -> bool:
    """Start the command and SIGKILL it once `condition` holds; False if it exited first."""
    process = tui.popen(*args)
    deadline = time.monotonic() + WAIT
    while not condition():
        if process.poll() is not None:
            _, err = process.communicate()
            assert process.returncode == 0, err
            return False
        assert time.monotonic() < deadline, "the condition to kill at never held"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    return True


def assert_published_once(
    broker: BrokerProcess, tui: Tui, tmp_path: Path, source: Path
) -> dict[str, Any]:
    """One analysis holds the file, PUBLISHED once, and the object reads back byte for byte."""
    (analysis,) = analyses(broker)
    assert analysis["analysisState"] == "PUBLISHED"
    published = [h for h in analysis["analysisStateHistory"] if h["updatedState"] == "PUBLISHED"]
    assert len(published) == 1, analysis["analysisStateHistory"]
    (file,) = analysis["files"]
    assert file["fileName"] == source.name
    out = tmp_path / f"out-{time.monotonic_ns()}"
    done = tui.run("download", "--object-id", file["objectId"], "--output-dir", str(out))
    assert done.returncode == 0, done.stderr
    assert (out / source.name).read_bytes() == source.read_bytes()
    return analysis


def summary_of(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    try:
        return dict(json.loads(done.stdout))
    except ValueError:
        raise AssertionError(f"no JSON summary:\n{done.stdout}\n{done.stderr}") from None


def test_killed_after_registering_the_same_command_finishes_and_publishes(
    broker: BrokerProcess, user: Tui, tmp_path: Path, source: Path
) -> None:
    command = upload_command(source, "--bandwidth-limit", LIMIT)
    assert killed_when(user, command, lambda: registered(user))
    (analysis,) = analyses(broker)
    assert analysis["analysisState"] == "UNPUBLISHED"
    assert parts_done(user) < PARTS

    again = user.run("--json", *command)
    assert again.returncode == 0, again.stderr
    summary = summary_of(again)
    assert [(f["direction"], f["state"]) for f in summary["files"]] == [
        ("upload", "done"),
        ("publish", "done"),
    ]
    assert "holds these files already" in again.stderr
    assert summary["files"][1]["file"] == analysis["analysisId"]
    assert_published_once(broker, user, tmp_path, source)

    # Once more: nothing is uploaded or published again, and the command says so.
    third = user.run("--json", *command)
    assert third.returncode == 0, third.stderr
    assert [(f["direction"], f["state"]) for f in summary_of(third)["files"]] == [
        ("upload", "skipped"),
        ("publish", "skipped"),
    ]
    assert "was already published" in third.stderr
    assert_published_once(broker, user, tmp_path, source)


def test_killed_before_the_journal_learnt_the_analysis_id_finds_it_in_song(
    broker: BrokerProcess, user: Tui, tmp_path: Path, source: Path
) -> None:
    command = upload_command(source, "--bandwidth-limit", LIMIT)
    assert killed_when(user, command, lambda: registered(user))
    # The journal as a kill between Song's answer and the journal's write leaves it: the
    # submission recorded, its analysis id and object ids not, nothing queued.
    db = sqlite3.connect(user.journal_path)
    with db:
        db.execute("UPDATE registrations SET state = 'submitting', analysis_id = NULL")
        db.execute("UPDATE registered_files SET object_id = NULL")
        db.execute("DELETE FROM parts")
        db.execute("DELETE FROM transfers")
    db.close()
    (analysis,) = analyses(broker)

    again = user.run("--json", *command)
    assert again.returncode == 0, again.stderr
    assert summary_of(again)["files"][1]["file"] == analysis["analysisId"]
    assert "holds these files already" in again.stderr
    assert_published_once(broker, user, tmp_path, source)


def test_parts_uploaded_before_the_kill_are_not_sent_again(
    broker: BrokerProcess, user: Tui, tmp_path: Path, source: Path
) -> None:
    command = upload_command(source, "--bandwidth-limit", LIMIT, "--concurrency", "1")
    assert killed_when(user, command, lambda: parts_done(user) >= 3)
    finished = parts_done(user)
    before = broker.log_text().count('"PUT /storage/data/')

    again = user.run(*command)
    assert again.returncode == 0, again.stderr
    sent = broker.log_text().count('"PUT /storage/data/') - before
    assert sent <= PARTS - finished, f"{sent} parts sent again after {finished} were done"
    assert_published_once(broker, user, tmp_path, source)


def test_resume_publishes_what_the_one_step_upload_asked_to(
    broker: BrokerProcess, user: Tui, tmp_path: Path, source: Path
) -> None:
    command = upload_command(source, "--bandwidth-limit", LIMIT)
    assert killed_when(user, command, lambda: parts_done(user) >= 1)

    resumed = user.run("resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "published analysis" in resumed.stderr
    assert_published_once(broker, user, tmp_path, source)
    assert "nothing to resume" in user.run("resume").stderr


def test_a_file_changed_since_it_was_registered_is_refused(
    broker: BrokerProcess, user: Tui, tmp_path: Path, source: Path
) -> None:
    command = upload_command(source, "--bandwidth-limit", LIMIT)
    assert killed_when(user, command, lambda: registered(user))
    source.write_bytes(os.urandom(3 * MiB))

    refused = user.run(*command)
    assert refused.returncode == 1
    (line,) = refused.stderr.strip().splitlines()
    assert "reads.bam changed since an unfinished upload registered it" in line
    assert "put that file back" in line
    assert "--force" in line
    (analysis,) = analyses(broker)
    assert analysis["analysisState"] == "UNPUBLISHED"

    forced = user.run(*command, "--force")
    assert forced.returncode == 0, forced.stderr
    states = sorted(a["analysisState"] for a in analyses(broker))
    assert states == ["PUBLISHED", "UNPUBLISHED"], "the changed file is a new analysis"


def test_an_analysis_published_just_before_the_kill_is_not_published_again(
    broker: BrokerProcess, user: Tui, tmp_path: Path, source: Path
) -> None:
    command = upload_command(source, "--bandwidth-limit", LIMIT)
    assert killed_when(user, command, lambda: uploads_done(user))
    (analysis,) = analyses(broker)
    if analysis["analysisState"] == "UNPUBLISHED":  # the killed run may have got that far
        # What the killed run does as its last step, before the journal can record it.
        published = httpx.put(
            f"{broker.url}/song/studies/{STUDY}/analysis/publish/{analysis['analysisId']}"
        )
        assert published.status_code == 200, published.text

    again = user.run("--json", *command)
    assert again.returncode == 0, again.stderr
    assert [(f["direction"], f["state"]) for f in summary_of(again)["files"]] == [
        ("upload", "skipped"),
        ("publish", "skipped"),
    ]
    assert f"analysis {analysis['analysisId']} was already published" in again.stderr
    assert_published_once(broker, user, tmp_path, source)


def kill_points(broker: BrokerProcess, tui: Tui) -> list[tuple[str, Callable[[], bool]]]:
    """The points still ahead of the command, in order: registered, each further part done,
    every part done, published (as Song says, before the journal learns it)."""
    points: list[tuple[str, Callable[[], bool]]] = []
    if not registered(tui):
        points.append(("registered", lambda: registered(tui)))
    points += [
        (f"{n} parts", lambda n=n: parts_done(tui) >= n)
        for n in range(parts_done(tui) + 1, PARTS + 1)
    ]
    if not uploads_done(tui):
        points.append(("uploaded", lambda: uploads_done(tui)))
    if not any(a["analysisState"] == "PUBLISHED" for a in analyses(broker)):
        points.append(
            ("published", lambda: any(a["analysisState"] == "PUBLISHED" for a in analyses(broker)))
        )
    return points


def delayed(condition: Callable[[], bool], delay: float) -> Callable[[], bool]:
    """The condition, then `delay` seconds measured from when it was first seen to hold."""
    seen: list[float] = []

    def holds() -> bool:
        if not seen and condition():
            seen.append(time.monotonic())
        return bool(seen) and time.monotonic() - seen[0] >= delay

    return holds


def test_killed_at_random_points_the_same_command_ends_published_once(
    broker: BrokerProcess, user: Tui, tmp_path: Path, source: Path
) -> None:
    rng = random.Random(20261129)
    command = upload_command(source, "--bandwidth-limit", LIMIT, "--concurrency", "2")
    kills: list[str] = []
    while len(kills) < 8 and (points := kill_points(broker, user)):
        name, condition = rng.choice(points[:2])  # one of the next two: several kills a run
        if not killed_when(user, command, delayed(condition, rng.uniform(0, 0.05))):
            break  # it finished before the kill point: nothing more to interrupt
        kills.append(name)
        assert len(analyses(broker)) <= 1, f"a second analysis after kills at {kills}"
    assert len(kills) >= 2, kills

    for _ in range(3):
        done = user.run(*command)
        if done.returncode == 0:
            break
    assert done.returncode == 0, done.stderr
    assert_published_once(broker, user, tmp_path, source)
