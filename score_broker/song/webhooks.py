"""Delivering the outbox's analysis messages to the webhooks, at least once and in order.

Each broker process runs one `Deliveries` loop. It claims due messages in a write transaction
(so two replicas never claim the same one), POSTs them outside it, and then deletes what was
delivered. A message that fails is tried again later, the wait doubling up to five minutes, for
as long as it takes: an indexer that was down gets every message when it is back. Messages to
one webhook go strictly in order, whichever process sends them; the first failure holds back the
ones after it. A claim is renewed after each delivery and lapses `claim_seconds` after the last,
so a replica that dies mid-delivery leaves its messages to another.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import anyio
import httpx

from score_broker.database.connection import Database, StoredRow, Transaction
from score_broker.errors import BrokerError

log = logging.getLogger(__name__)

CLAIM_SECONDS = 60.0
LONGEST_WAIT = 300.0
BATCH = 50
SIGNATURE_HEADER = "X-Song-Signature-256"


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    url: str
    analysis_id: str
    message: str
    attempts: int


def retry_wait(attempts: int) -> float:
    """Seconds before the next try after `attempts` failures: 1, 2, 4 ... 300."""
    return min(2.0 ** max(attempts - 1, 0), LONGEST_WAIT)


class Deliveries:
    def __init__(
        self, database: Database, webhooks: Sequence[str], secret: str = "", timeout: float = 10.0
    ) -> None:
        self.db = database
        self.webhooks = tuple(webhooks)
        self.secret = secret.encode()
        self.timeout = timeout

    @property
    def claim_seconds(self) -> float:
        """How long a claim holds: the claim is renewed after each delivery, so it must outlast
        one POST (`timeout`) with room to spare."""
        return max(CLAIM_SECONDS, 3 * self.timeout)

    def claim(self, now: float) -> list[list[Delivery]]:
        """Per webhook, the messages to send now, oldest first, claimed for this process. A
        webhook whose oldest message waits (to be tried again, or claimed by another process)
        gets none, so no message overtakes an earlier one; each webhook is read on its own, so
        one with a backlog holds back no other."""
        due = self.db.query(  # a plain read first: an idle outbox takes no write lock
            "SELECT 1 FROM song_delivery WHERE claimed_until < ? AND next_attempt <= ? LIMIT 1",
            (now, now),
        )
        if not due:
            return []
        runs: list[list[Delivery]] = []
        with self.db.transaction() as tx:
            urls = [row[0] for row in tx.execute("SELECT DISTINCT url FROM song_delivery")]
            for url in set(urls) - set(self.webhooks):
                log.warning("dropping the messages for %s, no longer in [song] webhooks", url)
                tx.execute("DELETE FROM song_delivery WHERE url = ?", (url,))
            for url in self.webhooks:
                rows: list[StoredRow] = tx.execute(
                    "SELECT id, analysis_id, message, attempts, next_attempt, claimed_until "
                    "FROM song_delivery WHERE url = ? ORDER BY id LIMIT ?",
                    (url, BATCH),
                ).fetchall()
                run: list[Delivery] = []
                for row in rows:
                    if row["next_attempt"] > now or row["claimed_until"] >= now:
                        break  # an earlier message waits: the later ones wait behind it
                    message, attempts = row["message"], row["attempts"]
                    run.append(Delivery(row["id"], url, row["analysis_id"], message, attempts))
                if run:
                    runs.append(run)
            self._hold(tx, [d for run in runs for d in run], now)
        return runs

    def _hold(self, tx: Transaction, deliveries: Sequence[Delivery], now: float) -> None:
        tx.executemany(
            "UPDATE song_delivery SET claimed_until = ? WHERE id = ?",
            [(now + self.claim_seconds, d.id) for d in deliveries],
        )

    def delivered(self, delivery: Delivery, rest: Sequence[Delivery] = ()) -> None:
        """`delivery` went through: forget it, and renew the claim on the rest of its run."""
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM song_delivery WHERE id = ?", (delivery.id,))
            self._hold(tx, rest, time.time())

    def failed(self, delivery: Delivery, rest: Sequence[Delivery], error: str) -> None:
        attempts = delivery.attempts + 1
        with self.db.transaction() as tx:
            tx.execute(
                "UPDATE song_delivery SET attempts = ?, next_attempt = ?, claimed_until = 0, "
                "last_error = ? WHERE id = ?",
                (attempts, time.time() + retry_wait(attempts), error[:500], delivery.id),
            )
            tx.executemany(
                "UPDATE song_delivery SET claimed_until = 0 WHERE id = ?", [(d.id,) for d in rest]
            )
        log.warning(
            "webhook %s refused the message for analysis %s (try %d): %s; trying again in %.0f s",
            delivery.url, delivery.analysis_id, attempts, error, retry_wait(attempts),
        )  # fmt: skip

    def headers(self, delivery: Delivery) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "X-Song-Analysis-Id": delivery.analysis_id,
            "X-Song-Delivery": str(delivery.id),
        }
        if self.secret:
            digest = hmac.new(self.secret, delivery.message.encode(), hashlib.sha256).hexdigest()
            headers[SIGNATURE_HEADER] = f"sha256={digest}"
        return headers

    async def send(self, client: httpx.AsyncClient, run: list[Delivery]) -> int:
        """Send one webhook's messages in order, stopping at the first failure."""
        sent = 0
        for index, delivery in enumerate(run):
            try:
                response = await client.post(
                    delivery.url, content=delivery.message.encode(), headers=self.headers(delivery)
                )
                error = "" if response.is_success else f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if error:
                await anyio.to_thread.run_sync(self.failed, delivery, run[index + 1 :], error)
                break
            await anyio.to_thread.run_sync(self.delivered, delivery, run[index + 1 :])
            sent += 1
        return sent

    async def run_once(self, client: httpx.AsyncClient) -> int:
        runs = await anyio.to_thread.run_sync(self.claim, time.time())
        sent = 0
        async with anyio.create_task_group() as tasks:

            async def send(run: list[Delivery]) -> None:
                nonlocal sent
                sent += await self.send(client, run)

            for run in runs:
                tasks.start_soon(send, run)
        return sent

    async def run_forever(self, poll_seconds: float = 0.5) -> None:
        async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
            while True:
                try:
                    await self.run_once(client)
                except BrokerError as error:  # the database is away: try again later
                    log.warning("cannot deliver Song messages now: %s", error)
                await anyio.sleep(poll_seconds)
