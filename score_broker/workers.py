"""`score-broker serve` with several uvicorn worker processes (`[server] workers`).

The serve command does the work of a start once, before any worker runs: it reads and checks the
settings, brings the SQLite schemas up to date or checks PostgreSQL's, reaches the store, writes
the local store's URL-signing secret and creates the admin key. uvicorn then starts the workers,
which share the listening socket; each builds its own application from the same settings,
handed over whole (command-line flags included) in a 0600 file of a private directory, never
in the environment, which other users may read. What each worker then runs
for itself is safe side by side, as on replicas: the webhook delivery loop claims messages in
database transactions, cleanup takes a lease in the store, and upload state lives in the store.

Metrics: every worker keeps its values in files in one private directory, made here and removed
when serve ends; a scrape by any worker adds them up.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import FastAPI

from score_broker.config import Settings
from score_broker.log_format import configure_logging

#: The environment variable naming the file the settings reach the workers in (JSON, 0600, in
#: the private directory: the settings hold secrets, which the environment would show to others).
WORKER_SETTINGS = "SCORE_BROKER_WORKER_SETTINGS"
#: prometheus-client's: where each process writes its values.
METRICS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"
#: What uvicorn imports in each worker.
WORKER_APP = "score_broker.workers:worker_app"


@contextmanager
def shared_metrics_directory() -> Iterator[Path]:
    """A fresh 0700 directory for the workers' metrics, named in the environment before
    prometheus-client is imported (it reads the variable once, at import), removed at the end."""
    directory = Path(tempfile.mkdtemp(prefix="score-broker-metrics-"))
    os.environ[METRICS_DIRECTORY] = str(directory)
    try:
        yield directory
    finally:
        del os.environ[METRICS_DIRECTORY]
        shutil.rmtree(directory, ignore_errors=True)


def hand_over(settings: Settings) -> None:
    """Make `settings` what every worker started from now on runs with (inside
    `shared_metrics_directory`, which holds them)."""
    path = Path(os.environ[METRICS_DIRECTORY]) / "settings.json"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(settings.model_dump_json())
    os.environ[WORKER_SETTINGS] = str(path)


def worker_app() -> FastAPI:
    """One worker's application (uvicorn's factory)."""
    from score_broker.app import create_app

    settings = Settings.model_validate_json(Path(os.environ[WORKER_SETTINGS]).read_text())
    configure_logging(settings.server.log_level, settings.server.log_format)
    return create_app(settings)
