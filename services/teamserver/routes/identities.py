"""One customer across channels: any agent merges two customers, or splits one channel identity off into a
customer of its own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, status
from pydantic import BaseModel, Field
from sqlmodel import Session

from services.teamserver import changes, identities
from services.teamserver.deps import CurrentAgent, SessionDep
from workstation import protocol

router = APIRouter(prefix="/v1", tags=["customers"])
# customer.id and identity.id are 32-bit INTEGER columns: PostgreSQL refuses a larger value in a comparison (a
# 500), so it is a 422.
ID_MAX = 2**31 - 1
Id = Annotated[int, Path(ge=1, le=ID_MAX)]


class CustomerMerge(BaseModel):
    """The customer whose identities and conversations join the one in the path."""

    other_customer_id: int = Field(ge=1, le=ID_MAX)


def _commit(request: Request, session: Session) -> None:
    session.commit()
    request.app.state.broadcaster.publish(changes.committed_seq(session))


_REFUSALS = {404: {"description": "no such customer or identity"},
             409: {"description": "merged already elsewhere, or the customer's only identity"},
             422: {"description": "a customer merged with itself"}}


@router.post("/customers/{customer_id}/merge", response_model=protocol.CustomerPublic, responses=_REFUSALS)
def merge_customers(customer_id: Id, body: CustomerMerge, agent: CurrentAgent, session: SessionDep,
                    request: Request) -> protocol.CustomerPublic:
    """The other customer's identities, conversations, follow-ups and surveys move to this one (see
    services/teamserver/identities.py merge for tags, fields and notes); answers this customer."""
    try:
        customer = identities.merge(session, customer_id=customer_id, other_customer_id=body.other_customer_id,
                                    agent=agent)
    except identities.IdentityError as exc:
        raise HTTPException(exc.status, exc.detail) from None
    _commit(request, session)
    return changes.customer_public(customer)


@router.post("/identities/{identity_id}/split", response_model=protocol.CustomerPublic,
             status_code=status.HTTP_201_CREATED, responses=_REFUSALS)
def split_identity(identity_id: Id, agent: CurrentAgent, session: SessionDep,
                   request: Request) -> protocol.CustomerPublic:
    """The identity and its conversations move to a new customer named after it; answers the new customer."""
    try:
        customer = identities.split(session, identity_id=identity_id, agent=agent)
    except identities.IdentityError as exc:
        raise HTTPException(exc.status, exc.detail) from None
    _commit(request, session)
    return changes.customer_public(customer)
