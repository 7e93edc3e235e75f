"""Administrative actions run from the command line against the team database."""

from __future__ import annotations

from sqlmodel import Session, select

from services.teamserver import auth, changes
from services.teamserver.db import init_db, make_engine
from services.teamserver.models import Agent
from services.teamserver.security import hash_password

ROLES = ("agent", "lead", "admin")


class AdminError(Exception):
    pass


def add_agent(db_url: str, *, email: str, name: str, role: str, password: str) -> int:
    email = email.strip().lower()
    if role not in ROLES:
        raise AdminError(f"role must be one of {', '.join(ROLES)}")
    if "@" not in email:
        raise AdminError("email must contain @")
    if len(password) < 8:
        raise AdminError("password must have at least 8 characters")
    engine = make_engine(db_url)
    try:
        init_db(engine)
        with Session(engine) as s:
            if s.exec(select(Agent).where(Agent.email == email)).first() is not None:
                raise AdminError(f"an agent with email {email} exists already")
            agent = Agent(email=email, name=name.strip() or email, role=role, password_hash=hash_password(password))
            s.add(agent)
            s.flush()
            changes.record(s, "agent", agent.id)
            s.commit()
            return agent.id
    finally:
        engine.dispose()


def enable_csat(db_url: str) -> None:
    """Turns the satisfaction survey on (the demo does: its emulated customers answer, so KPIs show CSAT)."""
    from services.teamserver import care

    engine = make_engine(db_url)
    try:
        init_db(engine)
        with Session(engine) as s:
            settings = care.load(s).settings
            care.save(s, settings.model_copy(update={"csat": settings.csat.model_copy(update={"enabled": True})}))
            s.commit()
    finally:
        engine.dispose()


def revoke_sessions(db_url: str, *, email: str) -> int:
    """Ends every session of the agent with this email (on every worker: tokens live in the database)."""
    email = email.strip().lower()
    engine = make_engine(db_url)
    try:
        init_db(engine)
        with Session(engine) as s:
            agent = s.exec(select(Agent).where(Agent.email == email)).first()
            if agent is None:
                raise AdminError(f"no agent with email {email}")
            count = auth.revoke_agent_sessions(s, agent.id)
            s.commit()
            return count
    finally:
        engine.dispose()
