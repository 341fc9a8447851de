"""Azurite, the Azure Blob emulator, as a process on a free port (installed under .test-services/
by `scripts/azurite-install`)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.broker import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
#: Azurite's well-known development account.
ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@contextmanager
def running_azurite(location: Path) -> Iterator[str]:
    """Start Azurite's blob service storing under `location`; yields the account URL."""
    binary = ROOT / ".test-services" / "node_modules" / ".bin" / "azurite-blob"
    port = free_port()
    location.mkdir(parents=True, exist_ok=True)
    command = [
        str(binary),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
        "--location",
        str(location),
        "--disableTelemetry",
        "--skipApiVersionCheck",
    ]
    log_path = location / "azurite.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(log_path.read_text()) from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/{ACCOUNT}"
    finally:
        process.terminate()
        process.wait(timeout=10)
