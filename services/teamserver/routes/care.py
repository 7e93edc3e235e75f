"""Customer care: customer profiles (tags, CRM fields, notes), follow-ups, the canned library and the team's
care rules (business hours, SLA, priority, out-of-hours reply)."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from pydantic import ValidationError
from sqlmodel import Session, select

from services.teamserver import care, changes, routing
from services.teamserver.deps import CurrentAgent, ReadSessionDep, SessionDep
from services.teamserver.models import Agent, CannedResponse, Customer, FollowUp, utcnow
from workstation import protocol

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["care"])
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _commit(request: Request, session: Session) -> None:
    session.commit()
    request.app.state.broadcaster.publish(changes.committed_seq(session))


@router.patch("/customers/{customer_id}", response_model=protocol.CustomerPublic)
def update_customer(customer_id: Id, body: protocol.CustomerUpdate, agent: CurrentAgent, session: SessionDep,
                    request: Request) -> protocol.CustomerPublic:
    """Any agent keeps the customer's profile: tags, CRM fields, notes, language."""
    customer = session.get(Customer, customer_id, with_for_update=True)
    if customer is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such customer")
    if body.tags is not None:
        tags: list[str] = []
        for tag in body.tags:
            tag = " ".join(tag.split())
            if tag and tag.casefold() not in {t.casefold() for t in tags}:
                tags.append(tag)
        customer.tags = json.dumps(tags)
    if body.fields is not None:
        customer.fields = json.dumps({k.strip(): v for k, v in body.fields.items() if k.strip()}, sort_keys=True)
    if body.notes is not None:
        customer.notes = body.notes
    if "language" in body.model_fields_set:
        customer.language = body.language
    session.add(customer)
    session.flush()
    changes.record(session, "customer", customer.id)
    _commit(request, session)
    return changes.customer_public(customer)


@router.patch("/follow_ups/{follow_up_id}", response_model=protocol.FollowUpPublic)
def update_follow_up(follow_up_id: Id, body: protocol.FollowUpUpdate, agent: CurrentAgent, session: SessionDep,
                     request: Request) -> protocol.FollowUpPublic:
    follow_up = session.get(FollowUp, follow_up_id, with_for_update=True)
    if follow_up is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such follow-up")
    if follow_up.agent_id not in (None, agent.id) and not routing.is_lead(agent):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this follow-up is another agent's")
    follow_up.done_at = utcnow() if body.done else None
    session.add(follow_up)
    session.flush()
    changes.record(session, "follow_up", follow_up.id)
    _commit(request, session)
    return protocol.FollowUpPublic.model_validate(follow_up, from_attributes=True)


# -- canned library -----------------------------------------------------------------------------------------
def _may_edit(agent: Agent, row: CannedResponse) -> None:
    if row.owner_agent_id is None and not routing.is_lead(agent):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only a lead can change the team's canned responses")
    if row.owner_agent_id is not None and row.owner_agent_id != agent.id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this canned response is another agent's")


def _fill(row: CannedResponse, body: protocol.CannedWrite) -> None:
    row.title, row.shortcut, row.category = body.title, body.shortcut.strip().lstrip("/"), body.category or "general"
    row.language, row.body = body.language, body.body
    row.variants = json.dumps(body.variants, sort_keys=True)
    row.keywords = json.dumps(body.keywords)
    row.updated_at = utcnow()


@router.post("/canned", response_model=protocol.CannedPublic, status_code=status.HTTP_201_CREATED)
def create_canned(body: protocol.CannedWrite, agent: CurrentAgent, session: SessionDep,
                  request: Request) -> protocol.CannedPublic:
    if body.team and not routing.is_lead(agent):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only a lead can add to the team's canned responses")
    row = CannedResponse(key=f"{body.language}-{uuid.uuid4().hex[:10]}", title="", shortcut="", body="",
                         owner_agent_id=None if body.team else agent.id)
    _fill(row, body)
    session.add(row)
    session.flush()
    changes.record(session, "canned", row.id)
    _commit(request, session)
    return changes.canned_public(row)


def _canned(session: Session, canned_id: int) -> CannedResponse:
    row = session.get(CannedResponse, canned_id, with_for_update=True)
    if row is None or row.deleted:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such canned response")
    return row


@router.put("/canned/{canned_id}", response_model=protocol.CannedPublic)
def update_canned(canned_id: Id, body: protocol.CannedWrite, agent: CurrentAgent, session: SessionDep,
                  request: Request) -> protocol.CannedPublic:
    row = _canned(session, canned_id)
    _may_edit(agent, row)
    _fill(row, body)
    session.add(row)
    session.flush()
    changes.record(session, "canned", row.id)
    _commit(request, session)
    return changes.canned_public(row)


@router.delete("/canned/{canned_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_canned(canned_id: Id, agent: CurrentAgent, session: SessionDep, request: Request) -> None:
    row = _canned(session, canned_id)
    _may_edit(agent, row)
    row.deleted = True
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    changes.record(session, "canned", row.id)
    _commit(request, session)


@router.post("/canned/{canned_id}/uses", status_code=status.HTTP_204_NO_CONTENT)
def count_use(canned_id: Id, agent: CurrentAgent, session: SessionDep, request: Request) -> None:
    """An agent sent this canned response (usage counts rank the library)."""
    row = _canned(session, canned_id)
    row.usage_count += 1
    session.add(row)
    session.flush()
    changes.record(session, "canned", row.id)
    _commit(request, session)


# -- care rules ---------------------------------------------------------------------------------------------
@router.get("/care", response_model=protocol.CarePublic)
def get_care(agent: CurrentAgent, session: ReadSessionDep,
             lang: Annotated[str, Query(pattern="^(es|en)$")] = "en") -> protocol.CarePublic:
    rules = care.load(session)
    return protocol.CarePublic(settings=care.in_effect(rules), hours_now=care.hours_now(rules, utcnow(), lang))


@router.put("/care", response_model=protocol.CarePublic, responses={403: {"description": "leads only"}})
def put_care(body: protocol.CareSettings, agent: CurrentAgent, session: SessionDep,
             lang: Annotated[str, Query(pattern="^(es|en)$")] = "en") -> protocol.CarePublic:
    if not routing.is_lead(agent):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only a lead can change the care rules")
    try:
        rules = care.save(session, body)
    except (ValidationError, ValueError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"these rules cannot be used: {exc}"[:1000]) \
            from None
    session.commit()
    log.info("care rules changed by %s", agent.id)
    return protocol.CarePublic(settings=care.in_effect(rules), hours_now=care.hours_now(rules, utcnow(), lang))
