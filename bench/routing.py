"""The router at team scale: one routing pass over a big queue, on SQLite and PostgreSQL.

A team database with `--conversations` open unassigned conversations (default 20,000) and `--agents`
available agents (default 50, capacity 5 each, half of them with a shift schedule). Measured:
- `hand out`: the pass that assigns a full team's worth (agents × capacity) from the big queue;
- `full team, queue waiting`: a pass when every agent is at capacity and the queue is still long (what the
  router does after every change while the team is saturated);
- baseline: the pass with nothing to do (no one available), the router's read-only look, in the same run.

    uv run python bench/routing.py [--conversations N] [--agents N] [--db sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import json
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

from services.teamserver import routing  # noqa: E402
from services.teamserver.db import init_db, make_engine  # noqa: E402
from services.teamserver.models import Agent, Conversation, Customer, Identity  # noqa: E402
from tests.support import team_database  # noqa: E402
from workstation import protocol  # noqa: E402

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)


def fill(engine, conversations: int, agents: int) -> None:
    C, I, V, A = Customer.__table__, Identity.__table__, Conversation.__table__, Agent.__table__
    with engine.begin() as conn:
        conn.execute(sa.insert(A), [{
            "email": f"a{i}@bench.test", "name": f"Agent {i}", "role": "agent", "password_hash": "x",
            "created_at": NOW, "status": "offline", "timezone": "Europe/Madrid",
            "shifts": json.dumps([{"weekday": d, "start": "08:00", "end": "20:00"} for d in range(7)] if i % 2 else []),
            "capacity": "{}", "last_seen_at": NOW + timedelta(days=1),
        } for i in range(agents)])
        for start in range(0, conversations, 5000):
            n = min(5000, conversations - start)
            cids = conn.execute(sa.insert(C).returning(C.c.id, sort_by_parameter_order=True),
                                [{"display_name": f"C{start + k}", "created_at": NOW} for k in range(n)]).scalars().all()
            iids = conn.execute(sa.insert(I).returning(I.c.id, sort_by_parameter_order=True),
                                [{"customer_id": c, "channel": "whatsapp", "handle": f"34{start + k:09d}",
                                  "display_name": ""} for k, c in enumerate(cids)]).scalars().all()
            conn.execute(sa.insert(V), [{
                "customer_id": c, "identity_id": i, "channel": "whatsapp" if k % 3 else "telegram",
                "status": "open", "version": 1, "inbound_count": 1, "last_message_preview": "hola",
                "created_at": NOW - timedelta(seconds=conversations - start - k),
                "waiting_since": NOW - timedelta(seconds=conversations - start - k),
            } for k, (c, i) in enumerate(zip(cids, iids))])
    with Session(engine) as s:
        routing.save_settings(s, protocol.RoutingSettings(default_capacity=5, reclaim_minutes=0,
                                                          offline_grace_seconds=3600))
        s.commit()


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def run(kind: str, conversations: int, agents: int, repeat: int) -> None:
    with team_database(kind, Path(tempfile.mkdtemp(prefix="bench-routing-"))) as url:
        engine = make_engine(url)
        init_db(engine)
        t0 = time.perf_counter()
        fill(engine, conversations, agents)
        print(f"[{kind}] {conversations:,} queued conversations, {agents} agents (filled in "
              f"{time.perf_counter() - t0:.1f} s)")
        idle = timed(lambda: routing.route_once(engine, NOW), repeat)
        with engine.begin() as conn:
            conn.execute(sa.update(Agent.__table__).values(status="available"))
        assigned: list[int] = []
        hand_out = timed(lambda: assigned.append(len(routing.route_once(engine, NOW).assigned)), 1)
        saturated = timed(lambda: routing.route_once(engine, NOW), repeat)
        base = statistics.median(idle)
        print(f"  nothing to do (baseline)        median {base * 1000:7.2f} ms")
        print(f"  hand out {assigned[0]:>4} conversations     {hand_out[0] * 1000:7.1f} ms  "
              f"({hand_out[0] / max(1, assigned[0]) * 1000:.2f} ms each; x{hand_out[0] / base:.0f} the baseline)")
        print(f"  full team, queue waiting        median {statistics.median(saturated) * 1000:7.2f} ms  "
              f"(x{statistics.median(saturated) / base:.1f} the baseline)")
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    for kind in (("sqlite", "postgresql") if args.db == "both" else (args.db,)):
        run(kind, args.conversations, args.agents, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
