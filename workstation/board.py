"""The lead board's data, read from the local cache: each agent's status, shift, load and oldest wait, each
agent's open conversations, and the unassigned queue, oldest wait first.

Load and capacity are counted the way the server's router counts them (services/teamserver/routing.py):
open and pending conversations; an agent's own capacity per channel, where "*" covers every channel
without a number of its own and defaults to the team's default capacity.
"""

from __future__ import annotations

import json
import logging
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from workstation import protocol
from workstation.cache import CAgent, CConversation, COutbox, CCustomer, Cache

log = logging.getLogger(__name__)

# Conversations that count as an agent's load and wait in the queue.
LOAD_STATUSES = ("open", "pending")
# Conversations listed per agent and in the queue at most (the counts are always exact).
LIST_LIMIT = 500
DASH = "–"  # en dash between a shift's start and end


@dataclass(frozen=True)
class BoardConversation:
    conversation_id: int
    customer_name: str
    channel: str
    status: str
    preview: str
    assignee_id: int | None
    # Since when the customer has waited: the oldest unanswered message (`waiting`), or for the queue,
    # failing that, the last customer message or the last message.
    waiting_since: datetime | None
    waiting: bool  # the customer has an unanswered message
    last_message_at: datetime | None
    version: int = 1


@dataclass(frozen=True)
class BoardAgent:
    agent_id: int
    name: str
    role: str
    status: str
    status_changed_at: datetime | None
    timezone: str
    shifts: tuple[protocol.Shift, ...]
    on_shift: bool
    # Today's shifts in the agent's own time zone (a shift of yesterday that runs past midnight and is
    # still going comes first), as (start, end) "HH:MM".
    today: tuple[tuple[str, str], ...]
    load: int
    capacity: int
    # Capacity by key (a channel, or protocol.ANY_CHANNEL for every other channel) and the load held against
    # each key; open conversations by channel.
    capacities: dict[str, int] = field(default_factory=dict)
    own_capacity: dict[str, int] = field(default_factory=dict)  # as the agent's row has it (empty: team default)
    key_loads: dict[str, int] = field(default_factory=dict)
    channel_loads: dict[str, int] = field(default_factory=dict)
    oldest_waiting_since: datetime | None = None
    oldest_waiting_id: int | None = None
    known: bool = True  # False: conversations are assigned to an agent id the cache has no row for

    @property
    def has_schedule(self) -> bool:
        return bool(self.shifts)

    @property
    def shift_text(self) -> str:
        """"09:00–17:00", "09:00–13:00, 14:00–18:00"; "" when off today or without a schedule (the UI says
        which, in the user's language: see `has_schedule`)."""
        return ", ".join(f"{start}{DASH}{end}" for start, end in self.today)

    @property
    def free(self) -> int:
        return self.capacity - self.load


@dataclass(frozen=True)
class BoardSnapshot:
    now: datetime
    agents: list[BoardAgent]  # by name
    queue: list[BoardConversation]  # unassigned, open or pending, longest wait first (at most LIST_LIMIT)
    queue_total: int
    conversations: dict[int, list[BoardConversation]]  # agent id -> open/pending, waiting ones first
    default_capacity: int
    # Our own assignment changes still in the outbox: queued, and refused ones with the server's reason.
    queued_moves: int = 0
    failed_moves: dict[int, str] = field(default_factory=dict)

    def agent(self, agent_id: int | None) -> BoardAgent | None:
        return next((a for a in self.agents if a.agent_id == agent_id), None)

    def conversation(self, conversation_id: int) -> BoardConversation | None:
        for row in self.queue:
            if row.conversation_id == conversation_id:
                return row
        for rows in self.conversations.values():
            for row in rows:
                if row.conversation_id == conversation_id:
                    return row
        return None


def parse_shifts(text: str | None) -> tuple[protocol.Shift, ...]:
    try:
        return tuple(protocol.Shift.model_validate(s) for s in json.loads(text or "[]"))
    except ValueError:
        log.warning("unreadable shifts in the cache: %r", text)
        return ()


def parse_capacity(text: str | None) -> dict[str, int]:
    try:
        return {str(k): int(v) for k, v in json.loads(text or "{}").items()}
    except (ValueError, TypeError, AttributeError):
        log.warning("unreadable capacity in the cache: %r", text)
        return {}


def capacities(own: dict[str, int], default_capacity: int) -> dict[str, int]:
    """As the router has it: the agent's own numbers, with "*" (every other channel) at the team's default
    unless the agent has their own."""
    caps = dict(own)
    caps.setdefault(protocol.ANY_CHANNEL, default_capacity)
    return caps


def is_on_shift(shifts: tuple[protocol.Shift, ...] | list[protocol.Shift], zone: str, now: datetime) -> bool:
    try:
        return protocol.on_shift(list(shifts), zone or "UTC", now)
    except Exception:  # a zone missing from this machine's tz database: as the server does, always on shift
        return True


def shifts_today(shifts: tuple[protocol.Shift, ...] | list[protocol.Shift], zone: str,
                 now: datetime) -> tuple[tuple[str, str], ...]:
    """The shifts of the agent's local today, by start; a shift from yesterday that runs past midnight and
    has not ended yet comes first."""
    try:
        local = now.astimezone(ZoneInfo(zone or "UTC"))
    except Exception:
        local = now.astimezone(timezone.utc)
    today, yesterday = local.weekday(), (local.weekday() - 1) % 7
    minute = local.hour * 60 + local.minute
    spans: list[tuple[str, str]] = []
    for shift in sorted(shifts, key=lambda s: s.start):
        overnight = _minutes(shift.end) <= _minutes(shift.start)
        if shift.weekday == yesterday and overnight and minute < _minutes(shift.end):
            spans.append((shift.start, shift.end))
    spans += [(s.start, s.end) for s in sorted(shifts, key=lambda s: s.start) if s.weekday == today]
    return tuple(spans)


def name_key(name: str) -> str:
    """Sorts names as people read them: "Álex" with the A's, case aside."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", name.casefold()) if not unicodedata.combining(ch))


def _minutes(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[3:])


def read_board(cache: Cache, now: datetime | None = None, *, default_capacity: int = 5,
               limit: int = LIST_LIMIT) -> BoardSnapshot:
    """Blocking: run it on the cache's database thread (see `board_snapshot`)."""
    now = now or datetime.now(timezone.utc)
    conv, cust = CConversation.__table__.c, CCustomer.__table__.c
    open_ = conv.status.in_(LOAD_STATUSES)
    columns = (conv.id, cust.display_name, conv.channel, conv.status, conv.last_message_preview, conv.assignee_id,
               conv.waiting_since, conv.last_inbound_at, conv.last_message_at, conv.version)
    with cache.engine.connect() as c:
        agents = [CAgent(**r._mapping) for r in c.execute(sa.select(CAgent)).all()]
        loads = c.execute(
            sa.select(conv.assignee_id, conv.channel, sa.func.count())
            .where(open_, conv.assignee_id.is_not(None)).group_by(conv.assignee_id, conv.channel)
        ).all()
        # Each agent's conversations, the customers waiting longest first, then the most recent; at most
        # `limit` per agent, in one pass.
        rank = sa.func.row_number().over(
            partition_by=conv.assignee_id,
            order_by=(conv.waiting_since.is_(None), conv.waiting_since.asc(), conv.last_message_at.desc(),
                      conv.id.desc()),
        ).label("rank")
        ranked = (sa.select(*columns, rank).join_from(CConversation.__table__, CCustomer.__table__,
                                                      cust.id == conv.customer_id, isouter=True)
                  .where(open_, conv.assignee_id.is_not(None)).subquery())
        assigned = c.execute(sa.select(ranked).where(ranked.c.rank <= limit)
                             .order_by(ranked.c.assignee_id, ranked.c.rank)).all()
        since = sa.func.coalesce(conv.waiting_since, conv.last_inbound_at, conv.last_message_at)
        queued = c.execute(
            sa.select(*columns).join_from(CConversation.__table__, CCustomer.__table__,
                                          cust.id == conv.customer_id, isouter=True)
            .where(open_, conv.assignee_id.is_(None))
            .order_by(since.is_(None), since.asc(), conv.id.asc()).limit(limit)
        ).all()
        queue_total = c.execute(sa.select(sa.func.count()).select_from(CConversation.__table__)
                                .where(open_, conv.assignee_id.is_(None))).scalar_one()
        ops = c.execute(sa.select(COutbox.conversation_id, COutbox.payload, COutbox.state, COutbox.last_error)
                        .where(COutbox.kind == "update").order_by(COutbox.seq)).all()

    queued_moves, failed_moves = 0, {}
    for conversation_id, payload, state, error in ops:
        try:
            moves = bool(json.loads(payload).get("set_assignee"))
        except ValueError:
            moves = False
        if not moves:
            continue
        if state == "failed":
            failed_moves[conversation_id] = error or ""
        else:
            queued_moves += 1

    def row(r, *, queue: bool) -> BoardConversation:
        waiting_since = r.waiting_since
        if queue and waiting_since is None:
            waiting_since = r.last_inbound_at or r.last_message_at
        return BoardConversation(
            conversation_id=r.id, customer_name=r.display_name or "", channel=r.channel, status=r.status,
            preview=r.last_message_preview or "", assignee_id=r.assignee_id, waiting_since=waiting_since,
            waiting=r.waiting_since is not None, last_message_at=r.last_message_at, version=r.version)

    by_agent: dict[int, list[BoardConversation]] = {}
    for r in assigned:
        by_agent.setdefault(r.assignee_id, []).append(row(r, queue=False))
    channel_loads: dict[int, dict[str, int]] = {}
    for agent_id, channel, count in loads:
        channel_loads.setdefault(agent_id, {})[channel] = count

    known_ids = {a.id for a in agents}
    for agent_id in sorted(set(channel_loads) - known_ids):
        # Assigned to an agent this cache has no row for (not synced yet): still on the board, by number.
        agents.append(CAgent(id=agent_id, email="", name=f"#{agent_id}", role="agent", status="offline"))

    board_agents = []
    for agent in agents:
        shifts = parse_shifts(agent.shifts)
        own = parse_capacity(agent.capacity)
        caps = capacities(own, default_capacity)
        per_channel = channel_loads.get(agent.id, {})
        key_loads: dict[str, int] = {}
        for channel, count in per_channel.items():
            key = channel if channel in caps else protocol.ANY_CHANNEL
            key_loads[key] = key_loads.get(key, 0) + count
        mine = by_agent.get(agent.id, [])
        oldest = mine[0] if mine and mine[0].waiting else None
        zone = agent.timezone or "UTC"
        board_agents.append(BoardAgent(
            agent_id=agent.id, name=agent.name, role=agent.role, status=agent.status,
            status_changed_at=agent.status_changed_at, timezone=zone, shifts=shifts,
            on_shift=is_on_shift(shifts, zone, now), today=shifts_today(shifts, zone, now),
            load=sum(per_channel.values()), capacity=sum(caps.values()), capacities=caps, own_capacity=own,
            key_loads=key_loads,
            channel_loads=dict(per_channel),
            oldest_waiting_since=oldest.waiting_since if oldest else None,
            oldest_waiting_id=oldest.conversation_id if oldest else None,
            known=agent.id in known_ids,
        ))
    board_agents.sort(key=lambda a: (not a.known, name_key(a.name), a.agent_id))
    return BoardSnapshot(
        now=now, agents=board_agents, queue=[row(r, queue=True) for r in queued], queue_total=queue_total,
        conversations=by_agent, default_capacity=default_capacity, queued_moves=queued_moves,
        failed_moves=failed_moves)


async def board_snapshot(workspace, now: datetime | None = None, default_capacity: int = 5,
                         limit: int = LIST_LIMIT) -> BoardSnapshot:
    """The board as the workspace's cache has it now, read on the cache's database thread."""
    return await workspace.db.run(lambda: read_board(workspace.cache, now, default_capacity=default_capacity,
                                                     limit=limit))
