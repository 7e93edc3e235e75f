"""Team operations on the server: who may change a conversation's assignee, the assignment trail, and the
router that distributes the queue.

The router's rules, as a lead reads them:
- Only open conversations without an assignee wait in the queue; the oldest wait (the customer's oldest
  unanswered message, else when the conversation started) is handed out first.
- A conversation goes to an agent who is *available*, *on shift* (an agent without shifts always is) and
  has free capacity for its channel. Among those, the agent with the fewest open and pending conversations
  gets it; equals take turns (the one who was handed a conversation longest ago goes first).
- Capacity is per channel: an agent's own numbers (`{"whatsapp": 3, "*": 5}`, where `*` covers every
  channel without a number of its own), or else the team's default capacity for all channels together.
- When nobody is free, the conversation waits, and goes out the moment someone becomes available, starts a
  shift or frees capacity (the router runs after every change and every couple of seconds).
- Reclaim: a conversation whose customer has waited `reclaim_minutes` for an answer since it was assigned
  goes back to the queue, and to someone else if anyone else is free.
- An agent whose app has been disconnected for `offline_grace_seconds` is set offline; their
  conversations stay with them for the lead to see (reclaim still applies to unanswered ones).
- Switched off (`auto_assign` false), nothing is handed out; agents take from the queue themselves.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from services.teamserver import care, changes, crisis
from services.teamserver.events import Broadcaster
from services.teamserver.models import Agent, Assignment, Conversation, ServerMeta, utcnow
from workstation import protocol

log = logging.getLogger(__name__)

SETTINGS_KEY = "routing"
ROUTER_LOCK = 0x57535254  # "WSRT": one routing pass at a time, whichever worker runs it
LEAD_ROLES = ("lead", "admin")
LOAD_STATUSES = ("open", "pending")
# Statuses a hand-off moves (a resolved conversation keeps who resolved it).
HANDOFF_STATUSES = ("open", "pending", "snoozed")
AUTOMATIC = "automatic distribution"


def is_lead(agent: Agent) -> bool:
    return agent.role in LEAD_ROLES


def load_settings(session: Session) -> protocol.RoutingSettings:
    row = session.get(ServerMeta, SETTINGS_KEY)
    return protocol.RoutingSettings.model_validate_json(row.value) if row else protocol.RoutingSettings()


def save_settings(session: Session, value: protocol.RoutingSettings) -> None:
    row = session.get(ServerMeta, SETTINGS_KEY) or ServerMeta(key=SETTINGS_KEY, value="")
    row.value = value.model_dump_json()
    session.add(row)


def assignment_kind(actor: Agent, before: int | None, after: int | None) -> str:
    if actor.id == after and before is None:
        return "take"
    if actor.id == before and after is None:
        return "release"
    return "manual"


def may_assign(actor: Agent, before: int | None, after: int | None) -> str | None:
    """Why `actor` may not move a conversation from `before` to `after` (None: allowed)."""
    if is_lead(actor) or before == after:
        return None
    if before is None and after == actor.id:
        return None  # taking an unassigned conversation
    if before == actor.id and after is None:
        return None  # giving one's own back to the queue
    if before is None:
        return "only a lead can assign a conversation to someone else"
    return "only a lead can reassign another agent's conversation"


def may_work(actor: Agent, conversation: Conversation) -> str | None:
    """Why `actor` may not reply to or change the status of this conversation (None: allowed)."""
    if is_lead(actor) or conversation.assignee_id in (None, actor.id):
        return None
    return "this conversation is assigned to another agent; ask a lead to reassign it"


def set_assignee(session: Session, conversation: Conversation, to_agent_id: int | None, *, actor_id: int | None,
                 kind: str, reason: str = "", now: datetime | None = None) -> Assignment:
    """Moves the conversation and keeps the move in its trail (the caller commits)."""
    now = now or utcnow()
    entry = Assignment(conversation_id=conversation.id, from_agent_id=conversation.assignee_id,
                       to_agent_id=to_agent_id, actor_agent_id=actor_id, kind=kind, reason=reason, created_at=now)
    if kind != "reclaim":
        conversation.reclaimed_from_agent_id = None
    conversation.assignee_id = to_agent_id
    conversation.assigned_at = now if to_agent_id is not None else None
    conversation.version += 1
    conversation.updated_by_agent_id = actor_id
    session.add(conversation)
    session.add(entry)
    session.flush()
    changes.record(session, "conversation", conversation.id)
    changes.record(session, "assignment", entry.id)
    return entry


def changed_by(session: Session, conversation: Conversation) -> str | None:
    """Who made the conversation's latest status or assignment change, for a 409."""
    if conversation.updated_by_agent_id is not None:
        who = session.get(Agent, conversation.updated_by_agent_id)
        return who.name if who else None
    last = session.exec(select(Assignment).where(Assignment.conversation_id == conversation.id)
                        .order_by(Assignment.id.desc()).limit(1)).first()
    return AUTOMATIC if last is not None and last.actor_agent_id is None else None


# -- the router ------------------------------------------------------------------------------------------
@dataclass
class _Candidate:
    agent: Agent
    caps: dict[str, int]
    loads: dict[str, int] = field(default_factory=dict)  # capacity key → open conversations
    total: int = 0

    def key_for(self, channel: str) -> str:
        return channel if channel in self.caps else protocol.ANY_CHANNEL

    def free(self, channel: str) -> int:
        key = self.key_for(channel)
        return self.caps.get(key, 0) - self.loads.get(key, 0)

    def take(self, channel: str) -> None:
        key = self.key_for(channel)
        self.loads[key] = self.loads.get(key, 0) + 1
        self.total += 1


def capacities(agent: Agent, default_capacity: int) -> dict[str, int]:
    caps = {str(k): int(v) for k, v in json.loads(agent.capacity or "{}").items()}
    caps.setdefault(protocol.ANY_CHANNEL, default_capacity)
    return caps


def _shifts(agent: Agent) -> list[protocol.Shift]:
    return [protocol.Shift.model_validate(s) for s in json.loads(agent.shifts or "[]")]


def agent_on_shift(agent: Agent, now: datetime) -> bool:
    try:
        return protocol.on_shift(_shifts(agent), agent.timezone or "UTC", now)
    except Exception:  # a zone that vanished from the system's tz database: treat as no schedule
        log.warning("agent %s has an unusable schedule; treating them as always on shift", agent.id)
        return True


def _candidates(session: Session, settings: protocol.RoutingSettings, now: datetime) -> list[_Candidate]:
    agents = session.exec(select(Agent).where(Agent.status == "available")).all()
    found = [_Candidate(a, capacities(a, settings.default_capacity)) for a in agents if agent_on_shift(a, now)]
    if not found:
        return []
    by_id = {c.agent.id: c for c in found}
    V = Conversation.__table__
    for agent_id, channel, count in session.connection().execute(
        sa.select(V.c.assignee_id, V.c.channel, sa.func.count())
        .where(V.c.status.in_(LOAD_STATUSES), V.c.assignee_id.in_(list(by_id)))
        .group_by(V.c.assignee_id, V.c.channel)
    ):
        candidate = by_id[agent_id]
        key = candidate.key_for(channel)
        candidate.loads[key] = candidate.loads.get(key, 0) + count
        candidate.total += count
    return found


def mark_disconnected_offline(session: Session, settings: protocol.RoutingSettings, now: datetime) -> list[int]:
    cutoff = now - timedelta(seconds=settings.offline_grace_seconds)
    stale = session.exec(select(Agent).where(
        Agent.status != "offline", sa.or_(Agent.last_seen_at.is_(None), Agent.last_seen_at < cutoff))).all()
    for agent in stale:
        agent.status = "offline"
        agent.status_changed_at = now
        session.add(agent)
        changes.record(session, "agent", agent.id)
        log.info("agent %s set offline: disconnected for over %ss", agent.id, settings.offline_grace_seconds)
    return [a.id for a in stale]


def reclaim(session: Session, settings: protocol.RoutingSettings, now: datetime) -> list[int]:
    if settings.reclaim_minutes <= 0:
        return []
    cutoff = now - timedelta(minutes=settings.reclaim_minutes)
    overdue = session.exec(select(Conversation).where(
        Conversation.status == "open", Conversation.assignee_id.is_not(None),
        Conversation.waiting_since.is_not(None), Conversation.waiting_since <= cutoff,
        Conversation.assigned_at <= cutoff,
    ).order_by(Conversation.waiting_since).limit(1000).with_for_update(skip_locked=True)).all()
    for conversation in overdue:
        previous = conversation.assignee_id
        set_assignee(session, conversation, None, actor_id=None, kind="reclaim",
                     reason=str(settings.reclaim_minutes), now=now)
        conversation.reclaimed_from_agent_id = previous
        session.add(conversation)
    if overdue:
        log.info("reclaimed %d unanswered conversation(s)", len(overdue))
    return [c.id for c in overdue]


def distribute(session: Session, settings: protocol.RoutingSettings, now: datetime) -> list[tuple[int, int]]:
    """Hands queued conversations to free agents; returns (conversation id, agent id) pairs."""
    if not settings.auto_assign:
        return []
    candidates = _candidates(session, settings, now)
    room = sum(max(0, free) for c in candidates for free in (c.caps[k] - c.loads.get(k, 0) for k in c.caps))
    if room <= 0:
        return []
    waiting_order = sa.func.coalesce(Conversation.waiting_since, Conversation.created_at)
    queue = session.exec(select(Conversation).where(
        Conversation.status == "open", Conversation.assignee_id.is_(None),
    ).order_by(waiting_order, Conversation.id).limit(min(room * 4, 2000))
        # A conversation an agent is changing right now is left for the next pass.
        .with_for_update(skip_locked=True)).all()
    epoch = datetime.min.replace(tzinfo=now.tzinfo)
    handed: list[tuple[int, int]] = []
    for conversation in queue:
        free = [c for c in candidates if c.free(conversation.channel) > 0]
        if not free:
            continue
        if len(free) > 1:
            free = [c for c in free if c.agent.id != conversation.reclaimed_from_agent_id] or free
        chosen = min(free, key=lambda c: (c.total, c.agent.last_assigned_at or epoch, c.agent.id))
        set_assignee(session, conversation, chosen.agent.id, actor_id=None, kind="auto", now=now)
        chosen.take(conversation.channel)
        chosen.agent.last_assigned_at = now
        session.add(chosen.agent)
        handed.append((conversation.id, chosen.agent.id))
    return handed


@dataclass
class PassResult:
    offline: list[int] = field(default_factory=list)
    reclaimed: list[int] = field(default_factory=list)
    assigned: list[tuple[int, int]] = field(default_factory=list)
    care: care.CareResult | None = None
    seq: int = 0


def _anything_to_do(engine: Engine, now: datetime) -> bool:
    """A read-only look (no write lock: webhooks keep flowing) at whether a pass would change anything."""
    with Session(engine.execution_options(read_only=True)) as session:
        settings = load_settings(session)
        grace = now - timedelta(seconds=settings.offline_grace_seconds)
        if session.exec(select(Agent.id).where(
                Agent.status != "offline",
                sa.or_(Agent.last_seen_at.is_(None), Agent.last_seen_at < grace)).limit(1)).first():
            return True
        if settings.reclaim_minutes > 0:
            cutoff = now - timedelta(minutes=settings.reclaim_minutes)
            if session.exec(select(Conversation.id).where(
                    Conversation.status == "open", Conversation.assignee_id.is_not(None),
                    Conversation.waiting_since <= cutoff, Conversation.assigned_at <= cutoff).limit(1)).first():
                return True
        if care.anything_to_do(session, now):
            return True
        if not settings.auto_assign:
            return False
        if session.exec(select(Agent.id).where(Agent.status == "available").limit(1)).first() is None:
            return False
        return session.exec(select(Conversation.id).where(
            Conversation.status == "open", Conversation.assignee_id.is_(None)).limit(1)).first() is not None


def route_once(engine: Engine, now: datetime | None = None) -> PassResult:
    """One routing pass in one transaction: disconnected agents go offline, overdue conversations are
    reclaimed, and the queue is handed out."""
    now = now or utcnow()
    if not _anything_to_do(engine, now):
        return PassResult()
    with Session(engine) as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(sa.text(f"SELECT pg_advisory_xact_lock(:k, {changes.SCHEMA_KEY})"), {"k": ROUTER_LOCK})
        settings = load_settings(session)
        result = PassResult()
        result.offline = mark_disconnected_offline(session, settings, now)
        # Snoozed conversations due now wake before the queue is handed out, so they can go out too.
        result.care = care.tick(session, now)
        result.reclaimed = reclaim(session, settings, now)
        result.assigned = distribute(session, settings, now)
        session.commit()
        result.seq = changes.committed_seq(session)
    return result


class Router:
    """Runs routing passes on the worker elected to send replies (or the only worker): after every change
    it hears of (at most every `min_interval`) and every `tick` seconds (shift starts, reclaim deadlines,
    disconnect grace)."""

    def __init__(self, engine: Engine, broadcaster: Broadcaster, *, tick: float = 2.0,
                 min_interval: float = 0.1, on_replies=None) -> None:
        self._engine = engine
        # Called with (message id, conversation id) for each reply the pass queued (out-of-hours replies).
        self._on_replies = on_replies or (lambda message_id, conversation_id: None)
        self._broadcaster = broadcaster
        self._tick = tick
        self._min_interval = min_interval
        self._task: asyncio.Task | None = None
        self.passes = 0
        # The crisis check rides on this loop (so it runs on the elected worker only), at its own pace.
        self._crisis = crisis.Watcher(engine)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._broadcaster.closed:
            seen = self._broadcaster.latest
            try:
                result = await asyncio.to_thread(route_once, self._engine)
                self.passes += 1
                if result.seq:
                    self._broadcaster.publish(result.seq)
                for message_id, conversation_id in (result.care.auto_replies if result.care else []):
                    self._on_replies(message_id, conversation_id)
                    # Our own commit is a change too; don't run again just for it.
                    seen = max(seen, result.seq)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("routing pass failed")
            try:
                crisis_seq = await asyncio.to_thread(self._crisis.run_if_due) if self._crisis.due() else 0
                if crisis_seq:
                    self._broadcaster.publish(crisis_seq)
                    seen = max(seen, crisis_seq)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("crisis check failed")
            await asyncio.sleep(self._min_interval)
            deadline = loop.time() + self._tick
            # Until a change we have not routed after, or the tick (presence wakes the waiters too).
            while (left := deadline - loop.time()) > 0:
                newer = await self._broadcaster.wait_newer(seen, left)
                # A closed broadcaster answers at once without waiting: stop here, or this loop would spin
                # without ever yielding to the event loop (and the server could never shut down).
                if newer is None or newer > seen or self._broadcaster.closed:
                    break
