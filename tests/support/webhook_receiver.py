"""A webhook receiver over real HTTP: records each POST; can refuse the first few (503)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.waiting import wait_until


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def message(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class WebhookReceiver:
    #: How many POSTs to refuse with 503 before accepting.
    refuse_first: int = 0
    #: Seconds each answer takes: a slow webhook, as senders meet them.
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    refused: int = 0
    #: The most POSTs that were in progress at once.
    most_at_once: int = 0
    _in_progress: int = 0

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    receiver._in_progress += 1
                    receiver.most_at_once = max(receiver.most_at_once, receiver._in_progress)
                time.sleep(receiver.delay)
                with receiver._lock:
                    receiver._in_progress -= 1
                    if receiver.refused < receiver.refuse_first:
                        receiver.refused += 1
                        status = 503
                    else:
                        receiver.received.append(Received(dict(self.headers.items()), body))
                        status = 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.message for r in self.received]

    def wait_for(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        wait_until(lambda: len(self.received) >= count, f"{count} webhook messages", timeout)
        return self.messages()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
