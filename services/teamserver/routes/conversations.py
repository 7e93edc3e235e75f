"""Agent writes on conversations: replies, internal notes, status and assignment.

Every write honours `Idempotency-Key`: the first successful answer is stored with the change, in the
same transaction, and replayed for a repeated key. Refusals (4xx) are not stored: they changed nothing,
so a retry is judged afresh.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Annotated, Callable

from fastapi import APIRouter, Header, HTTPException, Path, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from services.channels import meta
from services.teamserver import care, changes, csat, routing
from services.teamserver.deps import CurrentAgent, SessionDep
from services.teamserver.ingest import preview
from services.teamserver.models import Agent, Conversation, Customer, FollowUp, IdempotencyRecord, Message, Note, utcnow
from workstation import protocol

router = APIRouter(prefix="/v1", tags=["conversations"])
IdempotencyKey = Annotated[str | None, Header(alias=protocol.IDEMPOTENCY_HEADER, max_length=200)]
# Larger than a database integer can hold would fail in the driver (a 500): refuse it (422).
ConversationId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def request_hash(request: Request, body: BaseModel) -> str:
    return hashlib.sha256(f"{request.method} {request.url.path} {body.model_dump_json()}".encode()).hexdigest()


def _replay(session: Session, agent_id: int, key: str | None, fingerprint: str) -> JSONResponse | None:
    if key is None:
        return None
    record = session.exec(
        select(IdempotencyRecord).where(IdempotencyRecord.agent_id == agent_id, IdempotencyRecord.key == key)
    ).first()
    if record is None:
        return None
    if record.request_hash and record.request_hash != fingerprint:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "this Idempotency-Key was used for a different request")
    return JSONResponse(json.loads(record.response_json), status_code=record.status_code,
                        headers={"Idempotent-Replayed": "true"})


def _idempotent_write(
    session: Session,
    request: Request,
    agent: Agent,
    key: str | None,
    fingerprint: str,
    status_code: int,
    mutate: Callable[[], BaseModel],
    after_commit: Callable[[], None] = lambda: None,
) -> JSONResponse:
    """Replays a stored answer, or runs `mutate` (which returns the answer), stores the answer under the
    key and commits both together."""
    replay = _replay(session, agent.id, key, fingerprint)
    if replay is not None:
        return replay
    answer = mutate()
    body = answer.model_dump_json()
    if key is not None:
        session.add(IdempotencyRecord(agent_id=agent.id, key=key, request_hash=fingerprint,
                                      status_code=status_code, response_json=body))
    try:
        session.commit()
    except IntegrityError:
        # The same key raced us from another request: answer what the first one stored.
        session.rollback()
        replay = _replay(session, agent.id, key, fingerprint)
        if replay is None:
            raise
        return replay
    request.app.state.broadcaster.publish(changes.committed_seq(session))
    after_commit()
    return JSONResponse(json.loads(body), status_code=status_code)


def _conversation(session: Session, conversation_id: int) -> Conversation:
    # Locked until commit on PostgreSQL (SQLite writers are serialised already): a version check and the
    # write that follows it must not interleave with another agent's or the router's.
    conversation = session.get(Conversation, conversation_id, with_for_update=True)
    if conversation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such conversation")
    return conversation


def _queue_outbound(session: Session, conversation: Conversation, agent: Agent, text: str, *, kind: str = "text",
                    payload: dict | None = None, op_id: str | None = None) -> Message:
    """Stores an agent's outbound message for the dispatcher (in the caller's transaction): it answers the
    waiting customer, becomes the conversation's latest message, and is announced to clients and senders."""
    message = Message(conversation_id=conversation.id, channel=conversation.channel, direction="out",
                      author_agent_id=agent.id, text=text, kind=kind, delivery_state="pending",
                      client_op_id=op_id, payload=json.dumps(payload) if payload is not None else None)
    session.add(message)
    conversation.last_message_at = message.created_at
    conversation.last_message_preview = preview(text)
    conversation.last_message_direction = "out"
    conversation.reclaimed_from_agent_id = None
    care.answered(conversation, message.created_at, session=session, agent_id=agent.id)
    session.add(conversation)
    session.flush()
    changes.record(session, "conversation", conversation.id)
    changes.record(session, "message", message.id)
    changes.notify_outbox(session, conversation.id)
    return message


@router.post("/conversations/{conversation_id}/messages", response_model=protocol.MessagePublic,
             status_code=status.HTTP_201_CREATED)
def post_reply(conversation_id: ConversationId, body: protocol.ReplyCreate, agent: CurrentAgent, session: SessionDep,
               request: Request, idempotency_key: IdempotencyKey = None):
    if not body.text.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the reply is empty")
    created: dict[str, int] = {}

    def mutate():
        conversation = _conversation(session, conversation_id)
        refused = routing.may_work(agent, conversation)
        if refused:
            raise HTTPException(status.HTTP_403_FORBIDDEN, refused)
        if conversation.assignee_id is None and not routing.is_lead(agent):
            # An agent who answers an unassigned conversation takes it (a lead answering leaves it queued).
            routing.set_assignee(session, conversation, agent.id, actor_id=agent.id, kind="take")
        message = _queue_outbound(session, conversation, agent, body.text, op_id=idempotency_key)
        created["id"] = message.id
        return protocol.MessagePublic.model_validate(message, from_attributes=True)

    return _idempotent_write(
        session, request, agent, idempotency_key, request_hash(request, body), status.HTTP_201_CREATED, mutate,
        after_commit=lambda: request.app.state.dispatcher.submit(created["id"], conversation_id),
    )


@router.post("/conversations/{conversation_id}/template", response_model=protocol.MessagePublic,
             status_code=status.HTTP_201_CREATED)
def post_template(conversation_id: ConversationId, body: protocol.TemplateSend, agent: CurrentAgent,
                  session: SessionDep, request: Request, idempotency_key: IdempotencyKey = None):
    """Sends one of the team's approved WhatsApp templates: the way to write to a WhatsApp customer more than
    24 h after their last message."""
    created: dict[str, int] = {}

    def mutate():
        conversation = _conversation(session, conversation_id)
        refused = routing.may_work(agent, conversation)
        if refused:
            raise HTTPException(status.HTTP_403_FORBIDDEN, refused)
        if conversation.channel != "whatsapp":
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "templates are for WhatsApp conversations")
        templates = care.load(session).settings.templates
        template = next((t for t in templates if (t.name, t.language) == (body.name, body.language)), None)
        if template is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                f"no approved template {body.name} in {body.language}")
        try:
            text = template.render(list(body.parameters))
        except ValueError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
        if conversation.assignee_id is None and not routing.is_lead(agent):
            routing.set_assignee(session, conversation, agent.id, actor_id=agent.id, kind="take")
        message = _queue_outbound(
            session, conversation, agent, text, kind="template", op_id=idempotency_key,
            payload={"template": {"name": template.name, "language": template.language,
                                  "parameters": list(body.parameters)}})
        created["id"] = message.id
        return protocol.MessagePublic.model_validate(message, from_attributes=True)

    return _idempotent_write(
        session, request, agent, idempotency_key, request_hash(request, body), status.HTTP_201_CREATED, mutate,
        after_commit=lambda: request.app.state.dispatcher.submit(created["id"], conversation_id),
    )


# A private reply to a public comment: an outbound message of this kind whose payload names the comment.
PRIVATE_REPLY_KIND = "private_reply"
PRIVATE_REPLY_DAYS = 7


@router.post("/conversations/{conversation_id}/private-reply", response_model=protocol.MessagePublic,
             status_code=status.HTTP_201_CREATED, responses={409: {"description": "the comment got its private reply"}})
def post_private_reply(conversation_id: ConversationId, body: protocol.ReplyCreate, agent: CurrentAgent,
                       session: SessionDep, request: Request, idempotency_key: IdempotencyKey = None):
    """Moves a public Messenger or Instagram case to a private thread: the one private message Meta allows in
    answer to a comment (within 7 days of it), sent to the customer's newest comment in this public
    conversation. It is stored in the customer's private conversation on the channel (opened if needed),
    where their answer will arrive; the answer is the message, its conversation tells where it went."""
    if not body.text.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the reply is empty")
    created: dict[str, int] = {}

    def mutate():
        public = _conversation(session, conversation_id)
        refused = routing.may_work(agent, public)
        if refused:
            raise HTTPException(status.HTTP_403_FORBIDDEN, refused)
        if not public.public or public.channel not in meta.MAX_TEXT_CHARS:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                "a private reply answers a public comment on Messenger or Instagram")
        limit = meta.MAX_TEXT_CHARS[public.channel]
        if len(body.text) > limit:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                f"{meta.PLATFORM_NAME[public.channel]} allows {limit} characters in a message")
        comment = session.exec(
            select(Message).where(Message.conversation_id == public.id, Message.direction == "in",
                                  Message.provider_id.is_not(None))
            .order_by(Message.created_at.desc(), Message.id.desc()).limit(1)
        ).first()
        if comment is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "there is no comment to reply to")
        if comment.created_at < utcnow() - timedelta(days=PRIVATE_REPLY_DAYS):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                f"the comment is more than {PRIVATE_REPLY_DAYS} days old: Meta no longer allows a "
                                "private reply to it")
        # Every earlier one counts, failed ones too: one that timed out may have reached Meta, and Meta refuses
        # a second (10900) anyway. A failed private reply leaves the public answer.
        earlier = session.exec(
            select(Message.payload).join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.identity_id == public.identity_id, Message.kind == PRIVATE_REPLY_KIND)
        ).all()
        if any(json.loads(p or "{}").get("comment_id") == comment.provider_id for p in earlier):
            raise HTTPException(status.HTTP_409_CONFLICT,
                                "this comment already has its private reply: Meta allows one per comment")
        if public.assignee_id is None and not routing.is_lead(agent):
            routing.set_assignee(session, public, agent.id, actor_id=agent.id, kind="take")
        private = session.exec(
            select(Conversation).where(Conversation.identity_id == public.identity_id,
                                       Conversation.public == False,  # noqa: E712 (SQL, not Python)
                                       Conversation.status != "resolved")
            .order_by(Conversation.id.desc()).limit(1)
        ).first()
        if private is None:
            private = Conversation(customer_id=public.customer_id, identity_id=public.identity_id,
                                   channel=public.channel, status="open", public=False)
            session.add(private)
            session.flush()
            if public.assignee_id is not None:
                routing.set_assignee(session, private, public.assignee_id, actor_id=agent.id,
                                     kind="take" if public.assignee_id == agent.id else "manual")
        message = _queue_outbound(session, private, agent, body.text, kind=PRIVATE_REPLY_KIND, op_id=idempotency_key,
                                  payload={"comment_id": comment.provider_id})
        created.update(id=message.id, conversation_id=private.id)
        return protocol.MessagePublic.model_validate(message, from_attributes=True)

    return _idempotent_write(
        session, request, agent, idempotency_key, request_hash(request, body), status.HTTP_201_CREATED, mutate,
        after_commit=lambda: request.app.state.dispatcher.submit(created["id"], created["conversation_id"]),
    )


@router.post("/conversations/{conversation_id}/notes", response_model=protocol.NotePublic,
             status_code=status.HTTP_201_CREATED)
def post_note(conversation_id: ConversationId, body: protocol.NoteCreate, agent: CurrentAgent, session: SessionDep,
              request: Request, idempotency_key: IdempotencyKey = None):
    if not body.text.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the note is empty")

    def mutate():
        conversation = _conversation(session, conversation_id)
        note = Note(conversation_id=conversation.id, author_agent_id=agent.id, text=body.text,
                    client_op_id=idempotency_key)
        session.add(note)
        session.flush()
        changes.record(session, "note", note.id)
        return protocol.NotePublic.model_validate(note, from_attributes=True)

    return _idempotent_write(session, request, agent, idempotency_key, request_hash(request, body),
                             status.HTTP_201_CREATED, mutate)


@router.patch("/conversations/{conversation_id}", response_model=protocol.ConversationPublic,
              responses={409: {"model": protocol.Conflict}})
def update_conversation(conversation_id: ConversationId, body: protocol.ConversationUpdate, agent: CurrentAgent,
                        session: SessionDep, request: Request, idempotency_key: IdempotencyKey = None):
    fingerprint = request_hash(request, body)
    replay = _replay(session, agent.id, idempotency_key, fingerprint)
    if replay is not None:
        return replay
    conversation = _conversation(session, conversation_id)
    if conversation.version != body.expected_version:
        conflict = protocol.Conflict(
            detail="the conversation changed meanwhile",
            conversation=changes.conversation_public(conversation),
            changed_by=routing.changed_by(session, conversation),
        )
        return JSONResponse(json.loads(conflict.model_dump_json()), status_code=status.HTTP_409_CONFLICT)
    moving = body.set_assignee and body.assignee_id != conversation.assignee_id
    if moving:
        refused = routing.may_assign(agent, conversation.assignee_id, body.assignee_id)
        if refused:
            raise HTTPException(status.HTTP_403_FORBIDDEN, refused)
        if body.assignee_id is not None and session.get(Agent, body.assignee_id) is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "no such agent")
    if (body.status is not None and body.status != conversation.status) or body.priority is not None:
        # The status of a conversation one is taking is one's own to set.
        owner = body.assignee_id if moving else conversation.assignee_id
        if not routing.is_lead(agent) and owner not in (None, agent.id):
            raise HTTPException(status.HTTP_403_FORBIDDEN, routing.may_work(agent, conversation))
    now = utcnow()
    if body.status == "resolved" and body.case_type is None and conversation.case_type is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "choose a case type to resolve")
    if body.status == "snoozed" and not body.snooze_until_reply and (
            body.snoozed_until is None or body.snoozed_until <= now):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "snooze until a time in the future or until the customer writes")

    def mutate():
        now = utcnow()
        if moving:
            routing.set_assignee(session, conversation, body.assignee_id, actor_id=agent.id,
                                 kind=routing.assignment_kind(agent, conversation.assignee_id, body.assignee_id),
                                 reason=body.reason, now=now)
        else:
            conversation.version += 1
            conversation.updated_by_agent_id = agent.id
        if body.case_type is not None:
            conversation.case_type = body.case_type
        if body.priority is not None and body.priority != conversation.priority:
            conversation.priority = body.priority
            conversation.priority_reasons = '["manual"]'
            care.restart_clock(care.load(session), conversation)
        if body.status is not None and body.status != conversation.status:
            _change_status(session, conversation, body, agent, now)
        session.add(conversation)
        session.flush()
        changes.record(session, "conversation", conversation.id)
        return changes.conversation_public(conversation)

    return _idempotent_write(session, request, agent, idempotency_key, fingerprint, status.HTTP_200_OK, mutate,
                             after_commit=lambda: _send_queued(request, session))


def _send_queued(request: Request, session: Session) -> None:
    """Hands what the server queued in this write (the satisfaction survey) to the dispatcher."""
    for message_id, conversation_id in csat.take_queued(session):
        request.app.state.dispatcher.submit(message_id, conversation_id)


def _change_status(session: Session, conversation: Conversation, body: protocol.ConversationUpdate, agent: Agent,
                   now) -> None:
    conversation.status = body.status
    conversation.snoozed_until = None
    conversation.snooze_until_reply = False
    if body.status == "resolved":
        conversation.resolved_at = now
        care.stop_clock(conversation)
        csat.send_survey(session, conversation, agent_id=agent.id, now=now)
        if body.follow_up_days:
            language = "es"
            customer = session.get(Customer, conversation.customer_id)
            if customer is not None and customer.language:
                language = customer.language
            follow_up = FollowUp(conversation_id=conversation.id, customer_id=conversation.customer_id,
                                 agent_id=conversation.assignee_id or agent.id,
                                 due_at=now + timedelta(days=body.follow_up_days), note=body.follow_up_note,
                                 canned_id=f"{language}-followup")
            session.add(follow_up)
            session.flush()
            changes.record(session, "follow_up", follow_up.id)
    else:
        conversation.resolved_at = None
    if body.status == "snoozed":
        conversation.snoozed_until = body.snoozed_until
        conversation.snooze_until_reply = body.snooze_until_reply


@router.post("/conversations/{conversation_id}/presence", status_code=status.HTTP_204_NO_CONTENT)
def post_presence(conversation_id: ConversationId, body: protocol.PresenceUpdate, agent: CurrentAgent,
                  session: SessionDep, request: Request) -> None:
    """Tells the other agents that this agent is viewing or typing in a conversation (or left it)."""
    if session.get(Conversation, conversation_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such conversation")
    session.rollback()
    request.app.state.presence.publish(protocol.PresenceEvent(
        conversation_id=conversation_id, agent_id=agent.id, agent_name=agent.name, state=body.state,
        ttl=PRESENCE_TTL[body.state],
    ))


PRESENCE_TTL = {"viewing": 45.0, "typing": 8.0, "left": 0.0}
