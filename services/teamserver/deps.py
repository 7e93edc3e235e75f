"""Request dependencies: database session and the signed-in agent."""

from __future__ import annotations

from typing import Annotated, Iterator

from fastapi import Depends, HTTPException, Request, status
from sqlmodel import Session

from services import logctx
from services.teamserver import auth
from services.teamserver.models import Agent


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


def current_agent(request: Request, session: ReadSessionDep, token: Annotated[str, Depends(bearer_token)]) -> Agent:
    try:
        agent, row_token = auth.authenticate(session, token)
    except auth.SessionRefused as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, exc.detail, {"WWW-Authenticate": "Bearer"}) from None
    session.expunge(agent)
    session.expunge(row_token)
    # Release the connection now: a long-lived stream must not hold a database transaction open.
    session.rollback()
    auth.touch(request.app.state.engine, row_token, request.app.state.settings)
    logctx.annotate(agent_id=agent.id)
    return agent


CurrentAgent = Annotated[Agent, Depends(current_agent)]


def admin_agent(agent: CurrentAgent) -> Agent:
    """The signed-in agent, if an admin: account powers (revoking sessions) are not a lead's."""
    if agent.role != "admin":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "admins only")
    return agent


AdminAgent = Annotated[Agent, Depends(admin_agent)]
