"""Crisis detection: the alerts, crisis mode and the playbook (services/teamserver/crisis.py)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from sqlmodel import Session

from services.teamserver import changes, crisis, routing
from services.teamserver.deps import CurrentAgent, ReadSessionDep, SessionDep
from services.teamserver.models import Agent, utcnow
from workstation import protocol

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/crisis", tags=["crisis"])
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Lang = Annotated[str, Query(pattern="^(es|en)$")]
LEADS_ONLY = {403: {"description": "leads only"}}


def _lead(agent: Agent, what: str) -> None:
    if not routing.is_lead(agent):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"only a lead can {what}")


def _commit(request: Request, session: Session) -> None:
    session.commit()
    seq = changes.committed_seq(session)
    if seq:
        request.app.state.broadcaster.publish(seq)


@router.get("", response_model=protocol.CrisisPublic)
def get_crisis(agent: CurrentAgent, session: ReadSessionDep, lang: Lang = "en") -> protocol.CrisisPublic:
    """Any agent: the alerts, crisis mode, the playbook and the canned responses to pin."""
    return crisis.public(session, lang)


@router.put("/settings", response_model=protocol.CrisisPublic, responses=LEADS_ONLY)
def put_settings(body: protocol.CrisisSettings, agent: CurrentAgent, session: SessionDep,
                 lang: Lang = "en") -> protocol.CrisisPublic:
    _lead(agent, "change the crisis settings")
    crisis.set_settings(session, body)
    session.flush()
    answer = crisis.public(session, lang)  # before the commit: no second (write) transaction just to read
    session.commit()
    log.info("crisis settings changed by %s", agent.id)
    return answer


@router.post("/mode", response_model=protocol.CrisisPublic, responses=LEADS_ONLY)
def post_mode(body: protocol.CrisisModeUpdate, agent: CurrentAgent, session: SessionDep, request: Request,
              lang: Lang = "en") -> protocol.CrisisPublic:
    """Starts or ends crisis mode; starting it raises the conversations about the crisis at once."""
    _lead(agent, "start or end crisis mode")
    crisis.set_mode(session, agent, body.active, utcnow())
    session.flush()
    answer = crisis.public(session, lang)
    _commit(request, session)
    return answer


@router.post("/alerts/{alert_id}/ack", response_model=protocol.CrisisAlertPublic,
             responses={**LEADS_ONLY, 404: {"description": "no such alert"}})
def acknowledge(alert_id: Id, agent: CurrentAgent, session: SessionDep) -> protocol.CrisisAlertPublic:
    _lead(agent, "acknowledge a crisis alert")
    alert = crisis.acknowledge(session, alert_id, agent)
    if alert is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such crisis alert")
    session.flush()
    by = session.get(Agent, alert.acknowledged_by_agent_id) if alert.acknowledged_by_agent_id else None
    answer = crisis.alert_public(alert, crisis.load(session).settings, {by.id: by.name} if by else {})
    session.commit()
    return answer
