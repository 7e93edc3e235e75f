"""Group commit for webhooks: one writer thread stores every webhook waiting at that moment in one
transaction, then acknowledges each. A webhook's 200 is sent only after the commit that holds it.

Under load, webhooks pile up while a commit is in flight and the next transaction takes them all, so the
cost of a transaction (and of SQLite's or PostgreSQL's commit) is shared; a quiet server commits each
webhook on its own with no added wait.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from concurrent.futures import Future
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.channels.base import WebhookBatch
from services.teamserver import changes, csat
from services.teamserver.events import Broadcaster
from services.teamserver.ingest import ingest_batches

log = logging.getLogger(__name__)

# PostgreSQL: one ingest transaction at a time across workers, so two workers never both create the
# customer or open conversation of the same new sender. (SQLite writers are serialised anyway.)
INGEST_LOCK = 0x57534947  # "WSIG"
_STOP = object()


class Ingestor:
    def __init__(self, engine: Engine, broadcaster: Broadcaster, *, max_group: int = 256,
                 attempts: int = 3, linger: float = 0.002,
                 on_replies: Callable[[int | None, int], None] | None = None) -> None:
        self._engine = engine
        # Told (message id, conversation id) of messages the server queued while storing (survey thanks).
        self._on_replies = on_replies
        self._broadcaster = broadcaster
        self._max_group = max_group
        self._attempts = attempts
        self._linger = linger
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self._postgres = engine.dialect.name == "postgresql"
        # Figures for benchmarks and tests: transactions committed and webhooks they held.
        self.commits = 0
        self.webhooks = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stores what is queued, then ends the writer."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    async def submit(self, batch: WebhookBatch) -> int:
        """Stores one parsed webhook; returns when it is committed (how many records that commit stored)."""
        future: Future = Future()
        self._queue.put((batch, future))
        return await asyncio.wrap_future(future)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is _STOP:
                break
            group = [item]
            # Under load (more than one webhook waiting), linger a moment for the next ones: a bigger group
            # spreads the transaction's fixed cost; a lone webhook on a quiet server is stored at once.
            deadline = None
            while len(group) < self._max_group:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    if len(group) == 1 or self._linger <= 0:
                        break
                    if deadline is None:
                        deadline = time.monotonic() + self._linger
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    try:
                        item = self._queue.get(timeout=remaining)
                    except queue.Empty:
                        break
                if item is _STOP:
                    stopping = True
                    break
                group.append(item)
            self._store_group(group)

    def _store_group(self, group: list[tuple[WebhookBatch, Future]]) -> None:
        try:
            new, seq, replies = self._commit([batch for batch, _ in group])
        except Exception:  # noqa: BLE001 - one bad webhook must not fail the others: store one by one
            if len(group) > 1:
                log.warning("a group of %d webhooks failed to store; storing them one by one", len(group))
                for one in group:
                    self._store_group([one])
                return
            log.exception("storing a webhook failed; the provider will deliver it again")
            batch, future = group[0]
            future.set_exception(RuntimeError("storing the webhook failed"))
            return
        self.commits += 1
        self.webhooks += len(group)
        if seq:
            self._broadcaster.publish(seq)
        for _, future in group:
            future.set_result(new)
        for message_id, conversation_id in replies if self._on_replies is not None else ():
            try:
                self._on_replies(message_id, conversation_id)
            except Exception:  # noqa: BLE001 - shutting down: the dispatcher's next start sends it
                log.exception("could not hand message %s to the dispatcher", message_id)

    def _commit(self, batches: list[WebhookBatch]) -> tuple[int, int, list[tuple[int, int]]]:
        for attempt in range(1, self._attempts + 1):
            try:
                with Session(self._engine) as session:
                    if self._postgres:
                        session.execute(sa.text(f"SELECT pg_advisory_xact_lock(:k, {changes.SCHEMA_KEY})"),
                                        {"k": INGEST_LOCK})
                    new = ingest_batches(session, batches)
                    session.commit()
                    return new, changes.committed_seq(session), csat.take_queued(session)
            except sa.exc.IntegrityError:
                # Another writer (a request thread, or a worker before the lock) stored the same record
                # first: the next attempt sees it and skips it.
                if attempt == self._attempts:
                    raise
        raise AssertionError("unreachable")
