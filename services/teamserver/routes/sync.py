"""Delta sync (change log pages) and the server-sent event stream that announces new changes."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlmodel import Session

from services.teamserver import auth, changes
from services.teamserver.deps import CurrentAgent, ReadSessionDep, bearer_token
from services.teamserver.models import Agent, utcnow
from workstation import protocol

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["sync"])
KEEPALIVE_SECONDS = 15.0
POKE_INTERVAL = 0.05


class PageCache:
    """Rendered sync pages by (after, limit, newest sequence). Every agent walks the same cursors, so when
    a change is announced one render serves the whole team. A page cached under `newest` holds every
    change up to it (sequence order is commit order) and entity rows at least that new, so serving it again
    while `newest` has not moved gives what a fresh read would."""

    def __init__(self, max_bytes: int = 8 * 1024 * 1024) -> None:
        self._pages: OrderedDict[tuple[int, int, int], bytes] = OrderedDict()
        self._bytes = 0
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple[int, int, int]) -> bytes | None:
        with self._lock:
            body = self._pages.get(key)
            if body is None:
                self.misses += 1
                return None
            self._pages.move_to_end(key)
            self.hits += 1
            return body

    def put(self, key: tuple[int, int, int], body: bytes) -> None:
        if len(body) > self._max_bytes // 4:
            return
        with self._lock:
            if key in self._pages:
                return
            self._pages[key] = body
            self._bytes += len(body)
            while self._bytes > self._max_bytes:
                _, old = self._pages.popitem(last=False)
                self._bytes -= len(old)


@router.get("/sync", response_model=protocol.SyncPage)
def sync(
    agent: CurrentAgent,
    session: ReadSessionDep,
    request: Request,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> Response:
    state = request.app.state
    limit = min(limit, state.settings.sync_page_max)
    newest = changes.latest_seq(session)
    key = (after, limit, newest)
    body = state.page_cache.get(key)
    if body is None:
        page = changes.sync_page(session, after=after, limit=limit, epoch=state.epoch, newest=newest)
        body = page.model_dump_json().encode()
        state.page_cache.put(key, body)
    return Response(body, media_type="application/json")


def _touch_seen(engine, agent_id: int) -> None:
    """The agent's app is connected now (the router sets agents offline after a disconnect grace)."""
    with Session(engine) as session:
        session.execute(sa.update(Agent).where(Agent.id == agent_id).values(last_seen_at=utcnow()))
        session.commit()


@router.get("/events")
async def events(agent: CurrentAgent, request: Request, token: Annotated[str, Depends(bearer_token)]) -> StreamingResponse:
    broadcaster = request.app.state.broadcaster
    presence = request.app.state.presence
    epoch = request.app.state.epoch
    settings = request.app.state.settings
    recheck = max(0.05, settings.session_recheck_seconds)
    touch_every = max(0.05, settings.presence_touch_seconds)
    engine = request.app.state.read_engine
    write_engine = request.app.state.engine

    async def stream():
        yield "retry: 2000\n\n"
        seen = -1
        heard = presence.count  # presence from before we connected is stale
        last_poke = 0.0
        next_check = time.monotonic() + recheck
        await asyncio.to_thread(_touch_seen, write_engine, agent.id)
        next_touch = time.monotonic() + touch_every
        while not broadcaster.closed:
            seq = await broadcaster.wait_newer(seen, min(KEEPALIVE_SECONDS, recheck, touch_every))
            if await request.is_disconnected():
                break
            now = time.monotonic()
            if now >= next_check:
                # A revoked or expired session ends its stream; the client's reconnect then gets 401.
                if not await asyncio.to_thread(auth.token_still_valid, engine, token):
                    log.info("event stream of agent %s closed: session ended", agent.id)
                    break
                next_check = now + recheck
            if now >= next_touch:
                await asyncio.to_thread(_touch_seen, write_engine, agent.id)
                next_touch = now + touch_every
            if presence.count > heard:
                for payload in presence.after(heard, not_from=agent.id):
                    yield f"event: presence\ndata: {payload}\n\n"
                heard = presence.count
            if seq is not None and seq <= seen:
                continue  # woken for presence only
            if seq is None:
                yield ": keep-alive\n\n"
                continue
            # At most one announcement per POKE_INTERVAL: the first of a quiet spell goes out at once, and
            # under load each agent pulls at most 20 times a second, not once per change (every announcement
            # costs a /v1/sync round trip for every agent).
            wait = last_poke + POKE_INTERVAL - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                seq = max(seq, broadcaster.latest)
            seen = seq
            last_poke = time.monotonic()
            yield f"id: {seq}\nevent: change\ndata: {protocol.EventPoke(seq=seq, epoch=epoch).model_dump_json()}\n\n"

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
