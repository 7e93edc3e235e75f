"""Sign in and out: email + password for an opaque bearer token."""

from __future__ import annotations

import logging

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from sqlmodel import delete, select

from services.teamserver import changes
from services.teamserver.deps import CurrentAgent, SessionDep, bearer_token
from services.teamserver.models import Agent, SessionToken
from services.teamserver.security import DUMMY_HASH, new_token, token_hash, verify_password
from workstation import protocol

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["session"])


@router.post("/session", response_model=protocol.SessionPublic)
def create_session(body: protocol.SessionCreate, session: SessionDep) -> protocol.SessionPublic:
    agent = session.exec(select(Agent).where(Agent.email == body.email.strip().lower())).first()
    ok = verify_password(body.password, agent.password_hash if agent else DUMMY_HASH)
    if agent is None or not ok:
        log.info("sign-in refused for an unknown email or a wrong password")
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong email or password")
    token = new_token()
    session.add(SessionToken(token_hash=token_hash(token), agent_id=agent.id))
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
