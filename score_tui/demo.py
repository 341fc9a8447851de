"""`score-tui --demo`: an embedded broker with a demo study, to try everything on one machine.

The broker (local storage, embedded Song, authorization on with its generated admin key) runs
as a child process with its own directory, and ends with the demo: at its exit, when its terminal
closes (SIGHUP) or it is told to stop (SIGTERM), and, on Linux, when it is killed outright (the
kernel sends the broker SIGTERM). A broker an earlier demo left running is taken over, and
stopped at exit like one this demo started. The first start seeds study DEMO: a few files of
different sizes, one of them controlled, and a small BAM with its index made with pysam. The
seed uploads go through the batch CLI, so they are the first entries of the queue.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import platformdirs

from score_tui.config import APP
from score_tui.errors import ScoreTuiError

DEMO_STUDY = "DEMO"
DEFAULT_PORT = 18087
MiB = 1024 * 1024
#: The demo's speed cap unless one is configured: slow enough to watch parts move and pause.
BANDWIDTH_LIMIT = 20e6
#: The broker writes its first admin key here (see score_broker.app.ensure_admin_key).
ADMIN_KEY_FILE = "admin-key"
#: prctl(2): the signal a process gets when its parent dies.
PR_SET_PDEATHSIG = 1
#: How long a broker has to stop after SIGTERM before it is killed.
STOP_SECONDS = 10.0


class DemoError(ScoreTuiError):
    """The demo cannot start; the message says why and what to do."""


def default_directory() -> Path:
    return Path(platformdirs.user_data_dir(APP)) / "demo"


def _port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid: int) -> bool:
    """Whether the process runs (a zombie, dead but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no procfs: trust kill(0)
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _die_with_parent(parent: int) -> None:
    """In the broker's process before it starts: ask Linux for SIGTERM when the demo dies, even
    by SIGKILL. The kernel watches the thread that started the broker: the main thread."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the demo died before the request was made
        os.kill(os.getpid(), signal.SIGTERM)


class EmbeddedBroker:
    """The demo broker: its config, data and store under `directory`, on 127.0.0.1:`port`."""

    def __init__(self, directory: Path, port: int = DEFAULT_PORT) -> None:
        self.directory = directory.expanduser().absolute()
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        #: A broker an earlier demo left running, which this demo took over.
        self.adopted: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.directory / "broker.toml"

    @property
    def log_path(self) -> Path:
        return self.directory / "broker.log"

    @property
    def pid_path(self) -> Path:
        return self.directory / "broker.pid"

    def write_config(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = self.directory / "data"
        self.config_path.write_text(
            "# The demo broker of `score-tui --demo` (rewritten at each start).\n"
            f'[server]\nhost = "127.0.0.1"\nport = {self.port}\n'
            f"data_directory = {json.dumps(str(data))}\n\n"
            '[storage]\nbackend = "local"\n\n'
            f"[storage.local]\ndirectory = {json.dumps(str(self.directory / 'store'))}\n\n"
            '[song]\nurl = "embedded"\n\n[auth]\nenabled = true\n'
        )

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def _running(self) -> tuple[int, int, int | None] | None:
        """The pid, port and owner (the demo that runs it) of this directory's broker from an
        earlier start, if it runs. Files written before the owner was recorded have none."""
        try:
            pid, port, *owner = (int(word) for word in self.pid_path.read_text().split())
        except (OSError, ValueError):
            return None
        if not _alive(pid) or not self._serves_this_directory(pid):
            return None
        return pid, port, owner[0] if owner else None

    def _serves_this_directory(self, pid: int) -> bool:
        """Whether the process is a broker on this directory's config, not a stranger that got
        the number of a broker long gone (without procfs: trusted)."""
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return True
        return os.fsencode(self.config_path) in command

    def _write_pid_file(self, pid: int) -> None:
        self.pid_path.write_text(f"{pid} {self.port} {os.getpid()}")

    def start(self, timeout: float = 60) -> None:
        """Start the broker (or use the one this directory already runs) and wait for it."""
        running = self._running()
        if running is not None and running[1] != self.port:
            raise DemoError(
                f"the demo broker of {self.directory} already runs on port {running[1]} "
                f"(process {running[0]}); use --demo-port {running[1]}, or stop it"
            )
        if running is not None and self.healthy():
            pid, _, owner = running
            if owner is None or owner == os.getpid() or not _alive(owner):
                self.adopted = pid  # its demo is gone: this one stops it at exit
                self._write_pid_file(pid)
            return
        if _port_in_use(self.port):
            raise DemoError(
                f"port {self.port} is already in use by another program; "
                "choose another with --demo-port"
            )
        self.write_config()
        log = self.log_path.open("ab")
        parent = os.getpid()
        # preexec_fn runs between fork and exec: safe here, started before the UI's threads.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "score_broker", "serve", "--config", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            preexec_fn=lambda: _die_with_parent(parent),
        )
        log.close()
        self._write_pid_file(self.process.pid)
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if self.process.poll() is not None:
                tail = self.log_path.read_text(errors="replace").strip().splitlines()[-3:]
                raise DemoError(
                    f"the demo broker stopped at start ({' / '.join(tail)}); see {self.log_path}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise DemoError(f"the demo broker did not answer in {timeout:.0f} s; see "
                                f"{self.log_path}")  # fmt: skip
            time.sleep(0.1)

    def token(self) -> str:
        path = self.directory / "data" / ADMIN_KEY_FILE
        try:
            return path.read_text().strip()
        except OSError as exc:
            raise DemoError(
                f"the demo broker's key {path} cannot be read ({exc.strerror}); "
                f"remove {self.directory} to start the demo afresh"
            ) from None

    def stop(self) -> None:
        """Stop the broker if this process started it or took it over."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        elif self.adopted is not None:
            _stop_pid(self.adopted)
        else:
            return
        self.pid_path.unlink(missing_ok=True)
        self.process = self.adopted = None

    def stop_on_signals(self) -> None:
        """Stop the broker when the terminal closes (SIGHUP) or the demo is told to end
        (SIGTERM), then end as the signal would have ended the demo. Set again after anything
        that resets the handlers (an asyncio loop's own SIGTERM handler does)."""

        def stop_then_end(signum: int, frame: FrameType | None) -> None:
            self.stop()
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

        for signum in (signal.SIGHUP, signal.SIGTERM):
            signal.signal(signum, stop_then_end)


def _stop_pid(pid: int) -> None:
    """Stop a broker this process did not start: SIGTERM, then SIGKILL if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    while _alive(pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            return
        time.sleep(0.05)


# -- the demo study ------------------------------------------------------------------------


def write_demo_bam(path: Path, reads: int = 4000, seed: int = 7) -> Path:
    """A coordinate-sorted BAM on two contigs, a few unmapped reads at the end, and its index."""
    import pysam

    rng = random.Random(seed)  # noqa: S311 (demo data, not secrets)
    contigs = [("chr20", 2_000_000), ("chr21", 1_500_000)]
    header = {
        "HD": {"VN": "1.6", "SO": "coordinate"},
        "SQ": [{"SN": name, "LN": length} for name, length in contigs],
        "RG": [{"ID": "demo", "SM": "NA12878", "PL": "ILLUMINA"}],
    }
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        number = 0
        for tid, (_, length) in enumerate(contigs):
            for position in sorted(rng.randrange(0, length - 200) for _ in range(reads // 2)):
                number += 1
                out.write(_read(out.header, rng, number, tid, position))
        for _ in range(20):
            number += 1
            out.write(_read(out.header, rng, number, -1, -1))
    pysam.index(str(path))
    return path


def _read(header: Any, rng: random.Random, number: int, tid: int, position: int) -> Any:
    import pysam

    read = pysam.AlignedSegment(header)
    read.query_name = f"demo-read-{number:06d}"
    read.query_sequence = "".join(rng.choice("ACGT") for _ in range(100))
    read.query_qualities = pysam.qualitystring_to_array("".join(
        chr(33 + rng.randrange(20, 41)) for _ in range(100)
    ))  # fmt: skip
    read.set_tag("RG", "demo")
    if tid < 0:
        read.flag = 4
        read.reference_id = -1
        read.reference_start = -1
        return read
    read.flag = 16 if rng.random() < 0.5 else 0
    read.reference_id = tid
    read.reference_start = position
    read.mapping_quality = rng.choice((60, 60, 60, 30, 0))
    read.cigarstring = "100M"
    return read


def make_files(directory: Path) -> tuple[list[Path], list[Path]]:
    """The demo's files: (open ones, controlled ones)."""
    directory.mkdir(parents=True, exist_ok=True)
    bam = write_demo_bam(directory / "NA12878.demo.bam")
    rng = random.Random(11)  # noqa: S311 (demo data, not secrets)
    sizes = {"cohort-large.bin": 128 * MiB, "cohort-medium.bin": 18 * MiB + 12345}
    for name, size in sizes.items():
        (directory / name).write_bytes(rng.randbytes(size))
    (directory / "README.txt").write_text(
        "Files of the score-tui demo study DEMO: a BAM with its index, two data files and "
        "one controlled file.\n"
    )
    controlled = directory / "controlled-sample.bin"
    controlled.write_bytes(rng.randbytes(6 * MiB))
    opened = [bam, Path(f"{bam}.bai"), *(directory / n for n in sizes), directory / "README.txt"]
    return opened, [controlled]


def seed(broker: EmbeddedBroker) -> dict[str, str]:
    """Seed study DEMO on the first start; returns what the add screens start from."""
    marker = broker.directory / "seed.json"
    info: dict[str, str] = {}
    with contextlib.suppress(OSError, ValueError):
        info = dict(json.loads(marker.read_text()))
    files = broker.directory / "files"
    if "analysis" in info and "controlled_analysis" in info:
        return info
    info.update(study=DEMO_STUDY, files=str(files), downloads=str(broker.directory / "downloads"))
    opened, controlled = make_files(files)
    token_file = broker.directory / "data" / ADMIN_KEY_FILE
    # Each step is recorded as it ends: a seed cut short goes on where it stopped.
    for key, paths, access in (
        ("analysis", opened, "open"),
        ("controlled_analysis", controlled, "controlled"),
    ):
        if key not in info:
            info[key] = _upload(broker, token_file, paths, access)
            marker.write_text(json.dumps(info, indent=2))
    return info


def _upload(broker: EmbeddedBroker, token_file: Path, paths: list[Path], access: str) -> str:
    from score_tui.batch.cli import main as batch_main

    out = io.StringIO()
    arguments = [
        "--server-url", broker.url, "--metadata-url", f"{broker.url}/song",
        "--token-file", str(token_file), "--quiet", "--json",
        "upload", "--study", DEMO_STUDY, "--access", access, "--publish",
        *(a for p in paths for a in ("--file", str(p))),
    ]  # fmt: skip
    with contextlib.redirect_stdout(out):
        status = batch_main(arguments)
    if status != 0:
        raise DemoError(f"seeding the demo study failed (exit {status}); see {broker.log_path}")
    summary = json.loads(out.getvalue())
    published = [f["file"] for f in summary["files"] if f.get("direction") == "publish"]
    return str(published[0]) if published else ""
