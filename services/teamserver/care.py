"""Customer-care rules on the server: priority from what customers write, response-time clocks (SLA) in
business hours, the out-of-hours reply, snooze wake-ups, reopening and the default canned library.

What the rules do, as an agent sees them:
- Every customer message is read by the priority rules (keywords in Spanish and English, negation-aware;
  VIP customers, public posts and repeated unanswered messages raise it). Rules only ever raise a
  conversation's priority; an agent or lead can set it by hand.
- When a customer starts waiting, a clock starts: *first response* if nobody has answered the conversation
  yet, else *next response*. Its target comes from the SLA policy (per channel and priority), counted in
  business hours when the policy says so. An agent's reply stops it. Past due, the conversation is marked
  breached (the assignee and the leads are alerted by their apps).
- A message that arrives while the channel is closed gets the out-of-hours reply (the hours and an
  alternative channel) at most once per conversation per closed period.
- A snoozed conversation opens again at its time, or when the customer writes. A resolved one opens again
  when the customer writes within `reopen_days`; later, a new conversation starts.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Session, select

from services.teamserver import businesshours as bh
from services.teamserver import changes, priority
from services.teamserver.models import (
    CannedResponse, Conversation, Customer, Message, ResponseRecord, ServerMeta, utcnow,
)
from workstation import protocol

log = logging.getLogger(__name__)

SETTINGS_KEY = "care"
def canned_folder() -> Path:
    """The default library shipped with the program (the `resources` package, also in the packaged build)."""
    import resources

    return Path(resources.__file__).resolve().parent / "canned"

MAX_REASONS = 12


@dataclass
class Rules:
    """The care settings, parsed and checked."""

    settings: protocol.CareSettings
    hours: dict[str, bh.BusinessHours]
    sla: bh.SlaPolicy
    priority: priority.PriorityRules

    def hours_for(self, channel: str) -> bh.BusinessHours:
        return bh.pick_hours(self.hours, channel)

    def clock(self, channel: str, level: str, kind: str, since: datetime) -> tuple[datetime | None, int | None]:
        """(due, target seconds) of a response clock started at `since`."""
        minutes = self.sla.target_minutes(channel, level, kind)
        if minutes is None:
            return None, None
        due = bh.due_at(self.sla, self.hours_for(channel), channel, level, kind, since)
        return due, minutes * 60


class RulesError(ValueError):
    """Settings that cannot be used, with a short reason a lead can act on ("hours of telegram: …")."""


def _checked(what: str, model, value):
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        reasons = []
        for error in exc.errors(include_url=False, include_input=False):
            where = ".".join(str(part) for part in error.get("loc", ()))
            message = str(error.get("msg", "")).removeprefix("Value error, ")
            reasons.append(f"{where}: {message}" if where else message)
        raise RulesError(f"{what}: " + "; ".join(reasons)) from None


def parse(settings: protocol.CareSettings) -> Rules:
    """Raises RulesError (a ValueError) on settings that cannot be used."""
    hours = {channel: _checked(f"hours of {channel}", bh.BusinessHours, value)
             for channel, value in settings.hours.items()}
    sla = _checked("response targets", bh.SlaPolicy, settings.sla) if settings.sla else bh.SlaPolicy()
    rules = _checked("priority rules", priority.PriorityRules, settings.priority) if settings.priority \
        else priority.DEFAULT_RULES
    return Rules(settings, hours, sla, rules)


def in_effect(rules: Rules) -> protocol.CareSettings:
    """The settings as they apply, with the built-in response targets and priority lists written out where
    the team has none of its own: what a lead sees and edits (an edit then starts from them instead of
    replacing them with nothing)."""
    settings = rules.settings
    return settings.model_copy(update={
        "sla": settings.sla or rules.sla.model_dump(mode="json"),
        "priority": settings.priority or rules.priority.model_dump(mode="json"),
    })


def load(session: Session) -> Rules:
    row = session.get(ServerMeta, SETTINGS_KEY)
    settings = protocol.CareSettings.model_validate_json(row.value) if row else protocol.CareSettings()
    try:
        return parse(settings)
    except ValueError:
        log.exception("stored care settings are unusable; using the defaults")
        return parse(protocol.CareSettings())


def save(session: Session, settings: protocol.CareSettings) -> Rules:
    rules = parse(settings)
    row = session.get(ServerMeta, SETTINGS_KEY) or ServerMeta(key=SETTINGS_KEY, value="")
    row.value = settings.model_dump_json()
    session.add(row)
    return rules


def hours_now(rules: Rules, now: datetime, lang: str) -> dict[str, protocol.HoursNow]:
    out = {}
    for channel in sorted(set(rules.hours) | {"*"}):
        hours = rules.hours_for(channel)
        is_open = bh.is_open(hours, now)
        change = bh.next_close(hours, now) if is_open else bh.next_open(hours, now)
        out[channel] = protocol.HoursNow(open=is_open, description=bh.describe(hours, lang), next_change_at=change)
    return out


def higher(a: str, b: str) -> str:
    return a if protocol.PRIORITY_RANK.get(a, 1) >= protocol.PRIORITY_RANK.get(b, 1) else b


def merge_reasons(old: list[str], new: list[str]) -> list[str]:
    merged = list(old)
    for reason in new:
        if reason not in merged:
            merged.append(reason)
    return merged[:MAX_REASONS]


def is_vip(tags_json: str | None) -> bool:
    try:
        return any(str(t).strip().casefold() == "vip" for t in json.loads(tags_json or "[]"))
    except ValueError:
        return False


def assess(rules: Rules, text: str, *, vip: bool, public: bool, unanswered: int) -> priority.Assessment:
    return priority.assess(text, rules=rules.priority, vip=vip, public=public, unanswered_count=unanswered)


def keyword_level(found: priority.Assessment) -> str:
    """The level the message's own words gave (its strongest keyword), without the VIP, public and repeat
    bumps: what Message.urgency keeps."""
    for level in priority.KEYWORD_LEVELS:
        if any(reason.startswith(level + ":") for reason in found.reasons):
            return level
    return "normal"


# -- agent actions -------------------------------------------------------------------------------------------
def stop_clock(conversation: Conversation) -> None:
    conversation.sla_kind = None
    conversation.sla_due_at = None
    conversation.sla_target_seconds = None
    conversation.sla_breached_at = None


def answered(conversation: Conversation, now: datetime, *, session: Session | None = None,
             agent_id: int | None = None) -> None:
    """An agent replied: the customer no longer waits. With a session, the wait that ends here is recorded
    (`record_response`) in the caller's transaction."""
    if session is not None:
        record_response(session, conversation, now, agent_id=agent_id)
    conversation.waiting_since = None
    conversation.unanswered_count = 0
    if conversation.first_replied_at is None:
        conversation.first_replied_at = now
    stop_clock(conversation)


def record_response(session: Session, conversation: Conversation, now: datetime, *,
                    agent_id: int | None = None, rules: Rules | None = None) -> ResponseRecord | None:
    """Adds the ResponseRecord of an answer given at `now` to a waiting customer (with or without a running
    clock), before `answered` clears the wait; None when nobody was waiting. The KPIs read these rows."""
    since = conversation.waiting_since
    if since is None:
        return None
    seconds = max(0, int((now - since).total_seconds()))
    rules = rules or load(session)
    business = seconds
    if rules.sla.business_hours and seconds:
        business = bh.business_seconds_between(rules.hours_for(conversation.channel), since, now)
    due = conversation.sla_due_at if conversation.sla_kind else None
    record = ResponseRecord(
        conversation_id=conversation.id, channel=conversation.channel, agent_id=agent_id,
        kind="first" if conversation.first_replied_at is None else "next", priority=conversation.priority,
        waited_from=since, answered_at=now, seconds=seconds, business_seconds=business,
        target_seconds=conversation.sla_target_seconds if due is not None else None,
        met=None if due is None else now <= due,
    )
    session.add(record)
    return record


def restart_clock(rules: Rules, conversation: Conversation) -> None:
    """Recomputes a running clock (its priority changed by hand)."""
    if conversation.sla_kind and conversation.waiting_since and conversation.sla_breached_at is None:
        due, target = rules.clock(conversation.channel, conversation.priority, conversation.sla_kind,
                                  conversation.waiting_since)
        conversation.sla_due_at, conversation.sla_target_seconds = due, target


# -- the care pass (run by the router) ---------------------------------------------------------------------
@dataclass
class CareResult:
    woken: list[int]
    breached: list[int]
    auto_replies: list[tuple[int, int]]  # (message id, conversation id)


def anything_to_do(session: Session, now: datetime) -> bool:
    if session.exec(select(Conversation.id).where(
            Conversation.status == "snoozed", Conversation.snoozed_until <= now).limit(1)).first():
        return True
    if session.exec(select(Conversation.id).where(
            Conversation.sla_due_at <= now, Conversation.sla_breached_at.is_(None),
            Conversation.status == "open").limit(1)).first():
        return True
    return bool(_auto_reply_candidates(session, load(session), now, limit=1))


def _auto_reply_candidates(session: Session, rules: Rules, now: datetime,
                           limit: int = 500) -> list[tuple[Conversation, str]]:
    """Open conversations whose newest customer message came in during the closed period we are in now, and
    that have not had the out-of-hours reply in it; each with that period's key. The filter is SQL: the
    router asks this on every pass while a channel is closed."""
    if not rules.settings.auto_reply.enabled or not rules.hours:
        return []
    own = sorted(c for c in rules.hours if c != protocol.ANY_CHANNEL)
    found: list[tuple[Conversation, str]] = []
    for channel in own + [protocol.ANY_CHANNEL]:
        key = bh.closed_period_key(rules.hours_for(channel), now)
        if key is None:
            continue
        # The key is the moment the period began (or a marker for hours never open): a customer message at
        # or after it came in during this closed period, since there was no open time between it and now.
        try:
            since = max(datetime.fromisoformat(key), now - timedelta(days=8))
        except ValueError:
            since = now - timedelta(days=8)
        where = [Conversation.status == "open", Conversation.waiting_since.is_not(None),
                 Conversation.last_inbound_at >= since, Conversation.public.is_(False),
                 sa.or_(Conversation.auto_reply_key.is_(None), Conversation.auto_reply_key != key)]
        where.append(Conversation.channel == channel if channel != protocol.ANY_CHANNEL
                     else Conversation.channel.not_in(own) if own else sa.true())
        rows = session.exec(select(Conversation).where(*where)
                            .order_by(Conversation.last_inbound_at.desc()).limit(limit - len(found))).all()
        found.extend((conversation, key) for conversation in rows)
        if len(found) >= limit:
            break
    return found


def auto_reply_text(rules: Rules, channel: str, language: str | None) -> str:
    reply = rules.settings.auto_reply
    lang = language if language in reply.text else ("es" if "es" in reply.text else next(iter(reply.text), "en"))
    template = reply.text.get(lang, "")
    return template.replace("{hours}", bh.describe(rules.hours_for(channel), lang)) \
        .replace("{alternative}", reply.alternative.get(lang, ""))


def tick(session: Session, now: datetime) -> CareResult:
    """Wakes snoozed conversations that are due, marks breached clocks, and queues out-of-hours replies."""
    rules = load(session)
    woken = session.exec(select(Conversation).where(
        Conversation.status == "snoozed", Conversation.snoozed_until <= now).limit(1000)
        .with_for_update(skip_locked=True)).all()
    for conversation in woken:
        conversation.status = "open"
        conversation.snoozed_until = None
        conversation.snooze_until_reply = False
        conversation.version += 1
        conversation.updated_by_agent_id = None
        session.add(conversation)
        changes.record(session, "conversation", conversation.id)
    breached = session.exec(select(Conversation).where(
        Conversation.sla_due_at <= now, Conversation.sla_breached_at.is_(None), Conversation.status == "open")
        .limit(1000).with_for_update(skip_locked=True)).all()
    for conversation in breached:
        conversation.sla_breached_at = now
        session.add(conversation)
        changes.record(session, "conversation", conversation.id)
    replies = []
    candidates = _auto_reply_candidates(session, rules, now)
    if candidates:
        languages = dict(session.exec(select(Customer.id, Customer.language).where(
            Customer.id.in_([c.customer_id for c, _key in candidates]))).all())
    for conversation, key in candidates:
        text = auto_reply_text(rules, conversation.channel, languages.get(conversation.customer_id))
        if not text.strip():
            continue
        message = Message(conversation_id=conversation.id, channel=conversation.channel, direction="out",
                          author_agent_id=None, text=text, kind="auto_reply", delivery_state="pending",
                          created_at=now)
        conversation.auto_reply_key = key
        session.add(message)
        session.add(conversation)
        session.flush()
        changes.record(session, "message", message.id)
        changes.notify_outbox(session, conversation.id)
        replies.append((message.id, conversation.id))
    if replies:
        log.info("queued %d out-of-hours repl%s", len(replies), "y" if len(replies) == 1 else "ies")
    return CareResult([c.id for c in woken], [c.id for c in breached], replies)


# -- the default canned library ---------------------------------------------------------------------------
def seed_canned(session: Session) -> int:
    """Loads the default library (resources/canned) into an empty team library, once."""
    if session.get(ServerMeta, "canned_seeded") is not None:
        return 0
    count = 0
    existing = set(session.exec(select(CannedResponse.key)).all())
    for path in sorted(canned_folder().glob("*.json")):
        for entry in json.loads(path.read_text(encoding="utf-8")):
            if entry["id"] in existing:
                continue
            row = CannedResponse(key=entry["id"], title=entry["title"], shortcut=entry["shortcut"],
                                 category=entry.get("category", "general"), language=entry.get("language", "es"),
                                 body=entry["body"], variants=json.dumps(entry.get("variants") or {}),
                                 keywords=json.dumps(list(entry.get("keywords") or [])))
            session.add(row)
            session.flush()
            changes.record(session, "canned", row.id)
            count += 1
    session.add(ServerMeta(key="canned_seeded", value=utcnow().isoformat()))
    return count


def ensure_seeded(engine) -> None:
    with Session(engine) as session:
        if session.get(ServerMeta, "canned_seeded") is not None:
            return
        try:
            added = seed_canned(session)
            session.commit()
            log.info("default canned library loaded: %d responses", added)
        except sa.exc.IntegrityError:  # another worker did it first
            session.rollback()
