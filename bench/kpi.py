"""The KPI report at team scale, on SQLite and PostgreSQL.

A team database with `--conversations` conversations (default 50,000) over the last 90 days, six messages
each (300,000: customer, agent, customer, agent, …), a response record for every agent reply, 70 % of them
resolved (some reopened), CSAT surveys for a third of those, sentiment on the customer messages, 50 agents
and six channels. Measured (medians of `--repeat` runs, a fresh session each):
- the lead's 30-day report for the whole team in Europe/Madrid (`kpi.report`, every figure and row);
- the same for one agent, and for one channel;
- baseline: `SELECT COUNT(*)` of the messages in the same 30 days, in the same run.

    uv run python bench/kpi.py [--conversations N] [--repeat N] [--db sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlmodel import Session  # noqa: E402

from services.teamserver import kpi  # noqa: E402
from services.teamserver.db import init_db, make_engine  # noqa: E402
from services.teamserver.models import (  # noqa: E402
    Agent, Conversation, CsatSurvey, Customer, Identity, Message, ResponseRecord,
)
from tests.support import team_database  # noqa: E402

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
CHANNELS = ("whatsapp", "messenger", "instagram", "x", "telegram", "email")
CASE_TYPES = ("information.query", "information.request", "incident.claim", "incident.complaint",
              "postsale.return", "postsale.warranty", None)
SENTIMENTS = ("negative", "neutral", "neutral", "positive", None)
PER_CONVERSATION = 6
BATCH = 5000


def fill(engine, conversations: int, agents: int, seed: int = 11) -> dict[str, int]:
    rng = random.Random(seed)
    C, I, V, M, R, S, A = (t.__table__ for t in (Customer, Identity, Conversation, Message, ResponseRecord,
                                                 CsatSurvey, Agent))
    counts = dict(messages=0, responses=0, surveys=0)
    with engine.begin() as conn:
        conn.execute(sa.insert(A), [{"email": f"a{i}@bench.test", "name": f"Agent {i:02d}", "role": "agent",
                                     "password_hash": "x", "created_at": NOW, "status": "offline", "timezone": "UTC",
                                     "shifts": "[]", "capacity": "{}"} for i in range(agents)])
        agent_ids = conn.execute(sa.select(A.c.id)).scalars().all()
    for start in range(0, conversations, BATCH):
        n = min(BATCH, conversations - start)
        with engine.begin() as conn:
            cids = conn.execute(sa.insert(C).returning(C.c.id, sort_by_parameter_order=True),
                                [{"display_name": f"C{start + k}", "created_at": NOW} for k in range(n)]).scalars().all()
            plans = []
            for k, cid in enumerate(cids):
                channel = CHANNELS[rng.randrange(len(CHANNELS))]
                created = NOW - timedelta(seconds=rng.randrange(90 * 86400))
                times, t = [], created
                for j in range(PER_CONVERSATION):
                    times.append(t)
                    # An answer within minutes to hours; the customer's next message within a day.
                    t += timedelta(seconds=rng.randrange(60, 4 * 3600) if j % 2 == 0 else rng.randrange(600, 86400))
                resolved = rng.random() < 0.7 and times[-1] < NOW
                plans.append(dict(channel=channel, created=created, times=times, agent=rng.choice(agent_ids),
                                  resolved_at=times[-1] + timedelta(minutes=rng.randrange(1, 600)) if resolved else None,
                                  handle=f"h{start + k}", customer=cid))
            iids = conn.execute(sa.insert(I).returning(I.c.id, sort_by_parameter_order=True),
                                [{"customer_id": p["customer"], "channel": p["channel"], "handle": p["handle"],
                                  "display_name": ""} for p in plans]).scalars().all()
            vids = conn.execute(sa.insert(V).returning(V.c.id, sort_by_parameter_order=True), [{
                "customer_id": p["customer"], "identity_id": iid, "channel": p["channel"],
                "status": "resolved" if p["resolved_at"] else rng.choice(("open", "open", "pending", "snoozed")),
                "assignee_id": p["agent"], "version": 1, "inbound_count": PER_CONVERSATION // 2,
                "last_message_preview": "…", "created_at": p["created"], "resolved_at": p["resolved_at"],
                "case_type": rng.choice(CASE_TYPES) if p["resolved_at"] else None,
                "reopened_count": 1 if rng.random() < 0.08 else 0, "priority": "normal",
                "waiting_since": None if p["resolved_at"] else NOW - timedelta(seconds=rng.randrange(7 * 86400)),
                "sla_due_at": None if p["resolved_at"] else NOW + timedelta(seconds=rng.randrange(-7200, 7200)),
            } for p, iid in zip(plans, iids)]).scalars().all()
            messages, responses, surveys = [], [], []
            for p, vid in zip(plans, vids):
                for j, at in enumerate(p["times"]):
                    if at >= NOW:
                        break
                    inbound = j % 2 == 0
                    messages.append({"conversation_id": vid, "channel": p["channel"], "direction": "in" if inbound else "out",
                                     "author_agent_id": None if inbound else p["agent"], "text": "…", "kind": "text",
                                     "delivery_state": "delivered", "created_at": at,
                                     "sentiment": rng.choice(SENTIMENTS) if inbound else None})
                    if not inbound:
                        waited = int((at - p["times"][j - 1]).total_seconds())
                        target = 3600 if j == 1 else 7200
                        responses.append({"conversation_id": vid, "channel": p["channel"], "agent_id": p["agent"],
                                          "kind": "first" if j == 1 else "next", "priority": "normal",
                                          "waited_from": p["times"][j - 1], "answered_at": at, "seconds": waited,
                                          "business_seconds": int(waited * rng.uniform(0.3, 1.0)),
                                          "target_seconds": target, "met": waited <= target})
                if p["resolved_at"] and rng.random() < 0.33:
                    answered = rng.random() < 0.6
                    surveys.append({"conversation_id": vid, "customer_id": p["customer"], "agent_id": p["agent"],
                                    "channel": p["channel"], "sent_at": p["resolved_at"],
                                    "score": rng.randint(1, 5) if answered else None,
                                    "answered_at": p["resolved_at"] + timedelta(minutes=5) if answered else None})
            for table, rows in ((M, messages), (R, responses), (S, surveys)):
                if rows:
                    conn.execute(sa.insert(table), rows)
            counts["messages"] += len(messages)
            counts["responses"] += len(responses)
            counts["surveys"] += len(surveys)
    return counts


def timed(fn, repeat: int) -> tuple[list[float], object]:
    out, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        out.append(time.perf_counter() - t0)
    return out, result


def run(kind: str, conversations: int, agents: int, repeat: int) -> None:
    with team_database(kind, Path(tempfile.mkdtemp(prefix="bench-kpi-"))) as url:
        engine = make_engine(url)
        init_db(engine)
        t0 = time.perf_counter()
        counts = fill(engine, conversations, agents)
        if kind == "postgresql":
            with engine.connect() as conn:
                conn.execute(sa.text("ANALYZE"))
        print(f"[{kind}] {conversations:,} conversations, {counts['messages']:,} messages, "
              f"{counts['responses']:,} response records, {counts['surveys']:,} surveys, {agents} agents "
              f"(filled in {time.perf_counter() - t0:.1f} s)")
        start, end = NOW - timedelta(days=30), NOW
        some_agent = 1

        def count_messages():
            with Session(engine) as s:
                return s.execute(sa.select(sa.func.count()).select_from(Message.__table__).where(
                    Message.__table__.c.created_at >= start, Message.__table__.c.created_at < end)).scalar_one()

        def report(**kw):
            def go():
                with Session(engine) as s:
                    return kpi.report(s, start, end, tz="Europe/Madrid", now=NOW, **kw)
            return go

        base_times, in_range = timed(count_messages, repeat)
        team_times, team = timed(report(), repeat)
        agent_times, one = timed(report(agent_id=some_agent), repeat)
        channel_times, wa = timed(report(channel="whatsapp"), repeat)
        base = statistics.median(base_times)
        print(f"  COUNT(*) of the {in_range:,} messages in 30 days (baseline)  median {base * 1000:8.1f} ms")
        for label, times in (("30-day report, whole team", team_times), ("30-day report, one agent", agent_times),
                             ("30-day report, one channel", channel_times)):
            m = statistics.median(times)
            print(f"  {label:<55} median {m * 1000:8.1f} ms  (x{m / base:.1f} the baseline)")
        t = team.totals
        print(f"  figures: {t.conversations:,} conversations, {t.inbound:,} in / {t.outbound:,} out, "
              f"{t.resolved:,} resolved (reopen {t.reopen_rate:.1%}), first response median "
              f"{t.first_response.median:,.0f} s p90 {t.first_response.p90:,.0f} s, SLA {t.sla_compliance:.1%}, "
              f"CSAT {t.csat_average} ({t.csat_count:,}), backlog {team.backlog.open:,}, "
              f"{len(team.by_channel)} channels, {len(team.by_agent)} agents")
        print(f"  one agent: {one.totals.outbound:,} replies; whatsapp: {wa.totals.inbound:,} customer messages")
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=50_000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    for kind in (("sqlite", "postgresql") if args.db == "both" else (args.db,)):
        run(kind, args.conversations, args.agents, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
