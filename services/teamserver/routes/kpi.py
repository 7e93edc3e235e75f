"""KPIs: the team's report over a date range (an agent sees only their own figures) and the cost model."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from services.teamserver import kpi, routing
from services.teamserver.deps import CurrentAgent, ReadSessionDep, SessionDep
from services.teamserver.models import Agent, utcnow
from workstation import protocol

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["kpis"])
# agent.id is a 32-bit INTEGER column: PostgreSQL refuses a larger value in a comparison (a 500), so it is a 422.
AGENT_ID_MAX = 2**31 - 1


@router.get("/kpis", response_model=protocol.KpiReport,
            responses={404: {"description": "no such agent"}, 422: {"description": "a bad range or time zone"}})
def get_kpis(agent: CurrentAgent, session: ReadSessionDep, start: datetime, end: datetime,
             tz: Annotated[str, Query(min_length=1, max_length=64)] = "UTC",
             channel: Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")] = None,
             agent_id: Annotated[int | None, Query(ge=1, le=AGENT_ID_MAX)] = None) -> protocol.KpiReport:
    """The report for [start, end) (ISO times with an offset; at most 400 days), hours and weekdays in `tz`.
    An agent always gets their own figures, whatever `agent_id` says; a lead or admin any agent's or the
    whole team's."""
    try:
        kpi.check_range(start, end, tz)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    if not routing.is_lead(agent):
        agent_id = agent.id
    elif agent_id is not None:
        if session.get(Agent, agent_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such agent")
        session.rollback()  # the report reads in a snapshot of its own (see kpi.report)
    return kpi.report(session, start, end, tz=tz, channel=channel, agent_id=agent_id, now=utcnow())


@router.get("/kpis/cost", response_model=protocol.CostSettings)
def get_cost(agent: CurrentAgent, session: ReadSessionDep) -> protocol.CostSettings:
    return kpi.load_cost(session)


@router.put("/kpis/cost", response_model=protocol.CostSettings, responses={403: {"description": "leads only"}})
def put_cost(body: protocol.CostSettings, agent: CurrentAgent, session: SessionDep) -> protocol.CostSettings:
    if not routing.is_lead(agent):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only a lead can change the cost model")
    settings = kpi.save_cost(session, body)
    session.commit()
    log.info("cost model changed by %s", agent.id)
    return settings
