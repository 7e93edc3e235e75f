"""Business hours (per team and channel, with time zone and holidays) and the SLA clocks counted in them.

Pure logic: no database, no web framework. Every function takes aware datetimes (any zone) and returns
aware datetimes in UTC: two aware datetimes that share a `ZoneInfo` subtract and compare by wall clock in
Python, which is wrong across a DST change, so nothing here hands such values out.

How the hours read, as a lead sets them:
- `weekly` maps a weekday (0 Monday … 6 Sunday) to intervals `("09:00", "18:00")` in local time. An end of
  "24:00" is midnight at the end of the day; an interval whose end is not after its start runs past
  midnight into the next day (`("22:00", "06:00")` on Friday is Friday 22:00 to Saturday 06:00).
  Intervals may touch (Monday to 24:00 and Tuesday from 00:00 are one stretch) but not overlap, also
  across midnight and from Sunday into Monday.
- A holiday closes its whole local calendar day, 00:00 to 24:00: an overnight interval that runs into a
  holiday stops at midnight, one that starts on a holiday opens at midnight at its end.
- `always_open`: open at every moment (then there are no weekly hours and no holidays). Hours with no
  weekly intervals are always open unless `always_open` is given as false, which means never open.
- Around DST an interval is one stretch from the first moment the local clock reads its start (or a later
  time) to the first moment it reads its end (or a later time). A time the clock skips (02:30 on the
  spring-forward night in Madrid) therefore means the moment the clock jumps (03:00 CEST); a time the
  clock shows twice (02:30 on the fall-back night) means the first time it does (02:30 CEST). So
  00:00–24:00 lasts 23 hours on the spring-forward day and 25 on the fall-back day.

SLA (`SlaPolicy`, `due_at`, `clock_state`): first-response and next-response targets in minutes per
channel and priority, counted in business hours or on the wall clock. A conversation's clock is green
while more than a quarter of its target is left, amber when a quarter or less is left, and red once the
due moment has come (breached).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, model_validator

from services.teamserver.priority import Priority
from workstation import protocol

UTC = timezone.utc
DAY_MINUTES = 24 * 60
WEEK_MINUTES = 7 * DAY_MINUTES
MAX_INTERVALS_PER_DAY = 12
MAX_HOLIDAYS = 2000
# A key for the closed period of hours that are never open: the whole of time is one closed period.
NEVER_OPEN_KEY = "never-open"

_ZONE_NAME = re.compile(r"^[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*$")


# ------------------------------------------------------------------------------------------ the model


def _hhmm(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("times are 'HH:MM' strings")
    hours, sep, minutes = value.strip().partition(":")
    if not (sep and hours.isascii() and hours.isdigit() and minutes.isascii() and minutes.isdigit()
            and len(minutes) == 2 and 1 <= len(hours) <= 2):
        raise ValueError(f"times are HH:MM, not {value!r}")
    h, m = int(hours), int(minutes)
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m):
        raise ValueError(f"times run from 00:00 to 24:00, not {value!r}")
    return f"{h:02d}:{m:02d}"


def _zone_name(value: str) -> str:
    if not _ZONE_NAME.match(value) or ".." in value:
        raise ValueError(f"unknown time zone {value!r}")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


def _minutes(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[3:])


HHMM = Annotated[str, AfterValidator(_hhmm)]
Interval = tuple[HHMM, HHMM]
ZoneName = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_zone_name)]


class Holiday(BaseModel):
    """A local calendar day on which the team is closed all day."""

    date: date
    name: str = Field(default="", max_length=200)


def _holiday_item(value: Any) -> Any:
    # A bare date ("2026-12-25") is a holiday without a name.
    return {"date": value} if isinstance(value, (str, date)) else value


class BusinessHours(BaseModel):
    """When a team (or one of its channels) is open. See the module docstring for how the hours read."""

    timezone: ZoneName = "UTC"
    weekly: dict[Annotated[int, Field(ge=0, le=6)], list[Interval]] = {}
    holidays: list[Annotated[Holiday, BeforeValidator(_holiday_item)]] = Field(default=[], max_length=MAX_HOLIDAYS)
    always_open: bool = True

    @model_validator(mode="before")
    @classmethod
    def _unconfigured_is_always_open(cls, data: Any) -> Any:
        # Hours without weekly intervals are always open unless told otherwise; hours with intervals are not.
        if isinstance(data, dict) and "always_open" not in data:
            data = {**data, "always_open": not data.get("weekly")}
        return data

    @model_validator(mode="after")
    def _check(self) -> BusinessHours:
        weekly: dict[int, list[tuple[str, str]]] = {}
        for day, intervals in sorted(self.weekly.items()):
            if len(intervals) > MAX_INTERVALS_PER_DAY:
                raise ValueError(f"at most {MAX_INTERVALS_PER_DAY} intervals a day")
            for start, end in intervals:
                if start == "24:00":
                    raise ValueError("an interval cannot start at 24:00")
                if _minutes(start) == _minutes(end):
                    raise ValueError(f"an empty or ambiguous interval {start}–{end}: use 00:00–24:00 for a whole day")
            if intervals:
                weekly[day] = sorted(intervals, key=lambda iv: _minutes(iv[0]))
        segments = sorted(seg for day, ivs in weekly.items() for s, e in ivs for seg in _week_segments(day, s, e))
        for (_, prev_end), (start, _) in zip(segments, segments[1:]):
            if start < prev_end:
                raise ValueError("business hours intervals overlap")
        if self.always_open and (weekly or self.holidays):
            raise ValueError("always_open has no weekly hours or holidays: for 24/7 with holidays, "
                             "give every day 00:00–24:00")
        self.weekly = weekly
        self.holidays = sorted(self.holidays, key=lambda h: h.date)
        return self

    @property
    def never_open(self) -> bool:
        return not self.always_open and not self.weekly


ALWAYS_OPEN = BusinessHours(always_open=True)


def _span_minutes(start: str, end: str) -> tuple[int, int]:
    """Minutes from the start of the interval's own day: end > start, past 1440 for an overnight one."""
    s, e = _minutes(start), _minutes(end)
    return s, (e if e > s else e + DAY_MINUTES)


def _week_segments(day: int, start: str, end: str) -> list[tuple[int, int]]:
    s, e = _span_minutes(start, end)
    s, e = day * DAY_MINUTES + s, day * DAY_MINUTES + e
    if e <= WEEK_MINUTES:
        return [(s, e)]
    return [(s, WEEK_MINUTES), (0, e - WEEK_MINUTES)]  # Sunday night into Monday


def pick_hours(by_channel: Mapping[str, BusinessHours], channel: str) -> BusinessHours:
    """The hours for `channel` from a team's table: its own, else the `"*"` entry, else always open."""
    return by_channel.get(channel) or by_channel.get(protocol.ANY_CHANNEL) or ALWAYS_OPEN


# ------------------------------------------------------------------------------------ the time line


@dataclass(frozen=True)
class _Plan:
    """The hours prepared for arithmetic: minute offsets per weekday and the holidays as a set."""

    tz: ZoneInfo
    always: bool
    weekly: dict[int, tuple[tuple[int, int], ...]]
    holidays: frozenset[date]
    first_holiday: date | None
    last_holiday: date | None
    full_week: bool  # the weekly intervals cover every minute of the week


def _plan(hours: BusinessHours) -> _Plan:
    weekly = {day: tuple(_span_minutes(s, e) for s, e in ivs) for day, ivs in hours.weekly.items() if ivs}
    segments = sorted(seg for day, ivs in hours.weekly.items() for s, e in ivs for seg in _week_segments(day, s, e))
    covered = 0
    for start, end in segments:
        if start > covered:
            break
        covered = max(covered, end)
    days = sorted({h.date for h in hours.holidays})
    return _Plan(
        tz=ZoneInfo(hours.timezone), always=hours.always_open, weekly=weekly, holidays=frozenset(days),
        first_holiday=days[0] if days else None, last_holiday=days[-1] if days else None,
        full_week=covered >= WEEK_MINUTES,
    )


# Moments the arithmetic takes: a couple of days' margin inside the calendar for every time zone.
EARLIEST = datetime(2, 1, 1, tzinfo=UTC)
LATEST = datetime(9998, 12, 31, tzinfo=UTC)


def _utc(at: datetime, name: str = "at") -> datetime:
    if not isinstance(at, datetime):
        raise TypeError(f"{name} must be a datetime")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (with a time zone)")
    try:
        t = at.astimezone(UTC)
    except OverflowError:
        t = None
    if t is None or not EARLIEST <= t <= LATEST:
        raise ValueError(f"{name} is outside the years 2 to 9998")
    return t


def _wall(t: datetime, tz: ZoneInfo) -> datetime:
    return t.astimezone(tz).replace(tzinfo=None)


def _instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """The first moment the local clock reads `wall` or a later time (see the module docstring)."""
    early, late = wall.replace(tzinfo=tz, fold=0), wall.replace(tzinfo=tz, fold=1)
    off0, off1 = early.utcoffset(), late.utcoffset()
    u0 = (wall - off0).replace(tzinfo=UTC)
    if off0 == off1:
        return u0
    u1 = (wall - off1).replace(tzinfo=UTC)
    real = [u for u in (u0, u1) if _wall(u, tz) == wall]
    if real:  # shown twice (fall back): the first time
        return min(real)
    # Skipped (spring forward): the moment of the jump, the first second whose clock reads past `wall`.
    lo, hi = int(min(u0, u1).timestamp()), int(max(u0, u1).timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _wall(datetime.fromtimestamp(mid, UTC), tz) >= wall:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def _day_spans(plan: _Plan, day: date) -> list[tuple[datetime, datetime]]:
    """The open stretches (UTC) of the intervals that start on local `day`, in order, holidays cut out."""
    intervals = plan.weekly.get(day.weekday())
    if not intervals:
        return []
    base = datetime(day.year, day.month, day.day)
    midnight = base + timedelta(days=1)
    closed_today = day in plan.holidays
    closed_tomorrow = (day + timedelta(days=1)) in plan.holidays if plan.holidays else False
    spans = []
    for s, e in intervals:
        start, end = base + timedelta(minutes=s), base + timedelta(minutes=e)
        pieces = [(start, end)]
        if closed_today or (closed_tomorrow and end > midnight):
            pieces = []
            if not closed_today:
                pieces.append((start, min(end, midnight)))
            if end > midnight and not closed_tomorrow:
                pieces.append((midnight, end))
        for a, b in pieces:
            ua, ub = _instant(a, plan.tz), _instant(b, plan.tz)
            if ua < ub:
                spans.append((ua, ub))
    return spans


_LAST_DAY = date.max - timedelta(days=3)
_FIRST_DAY = date.min + timedelta(days=3)
# How far ahead the arithmetic looks: SLA targets are at most a year, so 20 years is plenty, and it
# bounds the work (about 10 µs a day) whatever a caller asks.
MAX_SEARCH_DAYS = 20 * 366
# Past the last holiday, the weekly pattern repeats: an opening or a closing is at most a couple of
# weeks away (a week, or two when the one stretch of a week falls in a DST gap).
_PATTERN_DAYS = 35


def _forward(plan: _Plan, t: datetime, last_day: date, *, truncate: bool = False,
             ) -> Iterator[tuple[datetime, datetime | None]]:
    """The open stretches that end after `t`, merged where they touch, in order, from the intervals that
    start on local days up to `last_day`; an end of None is open for ever. A stretch that may go on past
    `last_day` is left out, or with `truncate` given with the end it has by then (right for its start and
    for any time before that end, not for its end)."""
    if plan.always:
        yield t, None
        return
    if not plan.weekly:
        return
    day = _wall(t, plan.tz).date() - timedelta(days=1)
    last_day = min(last_day, _LAST_DAY)
    current: tuple[datetime, datetime] | None = None
    while day <= last_day:
        for s, e in _day_spans(plan, day):
            if e <= t:
                continue
            if current is not None and s <= current[1]:
                current = (current[0], max(current[1], e))
            else:
                if current is not None:
                    yield current
                current = (s, e)
        # Open round the clock every week and no holiday to come: the stretch never closes.
        if (current is not None and plan.full_week
                and (plan.last_holiday is None or day > plan.last_holiday)):
            yield current[0], None
            return
        day += timedelta(days=1)
    if current is not None:
        after = datetime.combine(last_day + timedelta(days=1), datetime.min.time())
        if truncate or current[1] < _instant(after, plan.tz):  # nothing later can touch it: it is over
            yield current


def _pattern_end(plan: _Plan, t: datetime) -> date:
    """The last local day to look at for the next opening or closing after `t`."""
    day = _wall(t, plan.tz).date()
    return max(day, plan.last_holiday or day) + timedelta(days=_PATTERN_DAYS)


def _last_close(plan: _Plan, t: datetime) -> datetime | None:
    """The latest end of an open stretch at or before `t`, or None if there was none."""
    day = _wall(t, plan.tz).date() + timedelta(days=1)
    # Before the first holiday the weekly pattern holds: an opening is at most two weeks back (two when
    # a week's only interval fell in a DST gap).
    floor = min(plan.first_holiday or day, day) - timedelta(days=16)
    while day >= max(floor, _FIRST_DAY):
        ends = [e for _, e in _day_spans(plan, day) if e <= t]
        if ends:
            return max(ends)
        day -= timedelta(days=1)
    return None


# --------------------------------------------------------------------------------- open and closed


def is_open(hours: BusinessHours, at: datetime) -> bool:
    """Whether the team is open at the moment `at` (aware)."""
    t = _utc(at)
    plan = _plan(hours)
    if plan.always:
        return True
    day = _wall(t, plan.tz).date()
    return any(s <= t < e for d in (-1, 0, 1) for s, e in _day_spans(plan, day + timedelta(days=d)))


def next_open(hours: BusinessHours, at: datetime) -> datetime | None:
    """The first moment at or after `at` when the team is open (`at` itself when open then), in UTC;
    None when the hours are never open."""
    t = _utc(at)
    plan = _plan(hours)
    for s, _ in _forward(plan, t, _pattern_end(plan, t), truncate=True):
        return max(s, t)
    return None


def next_close(hours: BusinessHours, at: datetime) -> datetime | None:
    """The first moment at or after `at` when the team is closed (`at` itself when closed then), in UTC;
    None when it never closes again (always open, or open round the clock with no holiday to come)."""
    t = _utc(at)
    plan = _plan(hours)
    if not plan.always and not plan.weekly:
        return t  # never open
    for s, e in _forward(plan, t, _pattern_end(plan, t)):
        return t if s > t else e
    return None  # open past the weeks the pattern needs: open round the clock


def closed_period_key(hours: BusinessHours, at: datetime) -> str | None:
    """A stable id of the closed period that contains `at`, or None when open at `at`.

    It is the moment that period began (when the team closed), in UTC ISO form, so every moment of one
    closed period gives the same key and the next closed period another: the server sends the
    out-of-hours reply when a conversation's stored key differs from this one. Hours that are never open
    give `NEVER_OPEN_KEY`; a closed period with no opening before it (only far in the past) gives
    "closed-since-start". Changing the hours may change the key.
    """
    t = _utc(at)
    plan = _plan(hours)
    if plan.always or is_open(hours, t):
        return None
    if not plan.weekly:
        return NEVER_OPEN_KEY
    closed = _last_close(plan, t)
    return closed.isoformat() if closed is not None else "closed-since-start"


def out_of_hours_reply_key(hours: BusinessHours, at: datetime, last_sent_key: str | None) -> str | None:
    """The key to store with an out-of-hours reply sent now, or None when none is due: open at `at`, or
    this closed period was already answered (`last_sent_key` is the key stored with the last one)."""
    key = closed_period_key(hours, at)
    return key if key is not None and key != last_sent_key else None


# ------------------------------------------------------------------------------- business arithmetic


def add_business_time(hours: BusinessHours, start: datetime, duration: timedelta) -> datetime:
    """The moment (UTC) when `duration` of open time has passed after `start`. Counting starts at `start`
    when open then, else at the next opening; a zero duration gives that first open moment. Raises
    ValueError for a negative duration, hours that are never open, or a result more than
    `MAX_SEARCH_DAYS` (20 years) away."""
    t = _utc(start, "start")
    if duration < timedelta(0):
        raise ValueError("duration must not be negative")
    plan = _plan(hours)
    if hours.never_open:
        raise ValueError("these business hours are never open")
    remaining = duration
    try:
        last_day = _wall(t, plan.tz).date() + timedelta(days=MAX_SEARCH_DAYS)
    except OverflowError:
        last_day = _LAST_DAY
    try:
        for s, e in _forward(plan, t, last_day, truncate=True):
            s = max(s, t)
            if e is None or remaining <= e - s:
                return s + remaining
            remaining -= e - s
    except OverflowError:
        pass
    raise ValueError(f"the result is more than {MAX_SEARCH_DAYS // 366} years away")


def business_time_between(hours: BusinessHours, a: datetime, b: datetime) -> timedelta:
    """The open time between `a` and `b`; negative when `b` is before `a`. Raises ValueError when they
    are more than `MAX_SEARCH_DAYS` (20 years) apart."""
    ta, tb = _utc(a, "a"), _utc(b, "b")
    if tb < ta:
        return -business_time_between(hours, tb, ta)
    if tb - ta > timedelta(days=MAX_SEARCH_DAYS):
        raise ValueError(f"more than {MAX_SEARCH_DAYS // 366} years apart")
    plan = _plan(hours)
    total = timedelta(0)
    try:
        last_day = _wall(tb, plan.tz).date() + timedelta(days=2)
    except OverflowError:
        last_day = _LAST_DAY
    for s, e in _forward(plan, ta, last_day, truncate=True):
        if s >= tb:
            break
        total += min(tb, e if e is not None else tb) - max(s, ta)
    return total


def business_seconds_between(hours: BusinessHours, start: datetime, end: datetime) -> int:
    """Whole seconds of open time from `start` to `end` (0 when `end` is not after `start`): how long a
    customer waited as a business-hours SLA counts it. Spans longer than `MAX_SEARCH_DAYS` count only
    their last `MAX_SEARCH_DAYS` (nobody waits 20 years; a bad clock must not raise in a reply)."""
    ts, te = _utc(start, "start"), _utc(end, "end")
    if te <= ts:
        return 0
    ts = max(ts, te - timedelta(days=MAX_SEARCH_DAYS))
    return int(business_time_between(hours, ts, te).total_seconds())


# ------------------------------------------------------------------------------------------- describe


_DAY_NAMES = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "es": ("lun", "mar", "mié", "jue", "vie", "sáb", "dom"),
}
_WORDS = {
    "en": {"and": "and", "always": "Open 24 hours, every day", "never": "Closed"},
    "es": {"and": "y", "always": "Abierto 24 horas, todos los días", "never": "Cerrado"},
}


def _lang(lang: str) -> str:
    code = (lang or "").replace("_", "-").split("-")[0].lower()
    return code if code in _DAY_NAMES else "en"


def _day_runs(days: list[int], names: tuple[str, ...]) -> str:
    runs: list[list[int]] = []
    for day in days:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ", ".join(names[r[0]] if len(r) == 1 else f"{names[r[0]]}–{names[r[-1]]}" for r in runs)


def describe(hours: BusinessHours, lang: str = "en") -> str:
    """The weekly hours in a short line, in "es" or "en" (anything else: English), for the out-of-hours
    reply and the agents, e.g. "Mon–Fri 09:00–18:00, Sat 10:00–14:00 (Europe/Madrid)" or
    "lun–vie 09:00–18:00, sáb 10:00–14:00 (Europe/Madrid)". Days with the same intervals are grouped;
    holidays are not listed."""
    code = _lang(lang)
    names, words = _DAY_NAMES[code], _WORDS[code]
    if hours.always_open:
        return words["always"]
    if not hours.weekly:
        return words["never"]
    groups: dict[tuple[tuple[str, str], ...], list[int]] = {}
    for day in range(7):
        intervals = tuple((s, e) for s, e in hours.weekly.get(day, ()))
        if intervals:
            groups.setdefault(intervals, []).append(day)
    parts = []
    for intervals, days in groups.items():
        times = f" {words['and']} ".join(f"{s}–{e}" for s, e in intervals)
        parts.append(f"{_day_runs(days, names)} {times}")
    return f"{', '.join(parts)} ({hours.timezone})"


# ------------------------------------------------------------------------------------------------ SLA


SlaKind = Literal["first", "next"]
ClockState = Literal["green", "amber", "red"]
# Amber once this share of the target or less is left.
AMBER_SHARE = 0.25
MAX_TARGET_MINUTES = 366 * DAY_MINUTES
TargetMinutes = Annotated[int, Field(ge=1, le=MAX_TARGET_MINUTES)]


class SlaTarget(BaseModel):
    """Targets for one channel and priority ("*" for any). None leaves the target to a broader row."""

    channel: str = Field(default=protocol.ANY_CHANNEL, min_length=1, max_length=64)
    priority: Priority | Literal["*"] = "*"
    first_response_minutes: TargetMinutes | None = None
    next_response_minutes: TargetMinutes | None = None


def _default_targets() -> list[SlaTarget]:
    return [
        SlaTarget(first_response_minutes=60, next_response_minutes=120),
        SlaTarget(priority="urgent", first_response_minutes=15, next_response_minutes=30),
        SlaTarget(priority="high", first_response_minutes=30, next_response_minutes=60),
        SlaTarget(priority="low", first_response_minutes=240, next_response_minutes=480),
    ]


class SlaPolicy(BaseModel):
    """A team's response targets. For a conversation the most specific row that sets the target wins:
    its channel and priority, then any channel with its priority, then its channel with any priority,
    then the `*`/`*` row (priority decides before channel: an urgent message is urgent everywhere). No
    row with the target: no clock for that kind.

    `business_hours`: count the targets in the business hours of the conversation's team and channel
    (true) or on the wall clock (false)."""

    targets: list[SlaTarget] = Field(default_factory=_default_targets, max_length=500)
    business_hours: bool = True

    @model_validator(mode="after")
    def _unique(self) -> SlaPolicy:
        keys = [(t.channel, t.priority) for t in self.targets]
        if len(keys) != len(set(keys)):
            raise ValueError("one row per channel and priority")
        return self

    def target_minutes(self, channel: str, priority: str, kind: SlaKind) -> int | None:
        field = "first_response_minutes" if kind == "first" else "next_response_minutes"
        rows = {(t.channel, t.priority): t for t in self.targets}
        anywhere = protocol.ANY_CHANNEL
        for key in ((channel, priority), (anywhere, priority), (channel, "*"), (anywhere, "*")):
            row = rows.get(key)
            if row is not None and getattr(row, field) is not None:
                return getattr(row, field)
        return None


def due_at(policy: SlaPolicy, hours: BusinessHours | None, channel: str, priority: str, kind: SlaKind,
           since: datetime) -> datetime | None:
    """When the `kind` response ("first" or "next") to a message received at `since` is due (UTC), or None
    when the policy sets no such target, or counts in business hours that are never open. `hours`
    None counts on the wall clock."""
    if kind not in ("first", "next"):
        raise ValueError(f"kind is 'first' or 'next', not {kind!r}")
    minutes = policy.target_minutes(channel, priority, kind)
    start = _utc(since, "since")
    if minutes is None:
        return None
    target = timedelta(minutes=minutes)
    if not policy.business_hours or hours is None:
        return start + target
    if hours.never_open:
        return None
    return add_business_time(hours, start, target)


def time_left(due: datetime, now: datetime, *, hours: BusinessHours | None = None) -> timedelta:
    """What is left until `due` (negative once past): open time when `hours` are given (use the same
    hours as `due_at` for a business-hours policy), else wall-clock time. Sorts the feed by urgency."""
    if hours is None:
        return _utc(due, "due") - _utc(now, "now")
    return business_time_between(hours, now, due)


def clock_state(due: datetime, now: datetime, total: timedelta, *,
                hours: BusinessHours | None = None) -> ClockState:
    """The colour of a response clock: "red" once `now` has reached `due` (breached); "amber" when a
    quarter of the target `total` or less is left; "green" otherwise. Time left is counted as in
    `time_left` (pass the hours for a business-hours policy, so a night does not count)."""
    if _utc(now, "now") >= _utc(due, "due"):
        return "red"
    left = time_left(due, now, hours=hours)
    if left <= timedelta(0):
        return "red"
    return "amber" if left <= total * AMBER_SHARE else "green"


__all__ = [
    "ALWAYS_OPEN", "AMBER_SHARE", "NEVER_OPEN_KEY", "BusinessHours", "ClockState", "Holiday",
    "SlaKind", "SlaPolicy", "SlaTarget", "add_business_time", "business_seconds_between",
    "business_time_between", "clock_state",
    "closed_period_key", "describe", "due_at", "is_open", "next_close", "next_open", "out_of_hours_reply_key",
    "pick_hours", "time_left",
]
