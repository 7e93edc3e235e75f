"""Delta sync (change log pages) and the server-sent event stream that announces new changes."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from services.teamserver import auth, changes
from services.teamserver.deps import CurrentAgent, ReadSessionDep, bearer_token
from workstation import protocol

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["sync"])
KEEPALIVE_SECONDS = 15.0


@router.get("/sync", response_model=protocol.SyncPage)
def sync(
    agent: CurrentAgent,
    session: ReadSessionDep,
    request: Request,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> protocol.SyncPage:
    limit = min(limit, request.app.state.settings.sync_page_max)
    return changes.sync_page(session, after=after, limit=limit, epoch=request.app.state.epoch)


@router.get("/events")
async def events(agent: CurrentAgent, request: Request, token: Annotated[str, Depends(bearer_token)]) -> StreamingResponse:
    broadcaster = request.app.state.broadcaster
    epoch = request.app.state.epoch
    recheck = max(0.05, request.app.state.settings.session_recheck_seconds)
    engine = request.app.state.read_engine

    async def stream():
        yield "retry: 2000\n\n"
        seen = -1
        next_check = time.monotonic() + recheck
        while not broadcaster.closed:
            seq = await broadcaster.wait_newer(seen, min(KEEPALIVE_SECONDS, recheck))
            if await request.is_disconnected():
                break
            if time.monotonic() >= next_check:
                # A revoked or expired session ends its stream; the client's reconnect then gets 401.
                if not await asyncio.to_thread(auth.token_still_valid, engine, token):
                    log.info("event stream of agent %s closed: session ended", agent.id)
                    break
                next_check = time.monotonic() + recheck
            if seq is None:
                yield ": keep-alive\n\n"
                continue
            seen = seq
            yield f"id: {seq}\nevent: change\ndata: {protocol.EventPoke(seq=seq, epoch=epoch).model_dump_json()}\n\n"
            await asyncio.sleep(0)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
