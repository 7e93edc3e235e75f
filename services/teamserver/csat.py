"""Customer satisfaction (CSAT): the one-question survey sent when a conversation is resolved, and its answer.

How it works, as a customer and an agent see it (settings: protocol.CsatSettings, inside the care settings):
- An agent resolves a private conversation: the survey question goes out on the same channel, in the customer's
  language, through the same outbox as agents' replies (a message of kind `csat_survey`, no author). Nothing is
  sent on public conversations, while the channel's reply window is closed (free text would be refused), or when
  the conversation had a survey within the answer window already (one question, not one per reopening).
- The customer answers 1–5 ("4", "4 estrellas", "cuatro", "⭐⭐⭐⭐", "4️⃣", "4/5"…) within the answer window,
  while the conversation is still resolved: the score is recorded against the conversation and the agent it was
  assigned to, the answer stays in the thread (kind `csat_answer`) without reopening the conversation, and a
  thanks (kind `csat_thanks`) goes out. Anything else is a normal customer message and reopens as usual.
  Answers are read on the resolved conversation a message joins, so they count within `reopen_days` too.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from typing import Iterable

import sqlalchemy as sa
from sqlmodel import Session, select

from services.channels.base import InboundMessage
from services.teamserver import care, changes
from services.teamserver.models import Conversation, CsatSurvey, Customer, Message, UTCDateTime, utcnow

SURVEY_KIND, ANSWER_KIND, THANKS_KIND = "csat_survey", "csat_answer", "csat_thanks"
DEFAULT_LANGUAGE = "es"
# How long after the customer's last message a channel accepts free text from us (CHANNELS.md). The survey is
# automated, so Meta's 7-day HUMAN_AGENT tag does not apply. Channels not listed have no window.
REPLY_WINDOW = {"whatsapp": timedelta(hours=24), "messenger": timedelta(hours=24),
                "instagram": timedelta(hours=24)}
# The survey must reach the provider before the window closes, retries included.
SEND_MARGIN = timedelta(minutes=5)
# Provider timestamps have whole seconds and their clocks are not ours: an answer may look a little older
# than the survey it answers.
CLOCK_SLACK = timedelta(seconds=30)
# Kinds of inbound message that can carry an answer (a reaction or a photo never does).
ANSWER_MESSAGE_KINDS = frozenset({"text", "interactive", "button"})
# Longer messages are never a bare score: skip the parsing on the ingest hot path.
MAX_ANSWER_CHARS = 60
_QUEUED = "csat_queued"

# -- reading an answer ---------------------------------------------------------------------------------------
_NUMBER_WORDS = {"uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
                 "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_STARS = frozenset("⭐★🌟")
_KEYCAP = re.compile("([1-5])\u20e3")
_ANSWER = re.compile(
    r"(?:(?:le doy|doy|i give|i'd give|i would give|i'd say|nota|mi nota|my rating|rating|score)\s+)?"
    r"(?:(?:un|una|a|an)\s+)?"
    rf"(?P<n>[1-5]|{'|'.join(_NUMBER_WORDS)})"
    r"(?:\s*(?:/\s*5|de\s+5|sobre\s+5|out\s+of\s+5|of\s+5|de\s+cinco|out\s+of\s+five|estrellas?|stars?|puntos?|"
    r"points?|pts))*"
    r"(?:\s+(?:gracias|muchas gracias|thanks|thank you|thx|ty))?"
)


def parse_answer(text: str) -> int | None:
    """The score 1–5 a survey answer gives, or None when the text is not (only) a score."""
    text = text.strip()
    if not text or len(text) > MAX_ANSWER_CHARS:
        return None
    compact = re.sub(r"[\s\ufe0e\ufe0f]", "", text)
    if compact and all(ch in _STARS for ch in compact):
        return len(compact) if len(compact) <= 5 else None
    keycap = _KEYCAP.fullmatch(compact)
    if keycap:
        return int(keycap.group(1))
    # Accents off (cinco, "puntuación"), full-width digits to ASCII, then every symbol (emoji, punctuation but
    # the slash of "4/5" and the apostrophe of "I'd") becomes a space: "¡5!", "5 😊" and "5." read as "5".
    folded = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)).casefold()
    words = " ".join("".join(ch if ch.isalnum() or ch in "/'" else " " for ch in folded).split())
    match = _ANSWER.fullmatch(words)
    if match is None:
        return None
    number = match.group("n")
    return int(number) if number.isdigit() else _NUMBER_WORDS[number]


def localized(texts: dict[str, str], language: str | None) -> str:
    """The text in the customer's language, else Spanish, else any."""
    for lang in (language, DEFAULT_LANGUAGE):
        if lang and texts.get(lang, "").strip():
            return texts[lang]
    return next((t for t in texts.values() if t.strip()), "")


# -- replies queued by a transaction, for the dispatcher -------------------------------------------------------
def _queue(session: Session, message_id: int, conversation_id: int) -> None:
    changes.notify_outbox(session, conversation_id)
    session.info.setdefault(_QUEUED, []).append((message_id, conversation_id))


def take_queued(session: Session) -> list[tuple[int, int]]:
    """(message id, conversation id) of the survey and thanks messages this session queued; call after the
    commit and hand each to the dispatcher (on PostgreSQL the sending worker also hears of them at commit)."""
    return session.info.pop(_QUEUED, [])


# -- sending the survey --------------------------------------------------------------------------------------
def window_open(conversation: Conversation, now: datetime) -> bool:
    window = REPLY_WINDOW.get(conversation.channel)
    if window is None:
        return True
    return conversation.last_inbound_at is not None and conversation.last_inbound_at + window > now + SEND_MARGIN


def send_survey(session: Session, conversation: Conversation, *, agent_id: int | None,
                now: datetime) -> int | None:
    """Queues the survey for a conversation being resolved, when the settings and the channel allow it; returns
    the survey message's id. `agent_id` is whom the answer rates: the assignee, else the agent resolving."""
    settings = care.load(session).settings.csat
    if not settings.enabled or conversation.public or not window_open(conversation, now):
        return None
    recent = session.exec(select(CsatSurvey.id).where(
        CsatSurvey.conversation_id == conversation.id,
        CsatSurvey.sent_at > now - timedelta(hours=settings.answer_hours)).limit(1)).first()
    if recent is not None:
        return None
    customer = session.get(Customer, conversation.customer_id)
    text = localized(settings.question, customer.language if customer else None)
    if not text.strip():
        return None
    message = Message(conversation_id=conversation.id, channel=conversation.channel, direction="out",
                      author_agent_id=None, text=text, kind=SURVEY_KIND, delivery_state="pending", created_at=now)
    session.add(message)
    session.flush()
    session.add(CsatSurvey(conversation_id=conversation.id, customer_id=conversation.customer_id,
                           agent_id=conversation.assignee_id or agent_id, channel=conversation.channel,
                           message_id=message.id, sent_at=now))
    changes.record(session, "message", message.id)
    _queue(session, message.id, conversation.id)
    return message.id


# -- reading answers while storing inbound messages -----------------------------------------------------------
def pending_surveys(session: Session, conn: sa.Connection, conversations: Iterable[dict],
                    messages: list[InboundMessage]) -> dict[int, dict]:
    """conversation id → its unanswered survey (id, sent_at), for the resolved ones among `conversations` (the
    rows ingest works on). Costs nothing unless one of them is resolved; then one lookup on the indexed
    conversation id."""
    resolved = [c["id"] for c in conversations if c["status"] == "resolved"]
    if not resolved or not messages:
        return {}
    window = timedelta(hours=care.load(session).settings.csat.answer_hours)
    oldest = min(m.sent_at for m in messages)
    S = CsatSurvey.__table__
    found: dict[int, dict] = {}
    for i in range(0, len(resolved), 500):
        for row in conn.execute(
            sa.select(S.c.id, S.c.conversation_id, S.c.sent_at)
            .where(S.c.conversation_id.in_(resolved[i:i + 500]), S.c.score.is_(None),
                   S.c.sent_at >= oldest - window)
            .order_by(S.c.sent_at)
        ).mappings():
            found[row["conversation_id"]] = {"id": row["id"], "sent_at": row["sent_at"], "window": window}
    return found


def take_answer(pending: dict[int, dict], conversation_id: int, message: InboundMessage) -> tuple[dict, int] | None:
    """(survey, score) when `message` answers the conversation's pending survey. The first message after the
    survey decides: an answer uses the survey up, anything else reopens the conversation; either way the
    messages after it are normal ones."""
    survey = pending.pop(conversation_id, None)
    if survey is None or message.kind not in ANSWER_MESSAGE_KINDS:
        return None
    if not survey["sent_at"] - CLOCK_SLACK <= message.sent_at <= survey["sent_at"] + survey["window"]:
        return None
    text = message.text
    if message.channel == "email" and "\n\n" in text:
        text = text.split("\n\n", 1)[1]  # the mail's body: the connector shows "subject\n\nbody"
    score = parse_answer(text)
    return None if score is None else (survey, score)


def record_answers(session: Session, conn: sa.Connection, answers: list[tuple[dict, int, InboundMessage, dict]]
                   ) -> list[int]:
    """Stores each (survey, score, answer, conversation row) and queues the thanks; returns the thanks' ids."""
    if not answers:
        return []
    S, M, C = CsatSurvey.__table__, Message.__table__, Customer.__table__
    conn.execute(
        S.update().where(S.c.id == sa.bindparam("b_id")).values(
            score=sa.bindparam("b_score"), answered_at=sa.bindparam("b_at", type_=UTCDateTime())),
        [{"b_id": survey["id"], "b_score": score, "b_at": message.sent_at} for survey, score, message, _ in answers],
    )
    thanks = care.load(session).settings.csat.thanks
    customer_ids = sorted({conversation["customer_id"] for *_, conversation in answers})
    languages = dict(conn.execute(sa.select(C.c.id, C.c.language).where(C.c.id.in_(customer_ids))).all())
    now = utcnow()
    rows = []
    for _survey, _score, _message, conversation in answers:
        text = localized(thanks, languages.get(conversation["customer_id"]))
        if text.strip():
            rows.append({"conversation_id": conversation["id"], "channel": conversation["channel"],
                         "direction": "out", "text": text, "kind": THANKS_KIND, "delivery_state": "pending",
                         "created_at": now})
    if not rows:
        return []
    ids = conn.execute(sa.insert(M).returning(M.c.id, sort_by_parameter_order=True), rows).scalars().all()
    for message_id, row in zip(ids, rows):
        changes.record(session, "message", message_id)
        _queue(session, message_id, row["conversation_id"])
    return list(ids)
