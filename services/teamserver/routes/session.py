"""Sign in and out: email + password for an opaque bearer token; admins revoke an agent's sessions."""

from __future__ import annotations

import logging
import math

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from sqlmodel import delete, select

from services.teamserver import auth, changes
from services.teamserver.deps import AdminAgent, CurrentAgent, ReadSessionDep, SessionDep, bearer_token
from services.teamserver.models import Agent, SessionToken
from services.teamserver.security import DUMMY_HASH, token_hash, verify_password
from workstation import protocol

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["session"])


def _client_ip(request: Request) -> str:
    # uvicorn has already applied X-Forwarded-For from trusted proxies (--forwarded-allow-ips).
    return request.client.host if request.client else "unknown"


@router.post("/session", response_model=protocol.SessionPublic,
             responses={429: {"description": "too many failed sign-ins; see Retry-After"}})
def create_session(body: protocol.SessionCreate, request: Request, read: ReadSessionDep,
                   session: SessionDep) -> protocol.SessionPublic:
    settings = request.app.state.settings
    email = body.email.strip().lower()
    key, ip = auth.email_key(email), _client_ip(request)
    # Reads first, outside any write transaction: scrypt takes a while and must not hold the write lock.
    wait = auth.retry_after(read, key, ip, settings)
    if wait is not None:
        read.rollback()
        minutes = max(1, math.ceil(wait / 60))
        log.warning("sign-in throttled for %ds (too many failures for this email or address)", wait)
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many failed sign-in attempts; try again in {minutes} minute{'s' if minutes != 1 else ''}",
            {"Retry-After": str(wait)},
        )
    agent = read.exec(select(Agent).where(Agent.email == email)).first()
    read.rollback()
    # An unknown email costs a password check too, so timing does not tell which emails exist.
    ok = verify_password(body.password, agent.password_hash if agent else DUMMY_HASH)
    if agent is None or not ok:
        auth.record_failure(session, key, ip, settings)
        session.commit()
        log.info("sign-in refused for an unknown email or a wrong password")
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong email or password")
    token = auth.issue_token(session, agent.id, settings)
    auth.clear_failures(session, key)
    session.commit()
    log.info("agent %s signed in", agent.id)
    return protocol.SessionPublic(token=token, agent=changes.agent_public(agent))


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT)
def delete_session(agent: CurrentAgent, session: SessionDep, token: Annotated[str, Depends(bearer_token)]) -> None:
    session.exec(delete(SessionToken).where(SessionToken.token_hash == token_hash(token)))
    session.commit()


@router.get("/me", response_model=protocol.AgentPublic)
def me(agent: CurrentAgent) -> protocol.AgentPublic:
    return changes.agent_public(agent)


@router.delete("/agents/{agent_id}/sessions", status_code=status.HTTP_204_NO_CONTENT,
               responses={403: {"description": "admins only"}, 404: {"description": "no such agent"}})
def revoke_sessions(agent_id: int, admin: AdminAgent, session: SessionDep) -> None:
    """Ends every session of an agent at once, on every worker: their next request gets 401 and their
    open event streams close within Settings.session_recheck_seconds."""
    if session.get(Agent, agent_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such agent")
    count = auth.revoke_agent_sessions(session, agent_id)
    session.commit()
    log.warning("admin %s revoked %d session(s) of agent %s", admin.id, count, agent_id)
