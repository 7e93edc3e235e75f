"""Business hours and SLA clocks: open/closed, the arithmetic across weekends, holidays, overnight intervals,
time zones and both DST changes (both hemispheres), the out-of-hours key, describe(), the SLA policy.

Expected values are worked out by hand in the comments. Offsets: Madrid CET +01:00 / CEST +02:00 (2026:
forward on Sun 29 March 02:00→03:00, back on Sun 25 October 03:00→02:00); New York EST −05:00 / EDT
−04:00 (forward Sun 8 March 02:00→03:00, back Sun 1 November 02:00→01:00); Sydney AEST +10:00 / AEDT
+11:00 (back Sun 5 April 03:00→02:00, forward Sun 4 October 02:00→03:00)."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.teamserver import businesshours as bh
from services.teamserver.businesshours import (
    BusinessHours, SlaPolicy, SlaTarget, add_business_time, business_time_between, clock_state,
    closed_period_key, describe, due_at, is_open, next_close, next_open,
)

UTC = timezone.utc
MADRID = ZoneInfo("Europe/Madrid")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
H, M = timedelta(hours=1), timedelta(minutes=1)

WEEKDAYS = range(5)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def madrid(*args) -> datetime:
    return datetime(*args, tzinfo=MADRID)


# Mon–Fri 09:00–18:00, Sat 10:00–14:00 in Madrid; Christmas (a Friday in 2026) and Epiphany are holidays.
OFFICE = BusinessHours(
    timezone="Europe/Madrid",
    weekly={**{d: [("09:00", "18:00")] for d in WEEKDAYS}, 5: [("10:00", "14:00")]},
    holidays=["2026-12-25", {"date": "2026-01-06", "name": "Reyes"}],
)
# Every night 22:00–06:00 (each interval belongs to the day it starts on), Madrid.
NIGHTS = BusinessHours(timezone="Europe/Madrid", weekly={d: [("22:00", "06:00")] for d in range(7)})


# ------------------------------------------------------------------------------------------ the model


def test_json_round_trip_keeps_everything():
    text = OFFICE.model_dump_json()
    assert BusinessHours.model_validate_json(text) == OFFICE
    assert '"0":[["09:00","18:00"]]' in text
    assert OFFICE.holidays[0].name == "Reyes" and OFFICE.holidays[0].date == date(2026, 1, 6)  # sorted
    assert OFFICE.always_open is False


def test_unconfigured_hours_are_always_open_unless_told_otherwise():
    assert BusinessHours().always_open is True
    assert is_open(BusinessHours(), utc(2026, 1, 1, 3))
    never = BusinessHours(always_open=False)
    assert never.never_open and not is_open(never, utc(2026, 1, 1, 3))
    assert next_open(never, utc(2026, 1, 1)) is None
    assert closed_period_key(never, utc(2026, 1, 1)) == bh.NEVER_OPEN_KEY
    with pytest.raises(ValueError, match="never open"):
        add_business_time(never, utc(2026, 1, 1), H)
    assert business_time_between(never, utc(2026, 1, 1), utc(2026, 2, 1)) == timedelta(0)


@pytest.mark.parametrize("weekly, message", [
    ({0: [("09:00", "13:00"), ("12:00", "18:00")]}, "overlap"),
    ({0: [("22:00", "06:00")], 1: [("05:00", "09:00")]}, "overlap"),  # Monday night runs into Tuesday 05:00
    ({6: [("22:00", "02:00")], 0: [("01:00", "09:00")]}, "overlap"),  # Sunday night runs into Monday
    ({0: [("09:00", "09:00")]}, "00:00–24:00"),
    ({0: [("00:00", "00:00")]}, "00:00–24:00"),
    ({0: [("24:00", "10:00")]}, "24:00"),
    ({0: [("9:60", "10:00")]}, "00:00 to 24:00"),
    ({0: [("24:30", "10:00")]}, "00:00 to 24:00"),
    ({0: [("nine", "10:00")]}, "HH:MM"),
    ({0: [("０９:00", "10:00")]}, "HH:MM"),  # full-width digits are digits to Python, not to us
    ({7: [("09:00", "10:00")]}, "less than or equal to 6"),
])
def test_bad_weekly_hours_are_refused(weekly, message):
    with pytest.raises(ValidationError, match=message):
        BusinessHours(timezone="UTC", weekly=weekly)


def test_touching_intervals_are_fine_and_sorted():
    h = BusinessHours(weekly={0: [("13:00", "18:00"), ("09:00", "13:00")], 6: [("20:00", "24:00")],
                              1: [("00:00", "09:00")]})
    assert h.weekly[0] == [("09:00", "13:00"), ("13:00", "18:00")]
    # 9:00 on Monday is one stretch until 18:00 (the touching intervals merge).
    assert next_close(h, utc(2026, 3, 2, 10)) == utc(2026, 3, 2, 18)


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../etc/passwd", "Europe/Madrid\x00", "America"])
def test_unknown_time_zones_are_refused(zone):
    with pytest.raises(ValidationError):
        BusinessHours(timezone=zone, weekly={0: [("09:00", "10:00")]})


def test_always_open_excludes_hours_and_holidays():
    with pytest.raises(ValidationError, match="always_open"):
        BusinessHours(always_open=True, weekly={0: [("09:00", "10:00")]})
    with pytest.raises(ValidationError, match="always_open"):
        BusinessHours(always_open=True, holidays=["2026-12-25"])


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        is_open(OFFICE, datetime(2026, 3, 2, 10))


def test_pick_hours_by_channel():
    table = {"*": OFFICE, "whatsapp": NIGHTS}
    assert bh.pick_hours(table, "whatsapp") is NIGHTS
    assert bh.pick_hours(table, "email") is OFFICE
    assert bh.pick_hours({}, "email").always_open


# -------------------------------------------------------------------------------- open and closed


def test_open_and_closed_in_local_time_whatever_zone_asks():
    # Friday 27 March 2026, 17:59 in Madrid (CET) is 16:59 UTC and 01:59 on Saturday in Tokyo.
    assert is_open(OFFICE, madrid(2026, 3, 27, 17, 59))
    assert is_open(OFFICE, utc(2026, 3, 27, 16, 59))
    assert is_open(OFFICE, datetime(2026, 3, 28, 1, 59, tzinfo=ZoneInfo("Asia/Tokyo")))
    assert not is_open(OFFICE, madrid(2026, 3, 27, 18, 0))  # the end is not included
    assert is_open(OFFICE, madrid(2026, 3, 27, 9, 0))  # the start is
    assert not is_open(OFFICE, madrid(2026, 3, 29, 12))  # Sunday
    assert not is_open(OFFICE, madrid(2026, 12, 25, 12))  # Christmas, a Friday
    assert is_open(OFFICE, madrid(2026, 12, 26, 12))  # Saturday 10–14


def test_next_open_and_next_close():
    # Friday 18:30 CET → Saturday 10:00 CET = 09:00 UTC; Saturday 14:00 CET = 13:00 UTC.
    assert next_open(OFFICE, madrid(2026, 3, 27, 18, 30)) == utc(2026, 3, 28, 9)
    assert next_close(OFFICE, madrid(2026, 3, 28, 11)) == utc(2026, 3, 28, 13)
    # Saturday 14:00 → Monday 30 March 09:00, already CEST: 07:00 UTC.
    assert next_open(OFFICE, madrid(2026, 3, 28, 14)) == utc(2026, 3, 30, 7)
    # At or after: open now is now, closed now is now.
    assert next_open(OFFICE, madrid(2026, 3, 27, 10)) == utc(2026, 3, 27, 9)
    assert next_close(OFFICE, madrid(2026, 3, 27, 20)) == utc(2026, 3, 27, 19)
    # Thursday 24 December 18:00 → Christmas Friday closed → Saturday 26th 10:00 CET = 09:00 UTC.
    assert next_open(OFFICE, madrid(2026, 12, 24, 18)) == utc(2026, 12, 26, 9)
    # Results are UTC, never the hours' zone (same-zone datetimes subtract by wall clock).
    assert next_open(OFFICE, madrid(2026, 3, 27, 18, 30)).tzinfo is UTC


def test_overnight_intervals_and_the_week_wrap():
    sunday_night = BusinessHours(timezone="Europe/Madrid", weekly={6: [("22:00", "02:00")]})
    # Sunday 1 March 2026 22:00 → Monday 2 March 02:00 (CET).
    assert is_open(sunday_night, madrid(2026, 3, 2, 1, 30))
    assert not is_open(sunday_night, madrid(2026, 3, 2, 2, 0))
    assert not is_open(sunday_night, madrid(2026, 3, 1, 1, 30))  # Sunday morning: Saturday has nothing
    assert next_close(sunday_night, madrid(2026, 3, 1, 23)) == utc(2026, 3, 2, 1)
    # Nights every day: Friday 27 March 21:00 → opens 22:00 CET (21:00 UTC).
    assert next_open(NIGHTS, madrid(2026, 3, 27, 21)) == utc(2026, 3, 27, 21)


def test_full_week_hours_never_close_but_for_holidays():
    all_week = BusinessHours(timezone="Europe/Madrid", weekly={d: [("00:00", "24:00")] for d in range(7)})
    assert next_close(all_week, madrid(2026, 3, 27, 12)) is None
    assert closed_period_key(all_week, madrid(2026, 3, 27, 12)) is None
    # 1000 hours of open time are 1000 wall hours; DST changes do not matter to UTC arithmetic.
    assert add_business_time(all_week, utc(2026, 3, 1), 1000 * H) == utc(2026, 3, 1) + 1000 * H
    with_christmas = all_week.model_copy(update={"holidays": [bh.Holiday(date=date(2026, 12, 25))]})
    # Closes at Christmas Eve midnight CET (23:00 UTC), opens again on the 26th at 00:00 CET.
    assert next_close(with_christmas, madrid(2026, 12, 20)) == utc(2026, 12, 24, 23)
    assert next_open(with_christmas, madrid(2026, 12, 25, 12)) == utc(2026, 12, 25, 23)
    assert next_close(with_christmas, madrid(2026, 12, 27)) is None


# ------------------------------------------------------------------------------ business arithmetic


def test_inside_hours_within_the_day():
    # Monday 2 March 2026, 10:00 CET + 3 h = 13:00 CET = 12:00 UTC.
    assert add_business_time(OFFICE, madrid(2026, 3, 2, 10), 3 * H) == utc(2026, 3, 2, 12)
    assert business_time_between(OFFICE, madrid(2026, 3, 2, 10), madrid(2026, 3, 2, 13)) == 3 * H


def test_starting_outside_hours_counts_from_the_next_opening():
    # Monday 07:00 CET + 30 min → counts from 09:00 → 09:30 CET = 08:30 UTC.
    assert add_business_time(OFFICE, madrid(2026, 3, 2, 7), 30 * M) == utc(2026, 3, 2, 8, 30)
    # A zero duration from a closed moment is the next opening.
    assert add_business_time(OFFICE, madrid(2026, 3, 2, 7), timedelta(0)) == utc(2026, 3, 2, 8)
    # Monday 20:00 + 1 h → Tuesday 10:00 CET = 09:00 UTC.
    assert add_business_time(OFFICE, madrid(2026, 3, 2, 20), H) == utc(2026, 3, 3, 9)
    # A duration that ends exactly at closing time ends at the close.
    assert add_business_time(OFFICE, madrid(2026, 3, 2, 17), H) == utc(2026, 3, 2, 17)


def test_across_the_weekend_and_the_spring_forward_change_in_madrid():
    # Friday 27 March 17:00 CET + 6 h: Friday 17–18 (1 h), Saturday 10–14 (4 h), then Monday 30 March,
    # now CEST, 09:00 + 1 h = 10:00 CEST = 08:00 UTC.
    start = madrid(2026, 3, 27, 17)
    assert add_business_time(OFFICE, start, 6 * H) == utc(2026, 3, 30, 8)
    assert business_time_between(OFFICE, start, utc(2026, 3, 30, 8)) == 6 * H
    # The week around it: 5 weekdays × 9 h + 4 h on Saturday = 49 h, DST or not.
    assert business_time_between(OFFICE, madrid(2026, 3, 23), madrid(2026, 3, 30)) == 49 * H
    assert business_time_between(OFFICE, madrid(2026, 3, 30), madrid(2026, 4, 6)) == 49 * H


def test_across_the_weekend_and_the_fall_back_change_in_madrid():
    # Friday 23 October 17:00 CEST (15:00 UTC) + 6 h: 1 h Friday, 4 h Saturday, Monday 26th (CET)
    # 09:00 + 1 h = 10:00 CET = 09:00 UTC.
    assert add_business_time(OFFICE, madrid(2026, 10, 23, 17), 6 * H) == utc(2026, 10, 26, 9)
    # The wall clock moves 65 h between them (Fri 17:00 → Mon 10:00), 66 h pass with the repeated hour;
    # open time is 6 h.
    assert utc(2026, 10, 26, 9) - madrid(2026, 10, 23, 17) == 66 * H
    assert business_time_between(OFFICE, madrid(2026, 10, 23, 17), utc(2026, 10, 26, 9)) == 6 * H


def test_overnight_intervals_on_both_dst_nights():
    # Saturday 28 March 22:00 CET (21:00 UTC) → Sunday 29 March 06:00 CEST (04:00 UTC): 7 hours.
    assert business_time_between(NIGHTS, madrid(2026, 3, 28, 12), madrid(2026, 3, 29, 12)) == 7 * H
    assert next_close(NIGHTS, madrid(2026, 3, 28, 23)) == utc(2026, 3, 29, 4)
    # Saturday 24 October 22:00 CEST (20:00 UTC) → Sunday 25 October 06:00 CET (05:00 UTC): 9 hours.
    assert business_time_between(NIGHTS, madrid(2026, 10, 24, 12), madrid(2026, 10, 25, 12)) == 9 * H
    # 8 open hours from Saturday 24 October 22:00 CEST (20:00 UTC) end at 04:00 UTC = 05:00 CET: the
    # clock moved only 7 hours, because 02:00–03:00 came twice.
    assert add_business_time(NIGHTS, madrid(2026, 10, 24, 22), 8 * H) == utc(2026, 10, 25, 4)


def test_interval_boundaries_the_clock_skips_or_shows_twice():
    early_sunday = BusinessHours(timezone="Europe/Madrid", weekly={6: [("02:30", "04:00")]})
    # 29 March: 02:30 does not exist; it opens when the clock jumps to 03:00 CEST (01:00 UTC) and closes
    # at 04:00 CEST (02:00 UTC): 1 hour.
    assert next_open(early_sunday, madrid(2026, 3, 29)) == utc(2026, 3, 29, 1)
    assert next_close(early_sunday, utc(2026, 3, 29, 1)) == utc(2026, 3, 29, 2)
    assert business_time_between(early_sunday, madrid(2026, 3, 29), madrid(2026, 3, 30)) == H
    # 25 October: 02:30 happens twice; it opens at the first (CEST, 00:30 UTC) and closes at 04:00 CET
    # (03:00 UTC): 2 h 30.
    assert next_open(early_sunday, madrid(2026, 10, 25)) == utc(2026, 10, 25, 0, 30)
    assert business_time_between(early_sunday, madrid(2026, 10, 25), madrid(2026, 10, 26)) == 2.5 * H
    # An ordinary Sunday: 1 h 30.
    assert business_time_between(early_sunday, madrid(2026, 4, 5), madrid(2026, 4, 6)) == 1.5 * H
    # An interval wholly inside the skipped hour is simply not there that day.
    skipped = BusinessHours(timezone="Europe/Madrid", weekly={6: [("02:10", "02:50")]})
    assert business_time_between(skipped, madrid(2026, 3, 29), madrid(2026, 3, 30)) == timedelta(0)
    assert business_time_between(skipped, madrid(2026, 4, 5), madrid(2026, 4, 6)) == 40 * M


@pytest.mark.parametrize("zone, day, length", [
    (NEW_YORK, date(2026, 3, 8), 23 * H),  # spring forward
    (NEW_YORK, date(2026, 11, 1), 25 * H),  # fall back
    (SYDNEY, date(2026, 4, 5), 25 * H),  # southern autumn: back
    (SYDNEY, date(2026, 10, 4), 23 * H),  # southern spring: forward
])
def test_a_whole_sunday_lasts_as_long_as_the_clock_says(zone, day, length):
    sundays = BusinessHours(timezone=zone.key, weekly={6: [("00:00", "24:00")]})
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    assert business_time_between(sundays, start - 5 * H, start + timedelta(days=2)) == length
    assert add_business_time(sundays, start, length) == next_close(sundays, start)


def test_new_york_office_across_both_changes():
    office = BusinessHours(timezone="America/New_York", weekly={d: [("09:00", "17:00")] for d in WEEKDAYS})
    # Friday 6 March 16:00 EST (21:00 UTC) + 2 h: 1 h Friday, Monday 9 March (EDT) 09:00 + 1 h = 10:00 EDT
    # = 14:00 UTC.
    assert add_business_time(office, datetime(2026, 3, 6, 16, tzinfo=NEW_YORK), 2 * H) == utc(2026, 3, 9, 14)
    # Friday 30 October 16:00 EDT (20:00 UTC) + 2 h → Monday 2 November 10:00 EST = 15:00 UTC.
    assert add_business_time(office, datetime(2026, 10, 30, 16, tzinfo=NEW_YORK), 2 * H) == utc(2026, 11, 2, 15)


def test_holidays_close_the_whole_local_day():
    # Thursday 24 December 17:00 CET + 2 h: 1 h Thursday, Christmas closed, Saturday 26th 10:00 + 1 h
    # = 11:00 CET = 10:00 UTC.
    assert add_business_time(OFFICE, madrid(2026, 12, 24, 17), 2 * H) == utc(2026, 12, 26, 10)
    # Epiphany 2026 is a Tuesday: Monday 5 January 17:00 + 2 h → Wednesday 7th 10:00 CET = 09:00 UTC.
    assert add_business_time(OFFICE, madrid(2026, 1, 5, 17), 2 * H) == utc(2026, 1, 7, 9)
    # Overnight intervals are cut at the holiday's midnights: Thursday 24th 22:00–24:00 (2 h), Christmas
    # closed, the interval that starts on Christmas night opens at 00:00 on the 26th until 06:00 (6 h).
    nights = NIGHTS.model_copy(update={"holidays": [bh.Holiday(date=date(2026, 12, 25))]})
    assert business_time_between(nights, madrid(2026, 12, 24, 20), madrid(2026, 12, 26, 12)) == 8 * H
    assert next_close(nights, madrid(2026, 12, 24, 23)) == utc(2026, 12, 24, 23)
    assert next_open(nights, madrid(2026, 12, 25, 3)) == utc(2026, 12, 25, 23)


def test_a_day_the_calendar_skipped():
    # Samoa moved across the date line: 29 December 2011 at 24:00 (−10:00) was 31 December 00:00
    # (+14:00); the 30th never happened. 09:00–17:00 every day: 29th 12–17 (5 h) + 31st 09–12 (3 h).
    apia = ZoneInfo("Pacific/Apia")
    daily = BusinessHours(timezone="Pacific/Apia", weekly={d: [("09:00", "17:00")] for d in range(7)})
    a, b = datetime(2011, 12, 29, 12, tzinfo=apia), datetime(2011, 12, 31, 12, tzinfo=apia)
    assert business_time_between(daily, a, b) == 8 * H


def test_between_is_signed_and_zero_on_an_empty_range():
    a, b = madrid(2026, 3, 2, 10), madrid(2026, 3, 2, 12)
    assert business_time_between(OFFICE, b, a) == -2 * H
    assert business_time_between(OFFICE, a, a) == timedelta(0)
    assert business_time_between(OFFICE, madrid(2026, 3, 1, 0), madrid(2026, 3, 1, 23)) == timedelta(0)


def test_bad_durations_are_refused():
    with pytest.raises(ValueError, match="negative"):
        add_business_time(OFFICE, madrid(2026, 3, 2, 10), -H)
    # A result decades away is refused, and quickly (the search stops after 20 years of days).
    sparse = BusinessHours(timezone="Europe/Madrid", weekly={2: [("10:00", "10:01")]})
    t0 = time.perf_counter()
    for hours in (OFFICE, sparse):
        with pytest.raises(ValueError, match="years away"):
            add_business_time(hours, madrid(2026, 3, 2, 10), timedelta(days=3_000_000))
    with pytest.raises(ValueError, match="years apart"):
        business_time_between(OFFICE, madrid(2026, 3, 2), madrid(2126, 3, 2))
    assert time.perf_counter() - t0 < 2
    # The ends of the calendar are errors too, not an OverflowError.
    with pytest.raises(ValueError, match="years away"):
        add_business_time(OFFICE, datetime(9998, 12, 1, tzinfo=UTC), timedelta(days=400))
    for extreme in (datetime.max.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC),
                    datetime(9999, 12, 31, 23, tzinfo=MADRID)):
        for call in (is_open, next_open, next_close, closed_period_key):
            with pytest.raises(ValueError, match="outside the years"):
                call(OFFICE, extreme)
    # One minute a week, Wednesdays 10:00–10:01: the first Wednesday of 2026 is 7 January, the 52nd is
    # 7 January + 51 weeks = 30 December; its minute ends at 10:01 CET = 09:01 UTC.
    assert add_business_time(sparse, madrid(2026, 1, 1), 52 * M) == utc(2026, 12, 30, 9, 1)


def test_long_spans_are_fast():
    # A 30-day target in business hours (30 × 24 h of open time: about 15 weeks of this office) and a
    # year between two moments iterate over days, not minutes.
    start = madrid(2026, 3, 2, 10)
    t0 = time.perf_counter()
    for _ in range(10):
        due = add_business_time(OFFICE, start, timedelta(days=30))
        business_time_between(OFFICE, start, start + timedelta(days=30))
    per_call = (time.perf_counter() - t0) / 10
    assert business_time_between(OFFICE, start, due) == timedelta(days=30)
    assert per_call < 0.02, per_call  # ~1.5 ms here; the margin is for slow CI machines
    t0 = time.perf_counter()
    year = business_time_between(OFFICE, madrid(2026, 1, 1), madrid(2027, 1, 1))
    assert time.perf_counter() - t0 < 0.1
    # 2026: 261 weekdays − 2 weekday holidays (6 Jan, 25 Dec) = 259 × 9 h, plus 52 Saturdays × 4 h.
    assert year == (259 * 9 + 52 * 4) * H


# Hours shaped to catch edge cases: overnight, split days, Sunday→Monday wrap, holidays, DST both ways.
PROPERTY_HOURS = [
    OFFICE,
    NIGHTS.model_copy(update={"holidays": [bh.Holiday(date=date(2026, 3, 29)), bh.Holiday(date=date(2026, 10, 25))]}),
    BusinessHours(timezone="America/New_York", weekly={
        0: [("08:00", "12:00"), ("13:00", "17:30")], 2: [("01:30", "02:30"), ("21:00", "03:00")],
        6: [("00:00", "02:15"), ("23:00", "01:00")]}),
    BusinessHours(timezone="Australia/Sydney", weekly={d: [("02:30", "24:00")] for d in range(7)},
                  holidays=["2026-04-05", "2026-10-05"]),
    BusinessHours(timezone="Asia/Kolkata", weekly={4: [("09:00", "18:00")]}),
]


@settings(max_examples=300, deadline=None)
@given(
    hours=st.sampled_from(PROPERTY_HOURS),
    start=st.datetimes(min_value=datetime(2025, 12, 20), max_value=datetime(2027, 1, 10), timezones=st.just(UTC)),
    minutes=st.integers(min_value=0, max_value=30 * 24 * 60),
)
def test_add_and_between_agree(hours, start, minutes):
    duration = timedelta(minutes=minutes)
    end = add_business_time(hours, start, duration)
    assert end >= start
    assert business_time_between(hours, start, end) == duration
    # The result is the first moment with that much open time: a minute earlier there was less.
    if minutes:
        assert business_time_between(hours, start, end - M) < duration
        # ... and it falls in (or at the end of) an open stretch.
        assert is_open(hours, end - timedelta(microseconds=1))


@settings(max_examples=200, deadline=None)
@given(
    hours=st.sampled_from(PROPERTY_HOURS),
    at=st.datetimes(min_value=datetime(2025, 12, 20), max_value=datetime(2027, 1, 10), timezones=st.just(UTC)),
)
def test_open_close_and_key_agree(hours, at):
    opened, closes = next_open(hours, at), next_close(hours, at)
    if is_open(hours, at):
        assert opened == at and closes > at and closed_period_key(hours, at) is None
        assert not is_open(hours, closes) and is_open(hours, closes - timedelta(microseconds=1))
    else:
        assert closes == at and opened > at and is_open(hours, opened)
        assert business_time_between(hours, at, opened) == timedelta(0)
        key = closed_period_key(hours, at)
        # The key is the moment this closed period began, and it is the same all through it.
        began = datetime.fromisoformat(key)
        assert began <= at and not is_open(hours, began) and is_open(hours, began - timedelta(microseconds=1))
        assert closed_period_key(hours, opened - timedelta(microseconds=1)) == key


# ------------------------------------------------------------------------------- the out-of-hours key


def test_closed_period_key_is_stable_within_a_closed_period_and_new_for_the_next():
    # Friday 27 March closes at 18:00 CET (17:00 UTC); open again Saturday 10:00–14:00 CET.
    friday_evening = closed_period_key(OFFICE, madrid(2026, 3, 27, 18, 0))
    assert friday_evening == "2026-03-27T17:00:00+00:00"
    assert closed_period_key(OFFICE, madrid(2026, 3, 27, 23, 59)) == friday_evening
    assert closed_period_key(OFFICE, madrid(2026, 3, 28, 9, 59)) == friday_evening
    assert closed_period_key(OFFICE, madrid(2026, 3, 28, 12)) is None  # open
    # Saturday 14:00 CET (13:00 UTC) through the DST night until Monday 09:00 CEST is the next one.
    weekend = closed_period_key(OFFICE, madrid(2026, 3, 28, 14, 0))
    assert weekend == "2026-03-28T13:00:00+00:00" != friday_evening
    assert closed_period_key(OFFICE, madrid(2026, 3, 29, 3, 30)) == weekend
    assert closed_period_key(OFFICE, madrid(2026, 3, 30, 8, 59)) == weekend
    # Thursday 24 December 18:00 through Christmas until Saturday 10:00 is one closed period.
    assert (closed_period_key(OFFICE, madrid(2026, 12, 24, 20)) == closed_period_key(OFFICE, madrid(2026, 12, 25, 12))
            == closed_period_key(OFFICE, madrid(2026, 12, 26, 9, 59)) == "2026-12-24T17:00:00+00:00")


def test_one_auto_reply_per_closed_period():
    sent: list[str] = []
    last = None
    # A customer writes at 19:00, 23:00 and 09:30 (Saturday, still closed), 12:00 (open), 15:00 (closed).
    for at in (madrid(2026, 3, 27, 19), madrid(2026, 3, 27, 23), madrid(2026, 3, 28, 9, 30),
               madrid(2026, 3, 28, 12), madrid(2026, 3, 28, 15)):
        key = bh.out_of_hours_reply_key(OFFICE, at, last)
        if key is not None:
            sent.append(key)
            last = key
    assert sent == ["2026-03-27T17:00:00+00:00", "2026-03-28T13:00:00+00:00"]
    assert bh.out_of_hours_reply_key(bh.ALWAYS_OPEN, madrid(2026, 3, 28, 3), None) is None


# ------------------------------------------------------------------------------------------ describe


def test_describe_in_both_languages():
    assert describe(OFFICE, "en") == "Mon–Fri 09:00–18:00, Sat 10:00–14:00 (Europe/Madrid)"
    assert describe(OFFICE, "es") == "lun–vie 09:00–18:00, sáb 10:00–14:00 (Europe/Madrid)"
    assert describe(OFFICE, "es-ES") == describe(OFFICE, "es")
    assert describe(OFFICE, "fr") == describe(OFFICE, "en")


def test_describe_split_days_gaps_and_overnight():
    h = BusinessHours(timezone="America/New_York", weekly={
        0: [("09:00", "14:00"), ("16:00", "19:00")], 2: [("09:00", "14:00"), ("16:00", "19:00")],
        3: [("09:00", "14:00"), ("16:00", "19:00")], 5: [("22:00", "02:00")], 6: [("10:00", "24:00")]})
    assert describe(h, "en") == ("Mon, Wed–Thu 09:00–14:00 and 16:00–19:00, Sat 22:00–02:00, Sun 10:00–24:00 "
                                 "(America/New_York)")
    assert describe(h, "es") == ("lun, mié–jue 09:00–14:00 y 16:00–19:00, sáb 22:00–02:00, dom 10:00–24:00 "
                                 "(America/New_York)")


def test_describe_always_and_never():
    assert describe(bh.ALWAYS_OPEN, "en") == "Open 24 hours, every day"
    assert describe(bh.ALWAYS_OPEN, "es") == "Abierto 24 horas, todos los días"
    assert describe(BusinessHours(always_open=False), "es") == "Cerrado"


# ------------------------------------------------------------------------------------------------ SLA


POLICY = SlaPolicy(targets=[
    SlaTarget(first_response_minutes=60, next_response_minutes=120),
    SlaTarget(priority="urgent", first_response_minutes=15),
    SlaTarget(channel="email", first_response_minutes=480, next_response_minutes=480),
    SlaTarget(channel="email", priority="urgent", first_response_minutes=120),
    SlaTarget(channel="x", priority="high", next_response_minutes=20),
])


@pytest.mark.parametrize("channel, priority, kind, minutes", [
    ("whatsapp", "normal", "first", 60),  # */*
    ("whatsapp", "urgent", "first", 15),  # */urgent
    ("whatsapp", "urgent", "next", 120),  # */urgent sets no next target: */*
    ("email", "normal", "first", 480),  # email/*
    ("email", "urgent", "first", 120),  # email/urgent
    ("email", "urgent", "next", 480),  # email/urgent sets no next: */urgent neither: email/*
    ("x", "high", "next", 20),
    ("x", "high", "first", 60),
])
def test_targets_pick_the_most_specific_row(channel, priority, kind, minutes):
    assert POLICY.target_minutes(channel, priority, kind) == minutes


def test_policy_defaults_and_round_trip():
    default = SlaPolicy()
    assert default.business_hours is True
    assert default.target_minutes("whatsapp", "urgent", "first") == 15
    assert default.target_minutes("email", "normal", "next") == 120
    assert SlaPolicy.model_validate_json(POLICY.model_dump_json()) == POLICY
    with pytest.raises(ValidationError, match="one row"):
        SlaPolicy(targets=[SlaTarget(first_response_minutes=1), SlaTarget(first_response_minutes=2)])
    with pytest.raises(ValidationError):
        SlaTarget(priority="critical")
    with pytest.raises(ValidationError):
        SlaTarget(first_response_minutes=0)


def test_due_at_in_business_hours_and_on_the_wall_clock():
    since = madrid(2026, 3, 27, 17, 30)  # Friday, 30 minutes before closing
    # Business hours: 30 min Friday + 30 min Saturday from 10:00 CET → 10:30 CET = 09:30 UTC.
    assert due_at(POLICY, OFFICE, "whatsapp", "normal", "first", since) == utc(2026, 3, 28, 9, 30)
    # Urgent (15 min) is still within Friday: 17:45 CET = 16:45 UTC.
    assert due_at(POLICY, OFFICE, "whatsapp", "urgent", "first", since) == utc(2026, 3, 27, 16, 45)
    # Wall clock: 17:30 CET + 60 min = 18:30 CET.
    wall = POLICY.model_copy(update={"business_hours": False})
    assert due_at(wall, OFFICE, "whatsapp", "normal", "first", since) == utc(2026, 3, 27, 17, 30)
    # No hours: wall clock too.
    assert due_at(POLICY, None, "whatsapp", "normal", "first", since) == utc(2026, 3, 27, 17, 30)
    # No target: no clock; never-open hours: never due.
    assert due_at(SlaPolicy(targets=[]), OFFICE, "whatsapp", "normal", "first", since) is None
    assert due_at(POLICY, BusinessHours(always_open=False), "whatsapp", "normal", "first", since) is None
    with pytest.raises(ValueError):
        due_at(POLICY, OFFICE, "whatsapp", "normal", "last", since)


def test_due_at_over_the_fall_back_weekend():
    # Saturday 24 October 13:00 CEST, an 8 h next-response target (email/*: 480 min):
    # Saturday 13–14 (1 h), Monday 26 (CET) 09:00 + 7 h = 16:00 CET = 15:00 UTC.
    assert due_at(POLICY, OFFICE, "email", "normal", "next", madrid(2026, 10, 24, 13)) == utc(2026, 10, 26, 15)


def test_clock_state_green_amber_red():
    total = timedelta(minutes=60)
    due = utc(2026, 3, 2, 12)
    assert clock_state(due, due - 16 * M, total) == "green"  # 16 of 60 minutes left: more than 25 %
    assert clock_state(due, due - 15 * M, total) == "amber"  # exactly 25 % left
    assert clock_state(due, due - M, total) == "amber"
    assert clock_state(due, due, total) == "red"  # due now: breached
    assert clock_state(due, due + H, total) == "red"


def test_clock_state_counts_business_time_when_given_hours():
    # Due Monday 2 March 09:30 CET after a 60-min target. On Saturday 28 February at 14:00 CET (closing)
    # only 30 minutes of open time are left (Monday 09:00–09:30), though the wall clock says 43.5 hours.
    due = madrid(2026, 3, 2, 9, 30)
    now = madrid(2026, 2, 28, 14, 0)
    assert bh.time_left(due, now) == 43.5 * H
    assert bh.time_left(due, now, hours=OFFICE) == 30 * M
    assert clock_state(due, now, H) == "green"
    assert clock_state(due, now, H, hours=OFFICE) == "green"  # 30 of 60 min left
    # Saturday 13:50: 10 minutes Saturday + 30 minutes Monday.
    assert bh.time_left(due, madrid(2026, 2, 28, 13, 50), hours=OFFICE) == 40 * M
    # Monday 09:15: 15 of 60 minutes left, 25 %: amber; on the wall clock too.
    assert clock_state(due, madrid(2026, 3, 2, 9, 15), H, hours=OFFICE) == "amber"
    assert clock_state(due, madrid(2026, 3, 2, 9, 15), H) == "amber"
    assert clock_state(due, madrid(2026, 3, 2, 9, 30), H, hours=OFFICE) == "red"


def test_key_after_a_week_whose_only_interval_the_clock_skipped():
    # Sundays 02:10–02:50 in Madrid: on 29 March the clock skips 02:00–03:00, so that Sunday has no
    # opening; on Sunday 5 April at noon the closed period began on 22 March at 02:50 CET = 01:50 UTC.
    skipped = BusinessHours(timezone="Europe/Madrid", weekly={6: [("02:10", "02:50")]})
    assert closed_period_key(skipped, madrid(2026, 4, 5, 1)) == "2026-03-22T01:50:00+00:00"
    assert next_open(skipped, madrid(2026, 3, 23)) == utc(2026, 4, 5, 0, 10)  # 02:10 CEST
