"""The terminal UI driven by Textual's pilot against a real broker (local store, embedded Song).

Every key and every command-palette action is exercised; transfers really move, and what lands
on disk is compared with what was sent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual.widgets import Input, Select

from score_tui.app import TransferApp
from score_tui.config import Overrides, load, token_fallback_path
from score_tui.demo import write_demo_bam
from score_tui.engine.journal import Journal
from score_tui.engine.model import State
from score_tui.screens.detail import TransferDetailScreen
from score_tui.screens.help import HelpScreen
from score_tui.screens.queue import QueueScreen
from score_tui.screens.settings import SettingsScreen
from score_tui.screens.slice import SliceScreen
from tests.conftest import BrokerFactory
from tests.support.broker import BrokerProcess
from tests.support.certificates import make_ca_signed
from tests.tui.conftest import until

pytestmark = pytest.mark.anyio
SIZE = (120, 40)
MiB = 1024 * 1024


@pytest.fixture
def broker(broker_factory: BrokerFactory, tmp_path: Path) -> BrokerProcess:
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    return broker_factory(storage, song={"url": "embedded"})


@pytest.fixture
def files(tmp_path: Path) -> dict[str, bytes]:
    directory = tmp_path / "files"
    directory.mkdir()
    contents = {"reads.bin": os.urandom(45 * MiB + 3), "notes.txt": b"demo notes\n" * 100}
    for name, content in contents.items():
        (directory / name).write_bytes(content)
    return contents


def make_app(broker: BrokerProcess, tmp_path: Path, **extra: Any) -> TransferApp:
    settings = load(Overrides(server_url=broker.url))
    defaults = {"study": "TUI", "downloads": str(tmp_path / "downloads"), "files": str(tmp_path)}
    return TransferApp(settings, defaults=defaults, **extra)


def states(app: TransferApp) -> list[State]:
    return [v.transfer.state for v in app.live.views.values()]


def by_name(app: TransferApp, name: str, direction: str = "download") -> Any:
    return next(
        v.transfer
        for v in app.live.views.values()
        if v.transfer.file_name == name and v.transfer.direction == direction
    )


async def type_into(pilot: Any, selector: str, text: str) -> None:
    """Fill a field (long paths are pasted rather than typed key by key)."""
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    field.value = text
    await pilot.pause()


async def upload_files(pilot: Any, tmp_path: Path, names: list[str]) -> None:
    """`u`, the files typed in, registered in study TUI (open), published."""
    await pilot.press("u")
    paths = " ".join(str(tmp_path / "files" / n) for n in names)
    await type_into(pilot, "#files", paths)
    await pilot.click("#ok")


async def uploaded(pilot: Any, count: int) -> None:
    """Until `count` transfers are done and their analysis is published (downloads of an
    unpublished analysis are refused)."""
    app = pilot.app
    await until(pilot, lambda: len(states(app)) == count and set(states(app)) == {State.DONE})
    await until(pilot, lambda: not [w for w in app.workers if w.group == "add" and w.is_running])


async def test_upload_then_download_with_the_keyboard(
    broker: BrokerProcess, tmp_path: Path, files: dict[str, bytes], user_home: Path
) -> None:
    app = make_app(broker, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.broker_status.startswith("connected"))
        await upload_files(pilot, tmp_path, list(files))
        await uploaded(pilot, 2)
        assert isinstance(app.screen, QueueScreen)
        analysis = next(iter(app.workspace.journal.transfers())).object_id
        song = await app.workspace.song.entity(analysis)
        assert song.file_name in files

        await pilot.press("a")
        ids = " ".join(v.transfer.object_id for v in app.live.views.values())
        await type_into(pilot, "#object-ids", ids)
        app.screen.query_one("#study", Input).value = ""
        await pilot.press("enter")
        await until(pilot, lambda: len(states(app)) == 4 and set(states(app)) == {State.DONE})
    for name, content in files.items():
        assert (tmp_path / "downloads" / name).read_bytes() == content
    assert not [p for p in (tmp_path / "downloads").iterdir() if p.name.endswith(".partial")]


async def test_pause_resume_cancel_and_pause_all(
    broker: BrokerProcess, tmp_path: Path, files: dict[str, bytes], user_home: Path
) -> None:
    app = make_app(broker, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.broker_status.startswith("connected"))
        await upload_files(pilot, tmp_path, list(files))
        await uploaded(pilot, 2)
        app.engine.set_bandwidth_limit(4e6)  # slow enough to act on a running download

        await pilot.press("a")
        ids = " ".join(v.transfer.object_id for v in app.live.views.values())
        await type_into(pilot, "#object-ids", ids)
        app.screen.query_one("#study", Input).value = ""
        await pilot.click("#ok")
        await until(pilot, lambda: by_name(app, "reads.bin").state == State.RUNNING)
        big = by_name(app, "reads.bin")
        table = app.screen.query_one("#queue")
        await until(pilot, lambda: big.id in table.rows)
        table.move_cursor(row=table.get_row_index(big.id))

        await pilot.press("p")
        await until(pilot, lambda: big.state == State.PAUSED, timeout=2)
        assert app.workspace.journal.get(big.id).state == State.PAUSED
        await pilot.press("p")
        await until(pilot, lambda: big.state == State.RUNNING, timeout=2)

        await pilot.press("P")
        await until(pilot, lambda: big.state == State.PAUSED, timeout=2)
        await pilot.press("P")
        await until(pilot, lambda: big.state == State.RUNNING, timeout=2)

        await until(pilot, lambda: big.temp_path is not None and Path(big.temp_path).exists())
        partial = Path(big.temp_path)
        await pilot.press("x")
        await until(pilot, lambda: big.state == State.CANCELLED, timeout=2)
        assert not partial.exists()
        assert not (tmp_path / "downloads" / "reads.bin").exists()
        await until(pilot, lambda: by_name(app, "notes.txt").state == State.DONE)
        assert (tmp_path / "downloads" / "notes.txt").read_bytes() == files["notes.txt"]


async def test_retry_failed_after_the_cause_is_fixed(
    broker: BrokerProcess, tmp_path: Path, files: dict[str, bytes], user_home: Path
) -> None:
    app = make_app(broker, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.broker_status.startswith("connected"))
        await upload_files(pilot, tmp_path, ["notes.txt"])
        await uploaded(pilot, 1)
        blocker = tmp_path / "blocked"
        blocker.write_text("a file where the destination directory should be")

        await pilot.press("a")
        await type_into(pilot, "#object-ids", by_name(app, "notes.txt", "upload").object_id)
        await type_into(pilot, "#output-dir", str(blocker / "sub"))
        app.screen.query_one("#study", Input).value = ""
        await pilot.click("#ok")
        await until(pilot, lambda: State.FAILED in states(app))
        failed = by_name(app, "notes.txt")
        assert "blocked" in (failed.error or "")
        await until(pilot, lambda: any("notes.txt: " in n.message for n in app._notifications))

        blocker.unlink()
        await pilot.press("r")
        await until(pilot, lambda: failed.state == State.DONE)
    assert (blocker / "sub" / "notes.txt").read_bytes() == files["notes.txt"]


async def test_filter_details_and_help(
    broker: BrokerProcess, tmp_path: Path, files: dict[str, bytes], user_home: Path
) -> None:
    app = make_app(broker, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.broker_status.startswith("connected"))
        await upload_files(pilot, tmp_path, list(files))
        await uploaded(pilot, 2)
        table = app.screen.query_one("#queue")

        await pilot.press("slash", *"notes")
        await pilot.pause()
        assert table.row_count == 1
        await pilot.press("enter", "enter")  # leave the filter field, then open the row
        await until(pilot, lambda: isinstance(app.screen, TransferDetailScreen))
        assert app.screen.transfer_id == by_name(app, "notes.txt", "upload").id
        await pilot.press("escape")
        assert isinstance(app.screen, QueueScreen)
        await pilot.press("slash", "escape")
        assert table.row_count == 2

        for key in ("f1", "question_mark"):
            await pilot.press(key)
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape")
            assert isinstance(app.screen, QueueScreen)


async def test_forms_refuse_bad_input_and_change_nothing(
    broker: BrokerProcess, tmp_path: Path, files: dict[str, bytes], user_home: Path
) -> None:
    app = make_app(broker, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.broker_status.startswith("connected"))
        await pilot.press("a")
        await type_into(pilot, "#object-ids", "not-a-uuid")
        app.screen.query_one("#study", Input).value = ""
        await pilot.click("#ok")
        assert "is not an object id" in str(app.screen.query_one("#error").render())
        await pilot.press("escape")

        await pilot.press("u")
        await type_into(pilot, "#files", str(tmp_path / "missing.bam"))
        await pilot.click("#ok")
        assert "is not a file" in str(app.screen.query_one("#error").render())
        await pilot.press("escape")
        assert isinstance(app.screen, QueueScreen)
        assert states(app) == []


async def test_every_palette_command_runs(
    broker: BrokerProcess, tmp_path: Path, files: dict[str, bytes], user_home: Path
) -> None:
    app = make_app(broker, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.broker_status.startswith("connected"))
        await upload_files(pilot, tmp_path, ["notes.txt"])
        await uploaded(pilot, 1)
        expected = {
            "Add download": "AddDownloadScreen",
            "Add upload": "AddUploadScreen",
            "Transfer details": "TransferDetailScreen",
            "Settings and login": "SettingsScreen",
            "Help": "HelpScreen",
            "Slice reads": "SliceScreen",
        }
        for title, screen in expected.items():
            await pilot.press("ctrl+p", *title, "enter")
            await until(pilot, lambda screen=screen: type(app.screen).__name__ == screen)
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, QueueScreen))
        for title in ("Pause or resume all", "Retry failed", "Pause or resume", "Cancel transfer"):
            await pilot.press("ctrl+p", *title, "enter")
            await until(pilot, lambda: isinstance(app.screen, QueueScreen))
        await pilot.press("ctrl+p", *"Filter", "enter")
        await until(pilot, lambda: app.screen.query_one("#filter", Input).has_focus)


async def test_settings_save_the_token_and_limits(
    broker: BrokerProcess, tmp_path: Path, user_home: Path
) -> None:
    app = make_app(broker, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.broker_status.startswith("connected"))
        await pilot.press("s")
        assert isinstance(app.screen, SettingsScreen)
        await type_into(pilot, "#token", "secret-token-1234")
        await type_into(pilot, "#bandwidth", "5MB/s")
        await pilot.press("enter")
        assert app.engine.limiter.rate == 5e6
        await until(pilot, lambda: any("no OS keyring" in n.message for n in app._notifications))
        # A new token: the app stops its engine and leaves, to start again with it.
        await until(pilot, lambda: app.return_value == "restart")
    saved = tomllib.loads(load().config_file.read_text())
    assert saved == {"transfer": {"bandwidth_limit": "5MB/s"}}  # only what was changed
    fallback = token_fallback_path("default")
    assert fallback.read_text().strip() == "secret-token-1234"
    assert fallback.stat().st_mode & 0o777 == 0o600


async def test_the_queue_survives_quitting(
    broker: BrokerProcess, tmp_path: Path, files: dict[str, bytes], user_home: Path
) -> None:
    app = make_app(broker, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.broker_status.startswith("connected"))
        await upload_files(pilot, tmp_path, list(files))
        await uploaded(pilot, 2)
        ids = " ".join(v.transfer.object_id for v in app.live.views.values())
        app.engine.set_bandwidth_limit(4e6)
        await pilot.press("a")
        await type_into(pilot, "#object-ids", ids)
        app.screen.query_one("#study", Input).value = ""
        await pilot.click("#ok")
        await until(pilot, lambda: by_name(app, "reads.bin").state == State.RUNNING)
        await until(pilot, lambda: by_name(app, "reads.bin").bytes_done > 0)
        interrupted = by_name(app, "reads.bin").id
        await pilot.press("q")
    journal = Journal(load().journal_path)
    assert journal.get(interrupted).state == State.PAUSED
    journal.close()

    again = make_app(broker, tmp_path)
    async with again.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: interrupted in again.live.views)
        assert [v.transfer.file_name for v in again.live.views.values()][:2] == list(files)
        await until(pilot, lambda: again.live.views[interrupted].transfer.state == State.DONE)
    assert (tmp_path / "downloads" / "reads.bin").read_bytes() == files["reads.bin"]


async def test_resume_on_request_when_automatic_resume_is_off(
    broker: BrokerProcess, tmp_path: Path, files: dict[str, bytes], user_home: Path
) -> None:
    app = make_app(broker, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.broker_status.startswith("connected"))
        app.engine.set_bandwidth_limit(4e6)  # still running when the app quits
        await upload_files(pilot, tmp_path, ["reads.bin"])
        await until(pilot, lambda: app.live.views and by_name(app, "reads.bin", "upload").state
                    == State.RUNNING)  # fmt: skip
        await until(pilot, lambda: by_name(app, "reads.bin", "upload").bytes_done > 0)
        await pilot.press("q")

    again = make_app(broker, tmp_path, resume_on_start=False)
    async with again.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: again.broker_status.startswith("connected"))
        upload = by_name(again, "reads.bin", "upload")
        assert upload.state == State.PAUSED
        # (a notification is shown once the app has handled it: wait for it, do not race it)
        await until(pilot, lambda: any("P resumes" in n.message for n in again._notifications))
        await pilot.press("P")
        await until(pilot, lambda: upload.state == State.DONE)


async def test_a_batch_run_shows_in_the_open_app(
    broker: BrokerProcess, tmp_path: Path, files: dict[str, bytes], user_home: Path
) -> None:
    app = make_app(broker, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.broker_status.startswith("connected"))
        await upload_files(pilot, tmp_path, ["notes.txt"])
        await uploaded(pilot, 1)
        object_id = by_name(app, "notes.txt", "upload").object_id
        env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
        batch = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "score_tui", "--batch", "--server-url", broker.url,
            "download", "--object-id", object_id, "--output-dir", str(tmp_path / "batch"),
            env=env,
        )  # fmt: skip
        assert await batch.wait() == 0
        await until(pilot, lambda: len(states(app)) == 2)
        await until(pilot, lambda: by_name(app, "notes.txt").state == State.DONE)
        table = app.screen.query_one("#queue")
        await until(pilot, lambda: table.row_count == 2)
    assert (tmp_path / "batch" / "notes.txt").read_bytes() == files["notes.txt"]


async def test_many_files_at_once_end_done_and_published(
    broker: BrokerProcess, tmp_path: Path, user_home: Path
) -> None:
    """Forty files in one upload (many in flight): each ends done and stays done while the
    app reads the journal for other processes' changes, and the analysis is published."""
    directory = tmp_path / "files"
    directory.mkdir()
    names = [f"f{number:02}.txt" for number in range(40)]
    for name in names:
        (directory / name).write_bytes(os.urandom(4096))
    app = make_app(broker, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.broker_status.startswith("connected"))
        await upload_files(pilot, tmp_path, names)
        await uploaded(pilot, len(names))
        # A journal row read before the transfer's last write arrives late: it changes nothing.
        view = next(iter(app.live.views.values()))
        stale = dataclasses.replace(
            view.transfer, state=State.RUNNING, updated=view.transfer.updated - 1
        )
        app._merge_journal([stale])
        assert view.transfer.state == State.DONE
    published = httpx.get(
        f"{broker.url}/song/studies/TUI/analysis", params={"analysisStates": "PUBLISHED"}
    ).json()
    assert len(published) == 1
    assert sorted(f["fileName"] for f in published[0]["files"]) == names


async def test_with_no_broker_configured_the_embedded_one_is_offered(
    broker: BrokerProcess, tmp_path: Path, user_home: Path
) -> None:
    app = make_app(broker, tmp_path, offer_embedded=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: type(app.screen).__name__ == "OfferBrokerScreen")
        await pilot.press("enter")  # "Start the embedded broker"
        await until(pilot, lambda: app.return_value == "embedded")


async def test_slice_a_bam_and_save_the_reads(
    broker: BrokerProcess, tmp_path: Path, user_home: Path
) -> None:
    (tmp_path / "files").mkdir()
    bam = write_demo_bam(tmp_path / "files" / "reads.bam", reads=3000)
    app = make_app(broker, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.broker_status.startswith("connected"))
        await pilot.press("u")
        await type_into(pilot, "#files", f"{bam} {bam}.bai")
        app.screen.query_one("#access", Select).value = "open"
        await pilot.click("#ok")
        await uploaded(pilot, 2)
        table = app.screen.query_one("#queue")
        bam_upload = by_name(app, "reads.bam", "upload")
        await until(pilot, lambda: bam_upload.id in table.rows)
        table.move_cursor(row=table.get_row_index(bam_upload.id))

        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, SliceScreen))
        assert (
            app.screen.query_one("#object", Input).value
            == by_name(app, "reads.bam", "upload").object_id
        )
        await type_into(pilot, "#regions", "chr20:100,000-600,000 chr21:1-50000")
        await pilot.press("enter")
        reads = app.screen.query_one("#reads")
        status = app.screen.query_one("#slice-status")
        await until(pilot, lambda: "reads in" in str(status.render()))
        expected = samtools_view(bam, "chr20:100000-600000", "chr21:1-50000")
        assert reads.row_count == len(expected) > 0
        assert [str(reads.get_row_at(0)[0])] == [expected[0].split("\t")[0]]

        target = tmp_path / "saved" / "slice.bam"
        target.parent.mkdir()
        await type_into(pilot, "#save-path", str(target))
        app.screen.query_one("#save-format", Select).value = "bam"
        await pilot.press("enter")
        await until(pilot, lambda: target.exists())
        await until(pilot, lambda: "Saved" in str(status.render()))
        assert samtools_view(target) == expected

        await type_into(pilot, "#regions", "chrZ:1-100")
        await pilot.press("enter")
        await until(pilot, lambda: "no contig 'chrZ'" in str(status.render()))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))


def samtools_view(path: Path, *regions: str) -> list[str]:
    done = subprocess.run(
        ["samtools", "view", str(path), *regions], capture_output=True, text=True, check=True
    )
    return done.stdout.splitlines()


async def test_a_refused_certificate_is_told_as_the_batch_tells_it(
    broker_factory: BrokerFactory, tmp_path: Path, user_home: Path
) -> None:
    files = make_ca_signed(tmp_path / "tls")
    storage = {"backend": "local", "local": {"directory": str(tmp_path / "store")}}
    secure = broker_factory(
        storage,
        song={"url": "embedded"},
        tls_cert_file=str(files.cert_file),
        tls_key_file=str(files.key_file),
        ca_file=files.ca_file,
    )
    app = make_app(secure, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.broker_status == "certificate refused")
        (message,) = [n.message for n in app._notifications]
        assert message == (
            f"cannot verify the TLS certificate of {secure.url}: unable to get local issuer "
            "certificate. If you trust it, pass its CA with --ca-file, set ca_file in the "
            "profile, or set SSL_CERT_FILE."
        )
    trusting = TransferApp(load(Overrides(server_url=secure.url, ca_file=str(files.ca_file))))
    async with trusting.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: trusting.broker_status.startswith("connected"))
