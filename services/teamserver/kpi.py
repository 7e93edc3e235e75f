"""The team's KPIs, computed in SQL over the real data, and the cost-per-contact model.

What each figure counts (a range is `start` inclusive to `end` exclusive):
- conversations / inbound: customer messages in the range (and the conversations they belong to);
  outbound: agent replies in the range (automatic out-of-hours replies have no author and do not count).
- first / next response: the ResponseRecord rows answered in the range, in business seconds (each row
  says how its SLA counted the wait); SLA compliance: those with a target, met / total.
- resolved: conversations whose resolution falls in the range (a conversation that reopened and has not
  been resolved again has no resolution); reopened: of those, the ones reopened at least once; resolution
  time: created → resolved on the wall clock, in whole seconds.
- CSAT: answers received in the range (count, average, 1–5 histogram) and surveys sent in the range.
- case types (of the resolutions) and sentiment (of the customer messages): "" counts those without one.
- backlog: open and pending conversations now, whatever the range.
- by agent: replies and responses by their author, resolutions, backlog, customer messages and
  conversations by the conversation's current assignee, CSAT by the survey's agent.

Every figure is an SQL aggregate (GROUP BY, and window functions for the percentiles), the same on SQLite
and PostgreSQL; Python only adds up the small grouped results (channel × agent × a few kinds). Medians and
90th percentiles are nearest-rank: rank ceil(p·n/100) of the sorted values. The grouped query gives each
partition's n (and the sum, for the mean); the ranks wanted follow in Python, and one window query numbers
the values with row_number() over the three partitions (kind; kind and channel; kind and agent) and returns
only the rows at those ranks (a key "kind:…:rank" IN a short list), a few hundred rows at most. Both
queries read one snapshot (a SQLite read transaction; REPEATABLE READ on PostgreSQL), so counts and ranks
agree.

Local hours and weekdays (as an hour of the week, Monday 00:00 = 0): PostgreSQL converts with
`AT TIME ZONE` (the `timezone()` function). SQLite has no time zones, so the zone's UTC offsets over the
range are found in Python (`utc_offsets`, every change of offset to the second) and each message's epoch
second is shifted by the offset in force at its own moment, a CASE over those few boundaries, in integer
arithmetic; a message an hour either side of a DST change lands in its true local hour on both databases.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlmodel import Session

from services.teamserver.models import Agent, Conversation, CsatSurvey, Message, ResponseRecord, ServerMeta, utcnow
from workstation import protocol

log = logging.getLogger(__name__)

COST_KEY = "cost"
MAX_RANGE = timedelta(days=400)
# Backlog age buckets: (name, waits shorter than this); the last one has no upper bound.
AGE_BUCKETS = (("<1h", timedelta(hours=1)), ("1-4h", timedelta(hours=4)), ("4-24h", timedelta(hours=24)),
               ("1-3d", timedelta(days=3)), (">3d", None))
BACKLOG_STATUSES = ("open", "pending")
PERCENTILES = (50, 90)

M, V, R, S, A = (Message.__table__, Conversation.__table__, ResponseRecord.__table__, CsatSurvey.__table__,
                 Agent.__table__)


# -- cost settings --------------------------------------------------------------------------------------------
def load_cost(session: Session) -> protocol.CostSettings:
    row = session.get(ServerMeta, COST_KEY)
    if row is None:
        return protocol.CostSettings()
    try:
        return protocol.CostSettings.model_validate_json(row.value)
    except ValueError:
        log.exception("stored cost settings are unusable; using the defaults")
        return protocol.CostSettings()


def save_cost(session: Session, settings: protocol.CostSettings) -> protocol.CostSettings:
    row = session.get(ServerMeta, COST_KEY) or ServerMeta(key=COST_KEY, value="")
    row.value = settings.model_dump_json()
    session.add(row)
    return settings


def cost_row(channel: str, *, resolved: int, replies: int, settings: protocol.CostSettings) -> protocol.CostRow:
    """The cost model for one slice (formulas in protocol.CostRow); money to cents, computed unrounded."""
    hours = replies * settings.handle_minutes_per_reply / 60
    cost = hours * settings.agent_cost_per_hour
    baseline = resolved * settings.call_deflection * settings.phone_cost_per_contact
    saving = baseline - cost
    return protocol.CostRow(
        channel=channel, resolved=resolved, replies=replies, agent_hours=round(hours, 3), cost=round(cost, 2),
        cost_per_resolved=round(cost / resolved, 2) if resolved else None, phone_baseline=round(baseline, 2),
        saving=round(saving, 2), roi=round(saving / cost, 4) if cost else None,
    )


# -- time zones -----------------------------------------------------------------------------------------------
def check_range(start: datetime, end: datetime, tz: str) -> ZoneInfo:
    """Raises ValueError (with a sentence for the user) unless the range and the zone can be reported."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end need a time zone offset")
    if start >= end:
        raise ValueError("start must be before end")
    if end - start > MAX_RANGE:
        raise ValueError(f"the range is at most {MAX_RANGE.days} days")
    try:
        if not tz or len(tz) > 64 or ".." in tz:
            raise ValueError
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {tz!r}") from None


def utc_offsets(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime | None, int]]:
    """The zone's UTC offsets over [start, end): [(until, offset seconds), …] in order, each offset in force
    before its `until` and from the previous one's; the last has `until` None. Offsets are probed hourly
    (no zone changes twice within an hour) and each change is found to the second by bisection."""

    def offset(ts: int) -> int:
        return int(datetime.fromtimestamp(ts, timezone.utc).astimezone(zone).utcoffset().total_seconds())

    first, last = math.floor(start.timestamp()), math.ceil(end.timestamp())
    out: list[tuple[datetime | None, int]] = []
    current = offset(first)
    t = first
    while t < last:
        probe = min(t + 3600, last)
        if offset(probe) != current:
            lo, hi = t, probe  # offset(lo) == current, offset(hi) differs: the change is in (lo, hi]
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if offset(mid) == current else (lo, mid)
            out.append((datetime.fromtimestamp(hi, timezone.utc), current))
            current = offset(hi)
            t = hi
            continue
        t = probe
    out.append((None, current))
    return out


def _local_hour_of_week(dialect: str, column, tz: str, zone: ZoneInfo, start: datetime, end: datetime):
    """An SQL expression for the local hour of the week (Monday 00:00–00:59 is 0, Sunday 23:00 is 167) of a
    UTC timestamp column."""
    if dialect == "postgresql":
        local = sa.func.timezone(tz, sa.func.timezone("UTC", column))
        return (sa.cast(sa.extract("isodow", local), sa.Integer) - 1) * 24 + sa.cast(sa.extract("hour", local),
                                                                                      sa.Integer)
    segments = utc_offsets(zone, start, end)
    if len(segments) == 1:
        shift = sa.literal(segments[0][1])
    else:
        shift = sa.case(*[(column < until, offset) for until, offset in segments[:-1]], else_=segments[-1][1])
    # Whole epoch seconds, local; 1970-01-01 was a Thursday, so three days on, hours count from a Monday.
    local = sa.cast(sa.func.strftime("%s", column), sa.Integer) + shift + 3 * 86400
    return local // 3600 % 168


def _seconds_between(dialect: str, a, b):
    """Whole seconds from timestamp column `a` to `b`."""
    if dialect == "postgresql":
        return sa.func.round(sa.extract("epoch", b - a))
    return sa.func.round((sa.func.julianday(b) - sa.func.julianday(a)) * 86400.0)


# -- percentiles ----------------------------------------------------------------------------------------------
def _rank(n: int, p: int) -> int:
    """The nearest rank of the p-th percentile of n values: ceil(p·n/100)."""
    return (n * p + 99) // 100


class _Samples:
    """Count and sum of a distribution's values per (kind, dimension, key), added up from grouped rows:
    dimension "all" (key None), "channel" (its name) and "agent" (an id; unassigned values count only in the
    other two)."""

    def __init__(self) -> None:
        self.count: Counter = Counter()
        self.total: Counter = Counter()

    def add(self, kind: str, channel: str, agent: int | None, count: int, total) -> None:
        keys = [(kind, "all", None), (kind, "channel", channel)]
        if agent is not None:
            keys.append((kind, "agent", agent))
        for key in keys:
            self.count[key] += count
            self.total[key] += float(total or 0)


def _distributions(session: Session, src: sa.Subquery, samples: _Samples) -> dict[tuple, protocol.Distribution]:
    """Count, median, p90 and mean of `src.c.v` (columns kind, channel, agent, v: the same rows `samples`
    counted) for every key of `samples`: one window query with three partitions that returns only the rows
    at the wanted ranks."""
    partitions = {"all": (src.c.kind,), "channel": (src.c.kind, src.c.channel), "agent": (src.c.kind, src.c.agent)}
    ranked = sa.select(src.c.kind, src.c.channel, src.c.agent, src.c.v, *[
        sa.func.row_number().over(partition_by=by, order_by=src.c.v).label(f"rn_{name}")
        for name, by in partitions.items()]).subquery()
    # Each wanted row as one text key, "kind:rank" or "kind:channel-or-agent:rank": a text IN list is hashed
    # by PostgreSQL and indexed by SQLite, where a row-value IN list is compared one tuple at a time.
    wanted = []
    for name in partitions:
        targets = sorted({":".join(map(str, [kind, *([] if name == "all" else [key]), _rank(n, p)]))
                          for (kind, dimension, key), n in samples.count.items() if dimension == name and n
                          for p in PERCENTILES})
        if targets:
            key = ranked.c.kind
            for column in ([] if name == "all" else [ranked.c[name]]) + [ranked.c[f"rn_{name}"]]:
                key = key.concat(":").concat(sa.cast(column, sa.String))
            wanted.append(key.in_(targets))
    found: dict[tuple, dict] = {}
    if wanted:
        for row in session.execute(sa.select(ranked).where(sa.or_(*wanted))).mappings():
            for name in partitions:
                key = (row["kind"], name, None if name == "all" else row[name])
                n = samples.count.get(key, 0)
                for p, field in zip(PERCENTILES, ("median", "p90")):
                    if n and row[f"rn_{name}"] == _rank(n, p):
                        found.setdefault(key, {})[field] = float(row["v"])
    return {key: protocol.Distribution(count=n, mean=round(samples.total[key] / n, 3), **found.get(key, {}))
            for key, n in samples.count.items() if n}


# -- the report -----------------------------------------------------------------------------------------------
def report(session: Session, start: datetime, end: datetime, *, tz: str = "UTC", channel: str | None = None,
           agent_id: int | None = None, now: datetime | None = None,
           channel_labels: Mapping[str, str] | None = None) -> protocol.KpiReport:
    """The KPI report for [start, end), optionally for one channel and/or one agent (then `by_agent` holds
    only that agent). `now` is the moment the backlog is measured at. Raises ValueError for a range or a
    zone that cannot be reported (see `check_range`)."""
    zone = check_range(start, end, tz)
    now = now or utcnow()
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql" and not session.in_transaction():
        # One snapshot for every query: the percentile ranks come from counts taken by an earlier query.
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    tallies: dict[tuple, Counter] = {}

    def add(channel_name: str, agent: int | None, **counts: int) -> None:
        tallies.setdefault(("channel", channel_name), Counter()).update(counts)
        if agent is not None:
            tallies.setdefault(("agent", agent), Counter()).update(counts)

    # Customer messages and their conversations, by the conversation's assignee.
    in_range = [M.c.created_at >= start, M.c.created_at < end]
    if channel is not None:
        in_range.append(M.c.channel == channel)
    inbound = sa.select(V.c.channel, V.c.assignee_id, sa.func.count(),
                        sa.func.count(sa.distinct(M.c.conversation_id))) \
        .select_from(M.join(V, V.c.id == M.c.conversation_id)).where(*in_range, M.c.direction == "in")
    if agent_id is not None:
        inbound = inbound.where(V.c.assignee_id == agent_id)
    for ch, agent, count, conversations in session.execute(inbound.group_by(V.c.channel, V.c.assignee_id)):
        add(ch, agent, inbound=count, conversations=conversations)
    # Agent replies, by their author (out-of-hours replies have none). Grouped by `channel || ''`: by the bare
    # column, SQLite (without statistics) walks the (channel, provider_id) index for its order, a random read
    # per message of the whole table, instead of scanning it.
    reply_channel = M.c.channel.concat(sa.literal_column("''"))
    outbound = sa.select(reply_channel, M.c.author_agent_id, sa.func.count()).where(
        *in_range, M.c.direction == "out",
        M.c.author_agent_id.is_not(None) if agent_id is None else M.c.author_agent_id == agent_id)
    for ch, agent, count in session.execute(outbound.group_by(reply_channel, M.c.author_agent_id)):
        add(ch, agent, outbound=count)

    # Volume by local hour of the week, and sentiment, of the customer messages.
    how = _local_hour_of_week(dialect, M.c.created_at, tz, zone, start, end)
    volume = sa.select(how.label("how"), M.c.sentiment.label("sentiment")).where(*in_range, M.c.direction == "in")
    if agent_id is not None:
        volume = volume.join(V, V.c.id == M.c.conversation_id).where(V.c.assignee_id == agent_id)
    sub = volume.subquery()
    by_hour, by_weekday, sentiment = [0] * 24, [0] * 7, Counter()
    for hour_of_week, mood, count in session.execute(
            sa.select(sub.c.how, sub.c.sentiment, sa.func.count()).group_by(sub.c.how, sub.c.sentiment)):
        weekday, hour = divmod(int(hour_of_week), 24)
        by_hour[hour] += count
        by_weekday[weekday] += count
        sentiment[mood or ""] += count

    # Responses (by their agent): counts and SLA per channel, agent and kind; their distributions.
    responses = [R.c.answered_at >= start, R.c.answered_at < end]
    if channel is not None:
        responses.append(R.c.channel == channel)
    if agent_id is not None:
        responses.append(R.c.agent_id == agent_id)
    waits = _Samples()
    for ch, agent, kind, count, total, met, with_target in session.execute(
            sa.select(R.c.channel, R.c.agent_id, R.c.kind, sa.func.count(), sa.func.sum(R.c.business_seconds),
                      sa.func.sum(sa.case((R.c.met.is_(True), 1), else_=0)), sa.func.count(R.c.met))
            .where(*responses).group_by(R.c.channel, R.c.agent_id, R.c.kind)):
        add(ch, agent, responses=count, sla_met=int(met or 0), sla_total=with_target)
        waits.add(kind, ch, agent, count, total)
    dists = _distributions(session, sa.select(
        R.c.kind.label("kind"), R.c.channel.label("channel"), R.c.agent_id.label("agent"),
        R.c.business_seconds.label("v")).where(*responses).subquery(), waits)

    # Resolutions (by assignee): counts, reopened, case types; resolution times.
    resolutions = [V.c.resolved_at >= start, V.c.resolved_at < end]
    if channel is not None:
        resolutions.append(V.c.channel == channel)
    if agent_id is not None:
        resolutions.append(V.c.assignee_id == agent_id)
    took = _seconds_between(dialect, V.c.created_at, V.c.resolved_at)
    case_types: Counter = Counter()
    durations = _Samples()
    for ch, agent, case_type, count, reopened, total in session.execute(
            sa.select(V.c.channel, V.c.assignee_id, V.c.case_type, sa.func.count(),
                      sa.func.sum(sa.case((V.c.reopened_count > 0, 1), else_=0)), sa.func.sum(took))
            .where(*resolutions).group_by(V.c.channel, V.c.assignee_id, V.c.case_type)):
        add(ch, agent, resolved=count, reopened=int(reopened or 0))
        case_types[case_type or ""] += count
        durations.add("resolution", ch, agent, count, total)
    dists.update(_distributions(session, sa.select(
        sa.literal("resolution").label("kind"), V.c.channel.label("channel"), V.c.assignee_id.label("agent"),
        took.label("v")).where(*resolutions).subquery(), durations))

    # CSAT: answers received and surveys sent in the range (by the survey's agent).
    surveys = []
    if channel is not None:
        surveys.append(S.c.channel == channel)
    if agent_id is not None:
        surveys.append(S.c.agent_id == agent_id)
    scores: Counter = Counter({str(score): 0 for score in range(1, 6)})
    for ch, agent, score, count in session.execute(
            sa.select(S.c.channel, S.c.agent_id, S.c.score, sa.func.count())
            .where(S.c.answered_at >= start, S.c.answered_at < end, S.c.score.is_not(None), *surveys)
            .group_by(S.c.channel, S.c.agent_id, S.c.score)):
        add(ch, agent, csat_count=count, csat_sum=count * score)
        scores[str(score)] += count
    for ch, agent, count in session.execute(
            sa.select(S.c.channel, S.c.agent_id, sa.func.count())
            .where(S.c.sent_at >= start, S.c.sent_at < end, *surveys).group_by(S.c.channel, S.c.agent_id)):
        add(ch, agent, csat_sent=count)

    # The rows.
    totals: Counter = Counter()
    for (dimension, _), counter in tallies.items():
        if dimension == "channel":
            totals.update(counter)
    labels = dict(channel_labels or {})
    channels = sorted({key for dimension, key in tallies if dimension == "channel"} | (
        {channel} if channel is not None else set()))
    agent_ids = {key for dimension, key in tallies if dimension == "agent"}
    agent_ids |= {key for (_, dimension, key) in dists if dimension == "agent" and key is not None}
    if agent_id is not None:
        agent_ids = {agent_id}
    names = dict(session.execute(sa.select(A.c.id, A.c.name).where(A.c.id.in_(sorted(agent_ids)))).all()) \
        if agent_ids else {}
    by_channel = [_row(ch, labels.get(ch, ch), tallies.get(("channel", ch), Counter()), dists, "channel", ch)
                  for ch in channels]
    by_agent = sorted((_row(str(a), names.get(a, ""), tallies.get(("agent", a), Counter()), dists, "agent", a)
                       for a in agent_ids if a in names), key=lambda row: (row.label.casefold(), int(row.key)))
    settings = load_cost(session)
    cost = [cost_row(row.key, resolved=row.resolved, replies=row.outbound, settings=settings) for row in by_channel]
    cost.append(cost_row("all", resolved=totals["resolved"], replies=totals["outbound"], settings=settings))
    return protocol.KpiReport(
        start=start, end=end, timezone=tz, channel=channel, agent_id=agent_id,
        totals=_row("all", "", totals, dists, "all", None), by_channel=by_channel, by_agent=by_agent,
        volume_by_hour=by_hour, volume_by_weekday=by_weekday,
        backlog=backlog(session, now, channel=channel, agent_id=agent_id),
        case_types=dict(sorted(case_types.items())), sentiment=dict(sorted(sentiment.items())),
        csat_scores=dict(scores), cost_settings=settings, cost=cost,
    )


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _row(key: str, label: str, c: Counter, dists: dict, dimension: str, dim_key) -> protocol.KpiRow:
    def dist(kind: str) -> protocol.Distribution:
        return dists.get((kind, dimension, dim_key)) or protocol.Distribution()

    return protocol.KpiRow(
        key=key, label=label, conversations=c["conversations"], inbound=c["inbound"], outbound=c["outbound"],
        resolved=c["resolved"], reopened=c["reopened"], reopen_rate=_ratio(c["reopened"], c["resolved"]),
        first_response=dist("first"), next_response=dist("next"), resolution=dist("resolution"),
        sla_met=c["sla_met"], sla_total=c["sla_total"], sla_compliance=_ratio(c["sla_met"], c["sla_total"]),
        csat_count=c["csat_count"], csat_average=round(c["csat_sum"] / c["csat_count"], 3) if c["csat_count"] else None,
        csat_sent=c["csat_sent"],
    )


def backlog(session: Session, now: datetime, *, channel: str | None = None,
            agent_id: int | None = None) -> protocol.Backlog:
    """Open and pending conversations at `now` (for one channel / assignee), and how long their customers
    have waited."""
    where = [V.c.status.in_(BACKLOG_STATUSES)]
    if channel is not None:
        where.append(V.c.channel == channel)
    if agent_id is not None:
        where.append(V.c.assignee_id == agent_id)
    waiting = V.c.waiting_since
    buckets, lower = [], None
    for name, upper in AGE_BUCKETS:
        # Waited at least `lower` (since at or before now − lower) and less than `upper` (since after now − upper).
        cond = [waiting.is_not(None)]
        if lower is not None:
            cond.append(waiting <= now - lower)
        if upper is not None:
            cond.append(waiting > now - upper)
        buckets.append(sa.func.sum(sa.case((sa.and_(*cond), 1), else_=0)).label(name))
        lower = upper
    breached = sa.or_(V.c.sla_breached_at.is_not(None), V.c.sla_due_at <= now)
    row = session.execute(sa.select(
        sa.func.count().label("open"),
        sa.func.sum(sa.case((waiting.is_not(None), 1), else_=0)).label("waiting"),
        sa.func.sum(sa.case((breached, 1), else_=0)).label("breached"),
        sa.func.min(waiting).label("oldest"), *buckets).where(*where)).mappings().one()
    oldest = row["oldest"]
    return protocol.Backlog(
        open=row["open"], waiting=int(row["waiting"] or 0), breached=int(row["breached"] or 0),
        oldest_wait_seconds=max(0.0, (now - oldest).total_seconds()) if oldest is not None else None,
        age={name: int(row[name] or 0) for name, _ in AGE_BUCKETS},
    )
