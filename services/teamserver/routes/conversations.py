"""Agent writes on conversations: replies (idempotent on the Idempotency-Key header)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from services.teamserver import changes
from services.teamserver.deps import CurrentAgent, SessionDep
from services.teamserver.ingest import preview
from services.teamserver.models import Conversation, IdempotencyRecord, Message
from workstation import protocol

router = APIRouter(prefix="/v1", tags=["conversations"])


def _replay(session, agent_id: int, key: str) -> JSONResponse | None:
    record = session.exec(
        select(IdempotencyRecord).where(IdempotencyRecord.agent_id == agent_id, IdempotencyRecord.key == key)
    ).first()
    if record is None:
        return None
    return JSONResponse(json.loads(record.response_json), status_code=record.status_code,
                        headers={"Idempotent-Replayed": "true"})


@router.post(
    "/conversations/{conversation_id}/messages",
    response_model=protocol.MessagePublic,
    status_code=status.HTTP_201_CREATED,
)
def post_reply(
    conversation_id: int,
    body: protocol.ReplyCreate,
    agent: CurrentAgent,
    session: SessionDep,
    request: Request,
    idempotency_key: Annotated[str | None, Header(alias=protocol.IDEMPOTENCY_HEADER, max_length=200)] = None,
):
    if idempotency_key is not None:
        replay = _replay(session, agent.id, idempotency_key)
        if replay is not None:
            return replay
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such conversation")
    if not body.text.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the reply is empty")
    message = Message(
        conversation_id=conversation.id,
        channel=conversation.channel,
        direction="out",
        author_agent_id=agent.id,
        text=body.text,
        delivery_state="pending",
        client_op_id=idempotency_key,
    )
    session.add(message)
    conversation.last_message_at = message.created_at
    conversation.last_message_preview = preview(body.text)
    conversation.last_message_direction = "out"
    conversation.version += 1
    session.add(conversation)
    session.flush()
    changes.record(session, "conversation", conversation.id)
    change = changes.record(session, "message", message.id)
    session.flush()
    seq, message_id = change.seq, message.id
    public = protocol.MessagePublic.model_validate(message, from_attributes=True)
    if idempotency_key is not None:
        session.add(IdempotencyRecord(agent_id=agent.id, key=idempotency_key, status_code=201,
                                      response_json=public.model_dump_json()))
    try:
        session.commit()
    except IntegrityError:
        # The same key raced us from another request: answer what the first one stored.
        session.rollback()
        replay = _replay(session, agent.id, idempotency_key) if idempotency_key else None
        if replay is None:
            raise
        return replay
    request.app.state.broadcaster.publish(seq)
    request.app.state.dispatcher.submit(message_id, conversation_id)
    return JSONResponse(json.loads(public.model_dump_json()), status_code=status.HTTP_201_CREATED)
