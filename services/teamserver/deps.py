"""Request dependencies: database session and the signed-in agent."""

from __future__ import annotations

from typing import Annotated, Iterator

from fastapi import Depends, HTTPException, Request, status
from sqlmodel import Session, select

from services.teamserver.models import Agent, SessionToken
from services.teamserver.security import token_hash


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_read_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.read_engine) as session:
        yield session


ReadSessionDep = Annotated[Session, Depends(get_read_session)]


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing bearer token", {"WWW-Authenticate": "Bearer"})
    return token.strip()


def current_agent(session: ReadSessionDep, token: Annotated[str, Depends(bearer_token)]) -> Agent:
    agent = session.exec(
        select(Agent).join(SessionToken, SessionToken.agent_id == Agent.id).where(
            SessionToken.token_hash == token_hash(token)
        )
    ).first()
    if agent is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or expired session", {"WWW-Authenticate": "Bearer"})
    session.expunge(agent)
    # Release the connection now: a long-lived stream must not hold a database transaction open.
    session.rollback()
    return agent


CurrentAgent = Annotated[Agent, Depends(current_agent)]
