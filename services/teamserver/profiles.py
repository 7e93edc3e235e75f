"""Customer names for channels whose webhooks carry only an id (Messenger PSID, Instagram IGSID).

After a webhook with such customers is stored, their profile is asked of the provider (the connector's
`profile(user_id)`, Meta's User Profile API) in the background, and the name is written to the identity and,
unless an agent renamed them, to the customer. The webhook's answer never waits for it.

Each (channel, id) is looked up at most once per worker while it succeeds or the profile is hidden; a failure
(the provider down, a token refused) is forgotten after `retry_seconds`, so the customer's next message tries
again. Nothing is lost if a lookup never works: the customer keeps showing their id.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from services.channels.base import ChannelError
from services.teamserver import changes
from services.teamserver.events import Broadcaster
from services.teamserver.models import Customer, Identity

log = logging.getLogger(__name__)

PROFILE_CHANNELS = ("messenger", "instagram")


class ProfileLookup:
    def __init__(self, engine: Engine, broadcaster: Broadcaster, connectors: dict[str, Any], *,
                 retry_seconds: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.broadcaster = broadcaster
        self.connectors = connectors  # the live connectors (channel_setup.ChannelHub.connectors)
        self.retry_seconds = retry_seconds
        self._clock = clock
        self._seen: dict[tuple[str, str], float | None] = {}  # None: done for good; a time: failed then
        self._queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._task: asyncio.Task | None = None
        self.looked_up = 0  # figures for tests

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def request(self, pairs) -> None:
        """Asks for the names of these (channel, customer id) pairs (those not asked already)."""
        now = self._clock()
        for channel, handle in pairs:
            if channel not in PROFILE_CHANNELS or not handle:
                continue
            key = (channel, handle)
            if key in self._seen:
                failed_at = self._seen[key]
                if failed_at is None or now - failed_at < self.retry_seconds:
                    continue
            self._seen[key] = None
            self._queue.put_nowait(key)

    async def _run(self) -> None:
        while True:
            channel, handle = await self._queue.get()
            try:
                await self._look_up(channel, handle)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - one bad profile must not stop the others
                log.exception("%s: profile lookup crashed", channel)
                self._seen[(channel, handle)] = self._clock()

    async def _look_up(self, channel: str, handle: str) -> None:
        connector = self.connectors.get(channel)
        lookup = getattr(connector, "profile", None)
        if lookup is None:
            self._seen.pop((channel, handle), None)  # not connected now: ask again with the next message
            return
        if not await asyncio.to_thread(self._unnamed, channel, handle):
            return
        try:
            profile = await lookup(handle)
        except ChannelError as exc:
            log.warning("%s: could not read a customer's profile (%s: %s); trying again later",
                        channel, exc.kind, exc.title)
            self._seen[(channel, handle)] = self._clock()
            return
        self.looked_up += 1
        if profile is None or not profile.name:
            return  # hidden by the customer: they keep their id
        seq = await asyncio.to_thread(self._store, channel, handle, profile.name)
        if seq is not None:
            self.broadcaster.publish(seq)

    def _unnamed(self, channel: str, handle: str) -> bool:
        with Session(self.engine) as s:
            identity = s.exec(select(Identity).where(Identity.channel == channel, Identity.handle == handle)).first()
            return identity is not None and not identity.display_name

    def _store(self, channel: str, handle: str, name: str) -> int | None:
        with Session(self.engine) as s:
            identity = s.exec(select(Identity).where(Identity.channel == channel, Identity.handle == handle)
                              .with_for_update()).first()
            if identity is None or identity.display_name:
                return None
            identity.display_name = name
            s.add(identity)
            s.flush()
            changes.record(s, "identity", identity.id)
            customer = s.get(Customer, identity.customer_id, with_for_update=True)
            if customer is not None and customer.display_name == handle:  # not renamed by an agent
                customer.display_name = name
                s.add(customer)
                s.flush()
                changes.record(s, "customer", customer.id)
            s.commit()
            return changes.committed_seq(s)
