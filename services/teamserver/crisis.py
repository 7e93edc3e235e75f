"""Crisis detection: a spike of negative or urgent customer messages (overall and per topic) against the usual
level for that time of day raises an alert; crisis mode (a lead's switch) pins the crisis responses and
raises conversations about the crisis to urgent.

The rule, as a lead reads it (the numbers are `protocol.CrisisSettings`):
- A message counts when it is a customer's (inbound) and negative (services/teamserver/sentiment.py) or the
  priority rules gave it high or urgent. It belongs to a topic when one of the topic's keywords is part of
  its text (case and accents ignored: "caído" finds "CAÍDO" and "caido").
- Every `check_seconds` (the router runs the check) the messages of the last `window_minutes` are counted,
  overall and per topic, in SQL. The usual count is the median, over the last `history_days` days the
  server already had messages, of each day's level at the same time of day (the hour around the window,
  scaled to one window), or the level of the two hours before the window, whichever is higher: a daily
  peak is usual because it happens every day, and a quiet first day still has a level to compare with.
- Alert when count ≥ max(min_count, ratio × usual, usual + sigmas × √usual) (√usual: the Poisson noise of a
  count). With no history at all, a topic alerts at `min_count`; the overall count waits until there is
  some (a busy team always has many negative messages; without their usual level, any number is a guess).
- While the count stays at or over the threshold the alert is kept up to date (its highest count); once the
  count has stayed under the threshold for a whole window, the alert ends.
- Crisis mode on: open conversations with a message about the crisis in the last window are raised to
  urgent (reason "crisis:<topic>", or "crisis" for the overall count), at once and at every check, and
  every new message about it is urgent from ingest on. About the crisis: a keyword of a topic that has an
  alert (or had one when the mode started); with only the overall alert, or none, any negative or urgent
  message.

Detection delay: an alert is raised by the first check after the window count reaches the threshold, so
at most `check_seconds` (plus one router tick) after the message that crossed it was stored.

Alerts are not a sync entity: clients poll GET /v1/crisis. Conversations raised here are recorded in the
change log as usual.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import statistics
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from services.teamserver import care, changes
from services.teamserver.db import read_only
from services.teamserver.models import Agent, Conversation, CrisisAlert, Message, ServerMeta, utcnow
from workstation import protocol

log = logging.getLogger(__name__)

SETTINGS_KEY = "crisis"
CRISIS_LOCK = 0x57534352  # "WSCR": one crisis check at a time, whichever worker runs it
OPEN = ("active", "acknowledged")
COUNTED_URGENCY = ("high", "urgent")
RAISE_STATUSES = ("open", "pending")
# The level just before the window: a fallback (and a floor) for the seasonal one.
LOOKBACK = timedelta(hours=2)
# On each past day the usual level is read from this much time around the window's time of day (scaled to
# one window): counts of a single 15-minute window are too few to tell a day's level from chance.
SEASONAL_SPAN = timedelta(hours=1)
SAMPLE_SIZE = 5
SAMPLE_CHARS = 280
MAX_RAISE = 2000
RECENT_ENDED = timedelta(days=1)
MAX_ENDED_SHOWN = 20
MIN_CHECK_GAP = 1.0  # seconds: the router may run many times a second; the settings are read at most this often

M = Message.__table__
V = Conversation.__table__


class Stored(BaseModel):
    """What ServerMeta["crisis"] holds: the settings and crisis mode."""

    settings: protocol.CrisisSettings = protocol.CrisisSettings()
    mode: protocol.CrisisMode = protocol.CrisisMode()


@functools.lru_cache(maxsize=8)
def _parse(raw: str) -> Stored:
    return Stored.model_validate_json(raw)


_DEFAULT = Stored()


def load(session: Session, *, for_update: bool = False) -> Stored:
    """The stored settings and mode (shared, parsed once per distinct value: do not change it in place)."""
    row = session.get(ServerMeta, SETTINGS_KEY, with_for_update=for_update or None)
    if row is None:
        return _DEFAULT
    try:
        return _parse(row.value)
    except ValueError:
        log.exception("stored crisis settings are unusable; using the defaults")
        return _DEFAULT


def save(session: Session, stored: Stored) -> None:
    row = session.get(ServerMeta, SETTINGS_KEY, with_for_update=True) or ServerMeta(key=SETTINGS_KEY, value="")
    row.value = stored.model_dump_json()
    session.add(row)


def threshold(settings: protocol.CrisisSettings, baseline: float) -> float:
    baseline = max(0.0, baseline)
    return max(float(settings.min_count), settings.ratio * baseline, baseline + settings.sigmas * math.sqrt(baseline))


# -- matching a topic's keywords (in SQL and, the same way, in Python) -------------------------------------------
def _fold(text: str) -> str:
    """What the SQL side does to a text before looking for keywords: lower case, typographic apostrophes plain."""
    return text.lower().replace("\u2019", "'")


def _plain(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


@functools.lru_cache(maxsize=256)
def variants(keywords: tuple[str, ...]) -> tuple[str, ...]:
    """Each keyword as written (folded) and without accents: "caído" finds "caído" and "caido"."""
    out: list[str] = []
    for keyword in keywords:
        folded = _fold(" ".join(keyword.split()))
        for value in (folded, _plain(folded)):
            if value and value not in out:
                out.append(value)
    return tuple(out)


def matches(text: str, found: tuple[str, ...]) -> bool:
    folded = _fold(text)
    return any(v in folded for v in found)


def _sql_text():
    return sa.func.lower(sa.func.replace(M.c.text, "\u2019", "'"))


@functools.lru_cache(maxsize=64)
def _sql_match(found: tuple[str, ...]):
    text = _sql_text()
    return sa.or_(*[text.contains(v, autoescape=True) for v in found]) if found else sa.false()


def _counted():
    """A customer message that is negative or urgent."""
    return sa.and_(M.c.direction == "in", sa.or_(M.c.sentiment == "negative", M.c.urgency.in_(COUNTED_URGENCY)))


def _topic_keywords(settings: protocol.CrisisSettings, topic: str) -> tuple[str, ...]:
    return variants(tuple(settings.topics.get(topic, ())))


# -- measuring --------------------------------------------------------------------------------------------------
@dataclass
class Level:
    count: int = 0
    baseline: float = 0.0
    known: bool = False  # there was history to take the usual level from


def history_start(session: Session) -> datetime | None:
    """When the first customer message came in (by primary key: no scan of the table by time)."""
    return session.exec(select(Message.created_at).where(Message.direction == "in")
                        .order_by(Message.id).limit(1)).first()


def _counts(session: Session, settings: protocol.CrisisSettings,
            intervals: list[tuple[datetime, datetime]]) -> list[dict[str, int]]:
    """For each interval [start, end): counted messages overall ("") and per topic, in one grouped query."""
    topics = list(settings.topics)
    ranges = [sa.and_(M.c.created_at >= start, M.c.created_at < end) for start, end in intervals]
    bucket = sa.case(*[(r, i) for i, r in enumerate(ranges)], else_=-1).label("b")
    flags = [sa.case((_sql_match(_topic_keywords(settings, t)), 1), else_=0).label(f"t{i}")
             for i, t in enumerate(topics)]
    rows = sa.select(bucket, *flags).where(_counted(), sa.or_(*ranges)).subquery()
    query = sa.select(rows.c.b, sa.func.count(), *[sa.func.sum(rows.c[f"t{i}"]) for i in range(len(topics))]) \
        .group_by(rows.c.b)
    out: list[dict[str, int]] = [{"": 0, **{t: 0 for t in topics}} for _ in intervals]
    for row in session.connection().execute(query):
        if 0 <= row[0] < len(intervals):
            out[row[0]][""] = int(row[1])
            for i, topic in enumerate(topics):
                out[row[0]][topic] = int(row[2 + i] or 0)
    return out


def measure(session: Session, settings: protocol.CrisisSettings, now: datetime,
            start: datetime | None = None) -> dict[str, Level]:
    """The count of the window ending `now` and its usual level, overall ("") and per topic."""
    start = start if start is not None else history_start(session)
    window = timedelta(minutes=settings.window_minutes)
    span = max(window, SEASONAL_SPAN)
    intervals = [(now - window, now)]
    days: list[int] = []
    recent: int | None = None
    recent_span = timedelta(0)
    if start is not None:
        for day in range(1, settings.history_days + 1):
            begin = now - window / 2 - timedelta(days=day) - span / 2
            if begin >= start:
                days.append(len(intervals))
                intervals.append((begin, begin + span))
        begin, end = max(now - window - LOOKBACK, start), now - window
        if end - begin >= window / 2:
            recent, recent_span = len(intervals), end - begin
            intervals.append((begin, end))
    counts = _counts(session, settings, intervals)
    levels: dict[str, Level] = {}
    for topic in ["", *settings.topics]:
        usual: list[float] = []
        if days:
            usual.append(float(statistics.median(counts[i][topic] for i in days)) * (window / span))
        if recent is not None:
            usual.append(counts[recent][topic] * (window / recent_span))
        levels[topic] = Level(count=counts[0][topic], baseline=max(usual) if usual else 0.0, known=bool(usual))
    return levels


# -- deciding -------------------------------------------------------------------------------------------------
@dataclass
class Plan:
    raise_topics: list[str] = field(default_factory=list)
    keep: list[int] = field(default_factory=list)  # alert ids still over their threshold
    end: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.raise_topics or self.keep or self.end)


def decide(settings: protocol.CrisisSettings, levels: dict[str, Level], open_alerts: list[CrisisAlert],
           now: datetime) -> Plan:
    plan = Plan()
    window = timedelta(minutes=settings.window_minutes)
    alerted = set()
    for alert in open_alerts:
        alerted.add(alert.topic)
        level = levels.get(alert.topic, Level())
        if level.count >= threshold(settings, alert.baseline):
            plan.keep.append(alert.id)
        elif now - alert.last_seen_at >= window:
            plan.end.append(alert.id)
    if settings.enabled:
        for topic, level in levels.items():
            if topic in alerted or (topic == "" and not level.known):
                continue
            if level.count >= threshold(settings, level.baseline):
                plan.raise_topics.append(topic)
    return plan


def _sample(session: Session, settings: protocol.CrisisSettings, topic: str, since: datetime,
            now: datetime) -> list[dict]:
    conditions = [_counted(), M.c.created_at >= since, M.c.created_at <= now]
    if topic:
        conditions.append(_sql_match(_topic_keywords(settings, topic)))
    rows = session.connection().execute(
        sa.select(M.c.id, M.c.conversation_id, M.c.text, M.c.created_at).where(*conditions)
        .order_by(M.c.created_at.desc(), M.c.id.desc()).limit(SAMPLE_SIZE))
    return [{"message_id": r.id, "conversation_id": r.conversation_id, "text": r.text[:SAMPLE_CHARS],
             "created_at": r.created_at.isoformat()} for r in rows]


@dataclass
class CheckResult:
    raised: list[int] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)
    ended: list[int] = field(default_factory=list)
    conversations: list[int] = field(default_factory=list)  # raised to urgent by crisis mode
    seq: int = 0
    check_seconds: int = protocol.CrisisSettings().check_seconds


def _open_alerts(session: Session, *, lock: bool = False) -> list[CrisisAlert]:
    query = select(CrisisAlert).where(CrisisAlert.status.in_(OPEN)).order_by(CrisisAlert.id)
    return list(session.exec(query.with_for_update() if lock else query).all())


def check(engine: Engine, now: datetime | None = None) -> CheckResult:
    """One crisis check at `now`: raises, keeps and ends alerts, and (crisis mode on) raises conversations.
    Reads first without a write lock; writes only when something changes."""
    now = now or utcnow()
    with Session(read_only(engine)) as session:
        stored = load(session)
        settings = stored.settings
        result = CheckResult(check_seconds=settings.check_seconds)
        alerts = _open_alerts(session)
        if not settings.enabled and not alerts and not stored.mode.active:
            return result
        levels = measure(session, settings, now)
        plan = decide(settings, levels, alerts, now)
        candidates = _raise_candidates(session, stored, now) if stored.mode.active else []
    if not plan and not candidates:
        return result
    with Session(engine) as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(sa.text(f"SELECT pg_advisory_xact_lock(:k, {changes.SCHEMA_KEY})"), {"k": CRISIS_LOCK})
        stored = load(session, for_update=True)
        alerts = _open_alerts(session, lock=True)
        plan = decide(settings, levels, alerts, now)  # again, under the lock: another worker may have acted
        by_id = {a.id: a for a in alerts}
        window = timedelta(minutes=settings.window_minutes)
        for alert_id in plan.keep:
            alert = by_id[alert_id]
            alert.last_seen_at = max(alert.last_seen_at, now)
            alert.window_count = max(alert.window_count, levels.get(alert.topic, Level()).count)
            session.add(alert)
            result.kept.append(alert_id)
        for alert_id in plan.end:
            alert = by_id[alert_id]
            alert.status, alert.ended_at = "ended", now
            session.add(alert)
            result.ended.append(alert_id)
            log.info("crisis alert %s (%s) ended", alert_id, alert.topic or "overall")
        for topic in plan.raise_topics:
            level = levels[topic]
            alert = CrisisAlert(topic=topic, status="active", started_at=now, last_seen_at=now,
                                window_count=level.count, baseline=round(level.baseline, 3),
                                sample=json.dumps(_sample(session, settings, topic, now - window, now)))
            session.add(alert)
            session.flush()
            result.raised.append(alert.id)
            log.warning("crisis alert %s: %d negative or urgent messages%s in %d min (usual %.1f)", alert.id,
                        level.count, f" about {topic!r}" if topic else "", settings.window_minutes, level.baseline)
        if stored.mode.active:
            topics = sorted(set(stored.mode.topics) | set(plan.raise_topics))
            if topics != sorted(stored.mode.topics):
                stored = stored.model_copy(update={"mode": stored.mode.model_copy(update={"topics": topics})})
                save(session, stored)
            result.conversations = raise_conversations(session, stored, now)
        session.commit()
        result.seq = changes.committed_seq(session)
    return result


class Watcher:
    """Runs `check` from the router's loop, at most every `check_seconds` (read from the settings)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._last = -math.inf
        self._looked = -math.inf

    def due(self) -> bool:
        """Whether `run_if_due` might run a check now (no database read: the router asks on every pass)."""
        return time.monotonic() - self._looked >= MIN_CHECK_GAP

    def run_if_due(self) -> int:
        """The change-log sequence the check committed (0: none)."""
        now = time.monotonic()
        if now - self._looked < MIN_CHECK_GAP:
            return 0
        self._looked = now
        with Session(read_only(self._engine)) as session:
            interval = load(session).settings.check_seconds
        if now - self._last < interval:
            return 0
        self._last = now
        return check(self._engine).seq


# -- crisis mode ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModeMatcher:
    """What counts as "about the crisis" while crisis mode is on, for ingest."""

    topics: tuple[tuple[str, tuple[str, ...]], ...]  # (topic, keyword variants)
    overall: bool  # any negative or urgent message

    def reasons(self, text: str, sentiment: str | None, urgency: str | None) -> list[str]:
        found = [f"crisis:{topic}" for topic, keywords in self.topics if matches(text, keywords)]
        if not found and self.overall and (sentiment == "negative" or urgency in COUNTED_URGENCY):
            found = ["crisis"]
        return found


def _mode_topics(stored: Stored) -> tuple[list[str], bool]:
    named = [t for t in stored.mode.topics if t and t in stored.settings.topics]
    return named, "" in stored.mode.topics or not named


@functools.lru_cache(maxsize=16)
def _matcher(topics: tuple[tuple[str, tuple[str, ...]], ...], overall: bool) -> ModeMatcher:
    return ModeMatcher(tuple((t, variants(k)) for t, k in topics), overall)


_STORED_VALUE = sa.select(ServerMeta.__table__.c.value).where(ServerMeta.__table__.c.key == SETTINGS_KEY)


def for_ingest(session: Session) -> ModeMatcher | None:
    """None unless crisis mode is on (one primary-key read per ingest group, in Core: the ORM's identity map
    costs four times as much here)."""
    raw = session.connection().execute(_STORED_VALUE).scalar()
    try:
        stored = _parse(raw) if raw is not None else _DEFAULT
    except ValueError:
        return None
    if not stored.mode.active:
        return None
    named, overall = _mode_topics(stored)
    return _matcher(tuple((t, tuple(stored.settings.topics[t])) for t in named), overall)


def _raise_candidates(session: Session, stored: Stored, now: datetime) -> list[tuple[int, list[str]]]:
    """(conversation id, reasons) of open conversations not urgent yet with a message about the crisis in
    the last window."""
    named, overall = _mode_topics(stored)
    conditions = [(f"crisis:{t}", _sql_match(_topic_keywords(stored.settings, t))) for t in named]
    if overall:
        conditions.append(("crisis", sa.or_(M.c.sentiment == "negative", M.c.urgency.in_(COUNTED_URGENCY))))
    since = now - timedelta(minutes=stored.settings.window_minutes)
    flags = [sa.func.max(sa.case((condition, 1), else_=0)) for _, condition in conditions]
    rows = session.connection().execute(
        sa.select(M.c.conversation_id, *flags).select_from(M.join(V, V.c.id == M.c.conversation_id))
        .where(M.c.direction == "in", M.c.created_at >= since, M.c.created_at <= now,
               V.c.status.in_(RAISE_STATUSES), V.c.priority != "urgent", sa.or_(*[c for _, c in conditions]))
        .group_by(M.c.conversation_id).order_by(M.c.conversation_id).limit(MAX_RAISE))
    out = []
    for row in rows:
        reasons = [reason for (reason, _), flag in zip(conditions, row[1:]) if flag]
        # "crisis" only when nothing more specific matched.
        out.append((row[0], [r for r in reasons if r != "crisis"] or reasons))
    return out


def raise_conversations(session: Session, stored: Stored, now: datetime) -> list[int]:
    """Crisis mode: raises the conversations about the crisis to urgent (the caller commits)."""
    if not stored.mode.active:
        return []
    candidates = dict(_raise_candidates(session, stored, now))
    if not candidates:
        return []
    rules = care.load(session)
    raised = []
    for conversation in session.exec(select(Conversation).where(Conversation.id.in_(list(candidates)))
                                     .with_for_update(skip_locked=True)).all():
        if conversation.priority == "urgent" or conversation.status not in RAISE_STATUSES:
            continue
        conversation.priority = "urgent"
        conversation.priority_reasons = json.dumps(care.merge_reasons(
            json.loads(conversation.priority_reasons or "[]"), candidates[conversation.id]))
        care.restart_clock(rules, conversation)
        session.add(conversation)
        changes.record(session, "conversation", conversation.id)
        raised.append(conversation.id)
    if raised:
        log.info("crisis mode raised %d conversation(s) to urgent", len(raised))
    return raised


def set_mode(session: Session, agent: Agent, active: bool, now: datetime | None = None) -> tuple[Stored, list[int]]:
    """Switches crisis mode (the caller commits); returns the new state and the conversations raised."""
    now = now or utcnow()
    stored = load(session, for_update=True)
    if active:
        topics = sorted({a.topic for a in _open_alerts(session)} | set(stored.mode.topics if stored.mode.active
                                                                        else ()))
        mode = stored.mode.model_copy(update={"topics": topics}) if stored.mode.active else protocol.CrisisMode(
            active=True, since=now, by_agent_id=agent.id, by_name=agent.name, topics=topics)
    else:
        mode = protocol.CrisisMode()
    stored = stored.model_copy(update={"mode": mode})
    save(session, stored)
    log.info("crisis mode %s by agent %s", "on" if active else "off", agent.id)
    return stored, raise_conversations(session, stored, now) if active else []


def set_settings(session: Session, settings: protocol.CrisisSettings) -> Stored:
    stored = load(session, for_update=True).model_copy(update={"settings": settings})
    save(session, stored)
    return stored


# -- what clients see -----------------------------------------------------------------------------------------
def alert_public(alert: CrisisAlert, settings: protocol.CrisisSettings, names: dict[int, str]) -> \
        protocol.CrisisAlertPublic:
    try:
        sample = [protocol.CrisisSample.model_validate(s) for s in json.loads(alert.sample or "[]")]
    except ValueError:
        sample = []
    return protocol.CrisisAlertPublic(
        id=alert.id, topic=alert.topic, status=alert.status, started_at=alert.started_at,
        last_seen_at=alert.last_seen_at, ended_at=alert.ended_at, window_count=alert.window_count,
        baseline=alert.baseline, window_minutes=settings.window_minutes, sample=sample,
        acknowledged_by_agent_id=alert.acknowledged_by_agent_id,
        acknowledged_by_name=names.get(alert.acknowledged_by_agent_id or 0, ""))


def public(session: Session, lang: str, now: datetime | None = None) -> protocol.CrisisPublic:
    now = now or utcnow()
    stored = load(session)
    settings = stored.settings
    alerts = list(reversed(_open_alerts(session)))
    alerts += session.exec(select(CrisisAlert).where(CrisisAlert.status == "ended",
                                                     CrisisAlert.ended_at >= now - RECENT_ENDED)
                           .order_by(CrisisAlert.ended_at.desc()).limit(MAX_ENDED_SHOWN)).all()
    ids = {a.acknowledged_by_agent_id for a in alerts if a.acknowledged_by_agent_id}
    names = dict(session.exec(select(Agent.id, Agent.name).where(Agent.id.in_(ids))).all()) if ids else {}
    playbook = settings.playbook.get(lang) or settings.playbook.get("en") or settings.playbook.get("es") or ""
    return protocol.CrisisPublic(
        alerts=[alert_public(a, settings, names) for a in alerts], mode=stored.mode, settings=settings,
        playbook=playbook, pinned_canned_keys=list(settings.pinned_canned) if stored.mode.active else [])


def acknowledge(session: Session, alert_id: int, agent: Agent) -> CrisisAlert | None:
    """Marks an alert seen by a lead (an ended one keeps its status); None when there is no such alert."""
    alert = session.get(CrisisAlert, alert_id, with_for_update=True)
    if alert is None:
        return None
    if alert.status == "active":
        alert.status = "acknowledged"
    if alert.acknowledged_by_agent_id is None:
        alert.acknowledged_by_agent_id = agent.id
    session.add(alert)
    return alert
