"""KPIs on a real team database (SQLite and PostgreSQL, the same figures on both): a hand-built team whose
expected report is worked out in the comments, the local-hour volume across a DST change, the cost model,
the business seconds of a wait, and the response records a reply writes.

The team (all times UTC; the range is Mon 23 March 2026 00:00 to Mon 6 April 2026 00:00, end excluded;
Madrid is CET +01:00 until Sun 29 March 01:00 UTC, CEST +02:00 after; New York is EDT −04:00 throughout):

    conv  channel   assignee  status    created        resolved       case type          reopened
    C1    whatsapp  Ana       resolved  24 Mar 09:00   24 Mar 11:00   information.query  0   (7,200 s)
    C2    whatsapp  Ana       resolved  25 Mar 10:00   26 Mar 10:00   incident.claim     1   (86,400 s)
    C3    telegram  Ben       resolved  30 Mar 08:00   30 Mar 08:30   (none)             0   (1,800 s)
    C4    telegram  Ben       open      23 Mar 00:00   -              -                  0   waiting 2 h, due 30 min ago
    C5    whatsapp  -         open      1 Mar          -              -                  0   waiting 5 days, no target
    C6    whatsapp  Ana       pending   24 Mar         -              -                  0   not waiting
    C7    telegram  Ben       resolved  5 Apr          10 Apr (out)   information.query  0
    C8    whatsapp  Ana       snoozed   1 Apr          -              -                  0   waiting 10 min, not backlog
    C9    whatsapp  Ben       resolved  20 Mar 00:00   23 Mar 00:00   postsale.return    2   (259,200 s), at start
    C10   whatsapp  Ana       open      1 Apr          -              -                  0   waited 1 h, breached
    C11   telegram  Ana       open      1 Apr          -              -                  0   waiting 30 min, due +30

Customer messages in the range (8): #1 C1 24 Mar 09:00 negative, #2 C1 10:00 neutral, #3 C2 25 Mar 10:00
negative, #4 C2 26 Mar 09:00 (no sentiment), #5 C3 30 Mar 08:00 positive, #6 C4 23 Mar 00:00 neutral (the
start), #7 C4 29 Mar 00:30 neutral (CET), #8 C4 29 Mar 01:30 neutral (CEST). Outside: C5 1 Mar, C7 6 Apr
00:00 (the end). Agent replies in the range (5): Ana on C1 ×2 and C2, Ben on C2 and C3; not counted: an
out-of-hours reply without author on C5, Ben on C7 at the end.

Response records answered in the range (business seconds, target, met): R1 C1 Ana first 600 3600 yes;
R2 C1 Ana next 1800 7200 yes; R3 C2 Ana first 7200 3600 no; R4 C2 Ben next 300 none; R5 C3 Ben first 1200
1800 yes; R6 C4 Ben first, waited Fri 27 Mar 15:30 → Mon 30 Mar 07:30 = 230,400 s on the wall clock, 3,600
in Mon–Fri 09–17 Madrid hours, target 3600, answered exactly at its due moment: met. Outside: R7 at the end.

CSAT: S1 C1 Ana sent 24 Mar score 5; S2 C2 Ana sent 26 Mar score 2; S3 C3 Ben sent 30 Mar unanswered;
S4 C9 Ben sent 22 Mar (before) answered 23 Mar 01:00 score 4; S5 telegram Ben sent 5 Apr answered at the
end (excluded) score 1.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from services.channels.base import InboundMessage, WebhookBatch
from services.teamserver import businesshours as bh
from services.teamserver import care, kpi
from services.teamserver.db import init_db, make_engine
from services.teamserver.ingest import ingest_batches
from services.teamserver.models import (
    Agent, Conversation, CsatSurvey, Customer, Identity, Message, ResponseRecord,
)
from tests.support import DATABASES, team_database
from workstation import protocol

UTC = timezone.utc
START, END = datetime(2026, 3, 23, tzinfo=UTC), datetime(2026, 4, 6, tzinfo=UTC)
NOW = datetime(2026, 4, 6, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
# Mon–Fri 09:00–17:00 in Madrid.
OFFICE = bh.BusinessHours(timezone="Europe/Madrid", weekly={d: [("09:00", "17:00")] for d in range(5)})


def z(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def dist(count=0, median=None, p90=None, mean=None) -> protocol.Distribution:
    return protocol.Distribution(count=count, median=median, p90=p90, mean=mean)


@pytest.fixture(scope="module", params=DATABASES)
def team(request, tmp_path_factory):
    with team_database(request.param, tmp_path_factory.mktemp(f"kpi-{request.param}")) as url:
        engine = make_engine(url)
        init_db(engine)
        with Session(engine) as s:
            ids = build_team(s)
            s.commit()
        yield SimpleNamespace(engine=engine, kind=request.param, **ids)
        engine.dispose()


def build_team(s: Session) -> dict:
    lead, ana, ben = (Agent(email=f"{n}@kpi.test", name=name, role=role, password_hash="x")
                      for n, name, role in (("lead", "Lia Lead", "lead"), ("ana", "Ana", "agent"),
                                            ("ben", "Ben", "agent")))
    s.add_all([lead, ana, ben])
    s.flush()
    convs = {}

    def conv(name, channel, assignee, status, created, **kw):
        customer = Customer(display_name=name, created_at=created)
        s.add(customer)
        s.flush()
        identity = Identity(customer_id=customer.id, channel=channel, handle=f"h-{name}")
        s.add(identity)
        s.flush()
        c = Conversation(customer_id=customer.id, identity_id=identity.id, channel=channel, status=status,
                         assignee_id=assignee.id if assignee else None, created_at=created, **kw)
        s.add(c)
        s.flush()
        convs[name] = c
        return c

    c1 = conv("C1", "whatsapp", ana, "resolved", z(2026, 3, 24, 9), resolved_at=z(2026, 3, 24, 11),
              case_type="information.query")
    c2 = conv("C2", "whatsapp", ana, "resolved", z(2026, 3, 25, 10), resolved_at=z(2026, 3, 26, 10),
              case_type="incident.claim", reopened_count=1)
    c3 = conv("C3", "telegram", ben, "resolved", z(2026, 3, 30, 8), resolved_at=z(2026, 3, 30, 8, 30))
    c4 = conv("C4", "telegram", ben, "open", z(2026, 3, 23), waiting_since=NOW - 2 * H, sla_kind="first",
              sla_due_at=NOW - timedelta(minutes=30), sla_target_seconds=3600)
    c5 = conv("C5", "whatsapp", None, "open", z(2026, 3, 1), waiting_since=NOW - timedelta(days=5))
    conv("C6", "whatsapp", ana, "pending", z(2026, 3, 24))
    c7 = conv("C7", "telegram", ben, "resolved", z(2026, 4, 5), resolved_at=z(2026, 4, 10),
              case_type="information.query")
    conv("C8", "whatsapp", ana, "snoozed", z(2026, 4, 1), waiting_since=NOW - timedelta(minutes=10))
    c9 = conv("C9", "whatsapp", ben, "resolved", z(2026, 3, 20), resolved_at=START, case_type="postsale.return",
              reopened_count=2)
    conv("C10", "whatsapp", ana, "open", z(2026, 4, 1), waiting_since=NOW - H, sla_kind="next",
         sla_due_at=NOW - timedelta(minutes=10), sla_breached_at=NOW - timedelta(minutes=10))
    conv("C11", "telegram", ana, "open", z(2026, 4, 1), waiting_since=NOW - timedelta(minutes=30),
         sla_kind="first", sla_due_at=NOW + timedelta(minutes=30))

    def msg(c, direction, at, author=None, sentiment=None, kind="text"):
        s.add(Message(conversation_id=c.id, channel=c.channel, direction=direction, text="…", created_at=at,
                      author_agent_id=author.id if author else None, sentiment=sentiment, kind=kind))

    msg(c1, "in", z(2026, 3, 24, 9), sentiment="negative")
    msg(c1, "in", z(2026, 3, 24, 10), sentiment="neutral")
    msg(c2, "in", z(2026, 3, 25, 10), sentiment="negative")
    msg(c2, "in", z(2026, 3, 26, 9))
    msg(c3, "in", z(2026, 3, 30, 8), sentiment="positive")
    msg(c4, "in", START, sentiment="neutral")
    msg(c4, "in", z(2026, 3, 29, 0, 30), sentiment="neutral")
    msg(c4, "in", z(2026, 3, 29, 1, 30), sentiment="neutral")
    msg(c5, "in", z(2026, 3, 1, 10), sentiment="negative")
    msg(c7, "in", END, sentiment="negative")
    msg(c1, "out", z(2026, 3, 24, 9, 10), ana)
    msg(c1, "out", z(2026, 3, 24, 10, 30), ana)
    msg(c2, "out", z(2026, 3, 25, 12), ana)
    msg(c2, "out", z(2026, 3, 26, 9, 5), ben)
    msg(c3, "out", z(2026, 3, 30, 8, 20), ben)
    msg(c5, "out", z(2026, 3, 24, 9, 5), kind="auto_reply")
    msg(c7, "out", END, ben)

    def rr(c, agent, kind, answered, business, target=None, met=None, seconds=None, since=None):
        seconds = business if seconds is None else seconds
        s.add(ResponseRecord(conversation_id=c.id, channel=c.channel, agent_id=agent.id, kind=kind,
                             waited_from=since or answered - timedelta(seconds=seconds), answered_at=answered,
                             seconds=seconds, business_seconds=business, target_seconds=target, met=met))

    rr(c1, ana, "first", z(2026, 3, 24, 9, 10), 600, 3600, True)
    rr(c1, ana, "next", z(2026, 3, 24, 10, 30), 1800, 7200, True)
    rr(c2, ana, "first", z(2026, 3, 25, 12), 7200, 3600, False)
    rr(c2, ben, "next", z(2026, 3, 26, 9, 5), 300)
    rr(c3, ben, "first", z(2026, 3, 30, 8, 20), 1200, 1800, True)
    friday, monday = z(2026, 3, 27, 15, 30), z(2026, 3, 30, 7, 30)
    due = bh.add_business_time(OFFICE, friday, timedelta(hours=1))
    rr(c4, ben, "first", monday, bh.business_seconds_between(OFFICE, friday, monday), 3600, monday <= due,
       seconds=int((monday - friday).total_seconds()), since=friday)
    rr(c7, ben, "first", END, 99999, 60, False)

    def survey(c, agent, sent, score=None, answered=None):
        s.add(CsatSurvey(conversation_id=c.id, customer_id=c.customer_id, agent_id=agent.id, channel=c.channel,
                         sent_at=sent, score=score, answered_at=answered))

    survey(c1, ana, z(2026, 3, 24, 11), 5, z(2026, 3, 24, 12))
    survey(c2, ana, z(2026, 3, 26, 10), 2, z(2026, 3, 27))
    survey(c3, ben, z(2026, 3, 30, 9))
    survey(c9, ben, z(2026, 3, 22), 4, z(2026, 3, 23, 1))
    survey(c7, ben, z(2026, 4, 5), 1, END)
    return {"lead": lead.id, "ana": ana.id, "ben": ben.id, "convs": {k: v.id for k, v in convs.items()}}


def report(team, **kw) -> protocol.KpiReport:
    with Session(team.engine) as s:
        return kpi.report(s, START, END, now=NOW, **{"tz": "Europe/Madrid", **kw})


# -- the whole team -------------------------------------------------------------------------------------------
def test_the_fixture_wait_is_an_hour_of_business_time_and_met_at_its_due_moment():
    friday, monday = z(2026, 3, 27, 15, 30), z(2026, 3, 30, 7, 30)
    # Fri 16:30–17:00 CET and Mon 09:00–09:30 CEST; the weekend and the DST night do not count.
    assert bh.business_seconds_between(OFFICE, friday, monday) == 3600
    assert bh.add_business_time(OFFICE, friday, timedelta(hours=1)) == monday


def test_team_totals(team):
    r = report(team)
    t = r.totals
    assert (t.key, t.label) == ("all", "")
    # C1–C4 had customer messages in the range (8 of them); 5 agent replies (no auto-reply, nothing at the end).
    assert (t.conversations, t.inbound, t.outbound) == (4, 8, 5)
    # C1, C2, C3 and C9 (resolved exactly at the start); C2 and C9 had reopened.
    assert (t.resolved, t.reopened, t.reopen_rate) == (4, 2, 0.5)
    # First: 600, 1200, 3600, 7200 → median rank 2, p90 rank ceil(3.6) = 4, mean 12600/4.
    assert t.first_response == dist(4, 1200, 7200, 3150)
    # Next: 300, 1800 → median rank 1, p90 rank 2.
    assert t.next_response == dist(2, 300, 1800, 1050)
    # Resolution: 1800, 7200, 86400, 259200 → rank 2 and rank 4; mean 354600/4.
    assert t.resolution == dist(4, 7200, 259200, 88650)
    # Targets on R1, R2, R3, R5, R6; R3 missed.
    assert (t.sla_met, t.sla_total, t.sla_compliance) == (4, 5, 0.8)
    # Answers 5, 2, 4 (S4 answered in the range though sent before); sent S1, S2, S3, S5.
    assert (t.csat_count, t.csat_average, t.csat_sent) == (3, 3.667, 4)


def test_mixes_and_histograms(team):
    r = report(team)
    assert r.case_types == {"": 1, "incident.claim": 1, "information.query": 1, "postsale.return": 1}
    assert r.sentiment == {"": 1, "negative": 2, "neutral": 4, "positive": 1}
    assert r.csat_scores == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}
    assert (r.timezone, r.start, r.end, r.channel, r.agent_id) == ("Europe/Madrid", START, END, None, None)


def test_volume_by_local_hour_and_weekday_across_the_dst_change(team):
    # Madrid: #1 10:00 Tue, #2 11:00 Tue, #3 11:00 Wed, #4 10:00 Thu (CET, +1); #5 10:00 Mon (CEST, +2);
    # #6 01:00 Mon, #7 01:30 Sun (CET), #8 03:30 Sun (CEST: 01:30 UTC is past the 01:00 UTC change).
    r = report(team)
    assert r.volume_by_hour == hours({1: 2, 3: 1, 10: 3, 11: 2})
    assert r.volume_by_weekday == [2, 2, 1, 1, 0, 0, 2]


def test_volume_in_utc_and_in_a_zone_behind_utc(team):
    r = report(team, tz="UTC")
    assert r.volume_by_hour == hours({0: 2, 1: 1, 8: 1, 9: 2, 10: 2})
    assert r.volume_by_weekday == [2, 2, 1, 1, 0, 0, 2]
    # New York (EDT, −4): #1 05:00 Tue, #2 06:00 Tue, #3 06:00 Wed, #4 05:00 Thu, #5 04:00 Mon,
    # #6 20:00 Sun 22 Mar, #7 20:30 Sat, #8 21:30 Sat.
    r = report(team, tz="America/New_York")
    assert r.volume_by_hour == hours({4: 1, 5: 2, 6: 2, 20: 2, 21: 1})
    assert r.volume_by_weekday == [1, 2, 1, 1, 0, 2, 1]


def hours(counts: dict[int, int]) -> list[int]:
    return [counts.get(h, 0) for h in range(24)]


def test_rows_by_channel(team):
    rows = {row.key: row for row in report(team).by_channel}
    assert list(rows) == ["telegram", "whatsapp"]
    tg, wa = rows["telegram"], rows["whatsapp"]
    assert tg.label == "telegram"
    assert (tg.conversations, tg.inbound, tg.outbound, tg.resolved, tg.reopened, tg.reopen_rate) == (2, 4, 1, 1, 0, 0.0)
    assert tg.first_response == dist(2, 1200, 3600, 2400)  # R5, R6
    assert tg.next_response == dist()
    assert tg.resolution == dist(1, 1800, 1800, 1800)
    assert (tg.sla_met, tg.sla_total, tg.sla_compliance) == (2, 2, 1.0)
    assert (tg.csat_count, tg.csat_average, tg.csat_sent) == (0, None, 2)
    assert (wa.conversations, wa.inbound, wa.outbound, wa.resolved, wa.reopened) == (2, 4, 4, 3, 2)
    assert wa.reopen_rate == pytest.approx(2 / 3)
    assert wa.first_response == dist(2, 600, 7200, 3900)  # R1, R3
    assert wa.next_response == dist(2, 300, 1800, 1050)  # R4, R2
    # 7200, 86400, 259200: median rank 2, p90 rank ceil(2.7) = 3; mean 352800/3.
    assert wa.resolution == dist(3, 86400, 259200, 117600)
    assert (wa.sla_met, wa.sla_total, wa.csat_count, wa.csat_average, wa.csat_sent) == (2, 3, 3, 3.667, 2)


def test_rows_by_agent_attribute_replies_by_author_and_resolutions_by_assignee(team):
    rows = report(team).by_agent
    assert [(row.key, row.label) for row in rows] == [(str(team.ana), "Ana"), (str(team.ben), "Ben")], \
        "the lead did nothing in the range"
    ana, ben = rows
    # Ana: customer messages on C1 and C2 (assigned to her); three replies; C1 and C2 resolved.
    assert (ana.conversations, ana.inbound, ana.outbound, ana.resolved, ana.reopened) == (2, 4, 3, 2, 1)
    assert ana.first_response == dist(2, 600, 7200, 3900)
    assert ana.next_response == dist(1, 1800, 1800, 1800)
    assert ana.resolution == dist(2, 7200, 86400, 46800)
    assert (ana.sla_met, ana.sla_total, ana.csat_count, ana.csat_average, ana.csat_sent) == (2, 3, 2, 3.5, 2)
    # Ben: C3 and C4; replies on C2 (Ana's) and C3; C3 and C9 resolved; R4 (no target), R5, R6.
    assert (ben.conversations, ben.inbound, ben.outbound, ben.resolved, ben.reopened) == (2, 4, 2, 2, 1)
    assert ben.first_response == dist(2, 1200, 3600, 2400)
    assert ben.next_response == dist(1, 300, 300, 300)
    assert ben.resolution == dist(2, 1800, 259200, 130500)
    assert (ben.sla_met, ben.sla_total, ben.csat_count, ben.csat_average, ben.csat_sent) == (2, 2, 1, 4.0, 2)


def test_backlog_now_whatever_the_range(team):
    b = report(team).backlog
    # Open or pending: C4, C5, C6, C10, C11 (C8 is snoozed); waiting: all but C6; breached: C4 (past due)
    # and C10 (marked); C10 waited exactly an hour, so it is in 1-4h.
    assert (b.open, b.waiting, b.breached, b.oldest_wait_seconds) == (5, 4, 2, 5 * 24 * 3600)
    assert b.age == {"<1h": 1, "1-4h": 2, "4-24h": 0, "1-3d": 0, ">3d": 1}
    with Session(team.engine) as s:
        ana = kpi.backlog(s, NOW, agent_id=team.ana)
    assert (ana.open, ana.waiting, ana.breached, ana.oldest_wait_seconds) == (3, 2, 1, 3600)
    assert ana.age == {"<1h": 1, "1-4h": 1, "4-24h": 0, "1-3d": 0, ">3d": 0}


def test_one_agents_figures(team):
    r = report(team, agent_id=team.ana)
    assert r.agent_id == team.ana
    assert [row.key for row in r.by_agent] == [str(team.ana)]
    assert r.totals.model_dump(exclude={"key", "label"}) == r.by_agent[0].model_dump(exclude={"key", "label"})
    assert [row.key for row in r.by_channel] == ["whatsapp"]
    assert r.volume_by_hour == hours({10: 2, 11: 2})  # #1–#4
    assert (r.backlog.open, r.backlog.waiting) == (3, 2)
    assert r.case_types == {"incident.claim": 1, "information.query": 1}
    assert r.csat_scores == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}
    # The lead did nothing: a row of zeros, still there.
    idle = report(team, agent_id=team.lead)
    assert [(row.key, row.inbound, row.outbound, row.resolved) for row in idle.by_agent] == [(str(team.lead), 0, 0, 0)]
    assert idle.totals.first_response == dist() and idle.volume_by_hour == [0] * 24


def test_one_channel(team):
    r = report(team, channel="telegram")
    assert [row.key for row in r.by_channel] == ["telegram"]
    assert (r.totals.inbound, r.totals.outbound, r.totals.resolved) == (4, 1, 1)
    # Ben only: Ana's telegram conversation (C11) has nothing in the range.
    assert [(row.key, row.inbound, row.outbound, row.csat_sent) for row in r.by_agent] == [(str(team.ben), 4, 1, 2)]
    assert [c.channel for c in r.cost] == ["telegram", "all"]
    assert (r.backlog.open, r.backlog.breached) == (2, 1)  # C4, C11
    empty = report(team, channel="email")
    assert [(row.key, row.inbound) for row in empty.by_channel] == [("email", 0)]
    assert empty.totals.resolution == dist() and empty.by_agent == []


def test_cost_per_contact(team):
    with Session(team.engine) as s:
        assert kpi.load_cost(s) == protocol.CostSettings()
        kpi.save_cost(s, protocol.CostSettings(currency="USD", agent_cost_per_hour=20, handle_minutes_per_reply=3,
                                               phone_cost_per_contact=5, call_deflection=0.5))
        s.commit()
    try:
        r = report(team)
        assert r.cost_settings.currency == "USD"
        cost = {row.channel: row for row in r.cost}
        assert [row.channel for row in r.cost] == ["telegram", "whatsapp", "all"]
        # whatsapp: 4 replies × 3 min = 0.2 h × 20 = 4.00; 3 resolved × 0.5 × 5 = 7.50; saving 3.50; roi 0.875.
        wa = cost["whatsapp"]
        assert (wa.resolved, wa.replies, wa.agent_hours, wa.cost, wa.cost_per_resolved) == (3, 4, 0.2, 4.0, 1.33)
        assert (wa.phone_baseline, wa.saving, wa.roi) == (7.5, 3.5, 0.875)
        # telegram: 1 reply = 0.05 h = 1.00; 1 resolved → 2.50; saving 1.50; roi 1.5.
        tg = cost["telegram"]
        assert (tg.agent_hours, tg.cost, tg.cost_per_resolved, tg.phone_baseline, tg.saving, tg.roi) == \
            (0.05, 1.0, 1.0, 2.5, 1.5, 1.5)
        # all: 5 replies = 0.25 h = 5.00; 4 resolved → 10.00; saving 5.00; roi 1.0; 1.25 per resolution.
        al = cost["all"]
        assert (al.resolved, al.replies, al.cost, al.cost_per_resolved, al.phone_baseline, al.saving, al.roi) == \
            (4, 5, 5.0, 1.25, 10.0, 5.0, 1.0)
    finally:
        with Session(team.engine) as s:
            kpi.save_cost(s, protocol.CostSettings())
            s.commit()


def test_cost_with_nothing_spent_or_resolved():
    row = kpi.cost_row("email", resolved=0, replies=0, settings=protocol.CostSettings())
    assert (row.cost, row.cost_per_resolved, row.roi, row.saving) == (0.0, None, None, 0.0)


@pytest.mark.parametrize(("start", "end", "tz", "message"), [
    (END, START, "UTC", "before"),
    (START, START, "UTC", "before"),
    (START, START + timedelta(days=401), "UTC", "400 days"),
    (START.replace(tzinfo=None), END, "UTC", "offset"),
    (START, END, "Mars/Olympus", "time zone"),
    (START, END, "../../etc/passwd", "time zone"),
])
def test_bad_ranges_and_zones_are_refused(start, end, tz, message):
    with pytest.raises(ValueError, match=message):
        kpi.check_range(start, end, tz)


# -- time-zone offsets ----------------------------------------------------------------------------------------
def test_utc_offsets_find_each_change_to_the_second():
    madrid = ZoneInfo("Europe/Madrid")
    assert kpi.utc_offsets(madrid, START, END) == [(z(2026, 3, 29, 1), 3600), (None, 7200)]
    # March to December: forward in March, back on 25 October at 01:00 UTC.
    assert kpi.utc_offsets(madrid, z(2026, 3, 1), z(2026, 12, 1)) == [
        (z(2026, 3, 29, 1), 3600), (z(2026, 10, 25, 1), 7200), (None, 3600)]
    assert kpi.utc_offsets(ZoneInfo("UTC"), START, END) == [(None, 0)]
    # Half-hour DST (Lord Howe: +11:00 to +10:30 on 5 April 2026 at 02:00 local, 15:00 UTC on the 4th).
    assert kpi.utc_offsets(ZoneInfo("Australia/Lord_Howe"), START, END) == [(z(2026, 4, 4, 15), 39600), (None, 37800)]


# -- business seconds of a wait --------------------------------------------------------------------------------
def test_business_seconds_inside_hours_and_on_an_empty_span():
    assert bh.business_seconds_between(OFFICE, z(2026, 3, 24, 9), z(2026, 3, 24, 10, 30)) == 5400
    assert bh.business_seconds_between(OFFICE, z(2026, 3, 24, 10), z(2026, 3, 24, 9)) == 0
    # Part of a second is not counted.
    assert bh.business_seconds_between(OFFICE, z(2026, 3, 24, 9), z(2026, 3, 24, 9, 0, 0, 900000)) == 0


def test_business_seconds_across_a_weekend_and_the_fall_back_change():
    # Sat 24 Oct 14:00 CEST → Mon 26 Oct 10:00 CET (09:00 UTC): only Monday 09:00–10:00 counts.
    assert bh.business_seconds_between(OFFICE, z(2026, 10, 24, 12), z(2026, 10, 26, 9)) == 3600
    # Open round the clock: the fall-back day has 25 real hours, and all of them count.
    always = bh.BusinessHours(timezone="Europe/Madrid", weekly={d: [("00:00", "24:00")] for d in range(7)})
    assert bh.business_seconds_between(always, z(2026, 10, 24, 22), z(2026, 10, 25, 23)) == 25 * 3600
    assert bh.business_seconds_between(bh.ALWAYS_OPEN, z(2026, 10, 24, 22), z(2026, 10, 25, 23)) == 25 * 3600


def test_business_seconds_of_a_very_long_wait_do_not_raise():
    start, end = z(2000, 1, 3), z(2030, 1, 3)
    assert bh.business_seconds_between(bh.ALWAYS_OPEN, start, end) == bh.MAX_SEARCH_DAYS * 86400


# -- response records written when an agent answers -----------------------------------------------------------
@pytest.fixture(params=DATABASES)
def engine(request, tmp_path):
    with team_database(request.param, tmp_path) as url:
        engine = make_engine(url)
        init_db(engine)
        yield engine
        engine.dispose()


def inbound(engine, handle: str, at: datetime) -> int:
    message = InboundMessage(channel="whatsapp", account_id="1", provider_message_id=f"{handle}-{at.isoformat()}",
                             sender_handle=handle, sender_name="", kind="text", text="hola", sent_at=at)
    with Session(engine) as s:
        ingest_batches(s, [WebhookBatch(messages=[message])])
        s.commit()
        return s.exec(select(Conversation.id).join(Identity, Identity.id == Conversation.identity_id)
                      .where(Identity.handle == handle)).one()


def answer(engine, conversation_id: int, at: datetime, agent_id: int | None) -> None:
    with Session(engine) as s:
        c = s.get(Conversation, conversation_id)
        care.answered(c, at, session=s, agent_id=agent_id)
        s.add(c)
        s.commit()


def records(engine, conversation_id: int) -> list[ResponseRecord]:
    with Session(engine) as s:
        rows = s.exec(select(ResponseRecord).where(ResponseRecord.conversation_id == conversation_id)
                      .order_by(ResponseRecord.id)).all()
        for row in rows:
            s.expunge(row)
        return rows


def test_answers_record_first_then_next_with_business_seconds_and_met(engine):
    with Session(engine) as s:
        care.save(s, protocol.CareSettings(
            hours={"*": OFFICE.model_dump(mode="json")}, auto_reply={"enabled": False},
            sla={"targets": [{"channel": "*", "priority": "*", "first_response_minutes": 60,
                              "next_response_minutes": 30}], "business_hours": True}))
        agent = Agent(email="a@kpi.test", name="A", password_hash="x")
        s.add(agent)
        s.commit()
        agent_id = agent.id
    friday, monday = z(2026, 3, 27, 15, 30), z(2026, 3, 30, 7, 30)
    cid = inbound(engine, "r1", friday)
    answer(engine, cid, monday, agent_id)  # exactly at the due moment: met
    inbound(engine, "r1", z(2026, 3, 30, 8))  # Mon 10:00 CEST, next response due 10:30
    answer(engine, cid, z(2026, 3, 30, 8, 45), agent_id)  # 45 min: missed
    answer(engine, cid, z(2026, 3, 30, 9), agent_id)  # nobody waiting: no record
    first, later = records(engine, cid)
    assert (first.kind, first.agent_id, first.channel, first.priority) == ("first", agent_id, "whatsapp", "normal")
    assert (first.waited_from, first.answered_at) == (friday, monday)
    assert (first.seconds, first.business_seconds, first.target_seconds, first.met) == (230400, 3600, 3600, True)
    assert (later.kind, later.seconds, later.business_seconds, later.target_seconds, later.met) == \
        ("next", 2700, 2700, 1800, False)


def test_a_wait_without_a_target_is_recorded_without_one(engine):
    with Session(engine) as s:
        care.save(s, protocol.CareSettings(sla={"targets": [], "business_hours": False}))
        s.commit()
    cid = inbound(engine, "r2", z(2026, 3, 28, 12))  # a Saturday: the wall clock counts it all
    answer(engine, cid, z(2026, 3, 28, 13), None)
    (row,) = records(engine, cid)
    assert (row.kind, row.seconds, row.business_seconds, row.target_seconds, row.met) == \
        ("first", 3600, 3600, None, None)
