"""Team operations on agents: status, schedules and capacity, new agents, shift hand-off, routing rules."""

from __future__ import annotations

import json
import logging
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, status
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from services.teamserver import changes, routing
from services.teamserver.deps import AdminAgent, CurrentAgent, ReadSessionDep, SessionDep
from services.teamserver.models import Agent, Conversation, utcnow
from services.teamserver.security import hash_password
from workstation import protocol

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["team"])
AgentId = Annotated[int, Path(ge=1, le=2**63 - 1)]
FORBIDDEN = {403: {"description": "not allowed for this role"}, 404: {"description": "no such agent"}}


def _agent(session: Session, agent_id: int) -> Agent:
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such agent")
    return agent


def _self_or_lead(actor: Agent, agent_id: int, what: str) -> None:
    if actor.id != agent_id and not routing.is_lead(actor):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"only a lead can {what} for another agent")


def _committed(request: Request, session: Session) -> None:
    session.commit()
    request.app.state.broadcaster.publish(changes.committed_seq(session))


@router.put("/agents/{agent_id}/status", response_model=protocol.AgentPublic, responses=FORBIDDEN)
def set_status(agent_id: AgentId, body: protocol.AgentStatusUpdate, actor: CurrentAgent, session: SessionDep,
               request: Request) -> protocol.AgentPublic:
    _self_or_lead(actor, agent_id, "set the status")
    agent = _agent(session, agent_id)
    now = utcnow()
    if agent.status != body.status:
        agent.status = body.status
        agent.status_changed_at = now
    if actor.id == agent_id:
        agent.last_seen_at = now  # this request is the app talking: the disconnect grace starts over
    session.add(agent)
    session.flush()
    changes.record(session, "agent", agent.id)
    _committed(request, session)
    log.info("agent %s is %s (set by %s)", agent.id, agent.status, actor.id)
    return changes.agent_public(agent)


@router.patch("/agents/{agent_id}", response_model=protocol.AgentPublic, responses=FORBIDDEN)
def update_agent(agent_id: AgentId, body: protocol.AgentUpdate, actor: CurrentAgent, session: SessionDep,
                 request: Request) -> protocol.AgentPublic:
    given = body.model_fields_set
    if given & {"name", "role"} and actor.role != "admin":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only an admin can change an agent's name or role")
    if given & {"timezone", "shifts", "capacity"} and not routing.is_lead(actor):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only a lead can change schedules and capacity")
    agent = _agent(session, agent_id)
    if body.name is not None:
        agent.name = body.name.strip() or agent.name
    if body.role is not None:
        if agent.id == actor.id and body.role != "admin":
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "an admin cannot take away their own admin role")
        agent.role = body.role
    if body.timezone is not None:
        agent.timezone = body.timezone
    if body.shifts is not None:
        agent.shifts = json.dumps([s.model_dump() for s in body.shifts])
    if body.capacity is not None:
        agent.capacity = json.dumps(body.capacity, sort_keys=True)
    session.add(agent)
    session.flush()
    changes.record(session, "agent", agent.id)
    _committed(request, session)
    return changes.agent_public(agent)


@router.post("/agents", response_model=protocol.AgentPublic, status_code=status.HTTP_201_CREATED,
             responses={403: {"description": "admins only"}, 409: {"description": "the email is taken"}})
def create_agent(body: protocol.AgentCreate, admin: AdminAgent, session: SessionDep,
                 request: Request) -> protocol.AgentPublic:
    email = body.email.strip().lower()
    if "@" not in email:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the email must contain @")
    if session.exec(select(Agent.id).where(Agent.email == email)).first() is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, "an agent with this email exists already")
    agent = Agent(email=email, name=body.name.strip() or email, role=body.role,
                  password_hash=hash_password(body.password))
    session.add(agent)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, "an agent with this email exists already") from None
    changes.record(session, "agent", agent.id)
    _committed(request, session)
    log.info("admin %s added agent %s (%s)", admin.id, agent.id, agent.role)
    return changes.agent_public(agent)


@router.post("/agents/{agent_id}/handoff", response_model=protocol.HandoffResult, responses=FORBIDDEN)
def handoff(agent_id: AgentId, body: protocol.Handoff, actor: CurrentAgent, session: SessionDep,
            request: Request) -> protocol.HandoffResult:
    _self_or_lead(actor, agent_id, "hand off conversations")
    agent = _agent(session, agent_id)
    if body.to_agent_id is not None:
        if body.to_agent_id == agent_id:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "hand off to someone else")
        if session.get(Agent, body.to_agent_id) is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "no such colleague")
    now = utcnow()
    mine = session.exec(select(Conversation).where(
        Conversation.assignee_id == agent_id, Conversation.status.in_(routing.HANDOFF_STATUSES),
    ).order_by(Conversation.id).with_for_update()).all()
    for conversation in mine:
        routing.set_assignee(session, conversation, body.to_agent_id, actor_id=actor.id, kind="handoff",
                             reason=body.reason, now=now)
    if body.go_offline and agent.status != "offline":
        agent.status = "offline"
        agent.status_changed_at = now
        session.add(agent)
        changes.record(session, "agent", agent.id)
    session.flush()
    _committed(request, session)
    log.info("agent %s handed off %d conversation(s) to %s", agent_id, len(mine), body.to_agent_id or "the queue")
    return protocol.HandoffResult(moved=[c.id for c in mine], agent=changes.agent_public(agent))


@router.get("/routing", response_model=protocol.RoutingSettings)
def get_routing(agent: CurrentAgent, session: ReadSessionDep) -> protocol.RoutingSettings:
    return routing.load_settings(session)


@router.put("/routing", response_model=protocol.RoutingSettings, responses={403: {"description": "leads only"}})
def put_routing(body: protocol.RoutingSettings, actor: CurrentAgent, session: SessionDep,
                request: Request) -> protocol.RoutingSettings:
    if not routing.is_lead(actor):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only a lead can change the routing rules")
    routing.save_settings(session, body)
    session.commit()
    log.info("routing rules changed by %s: %s", actor.id, body.model_dump())
    return body
