"""Linking new customers on exact evidence at team scale, on SQLite and PostgreSQL.

A team database with `--customers` customers (default 100,000), one in ten with a CRM "phone" (written with
separators, as agents type them) and their evidence indexed. Measured (medians of `--repeat` runs): one ingest
group's lookup for 10 new WhatsApp senders, one of them a known phone (`identities.linked_customers`, what the
webhook writer runs per group with new senders). Baseline, same run: the way it was done before the evidence
table, a LIKE scan of every customer's JSON fields with the same senders (and it must find the same customer).

    uv run python bench/evidence.py [--customers N] [--repeat N] [--db sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from services.teamserver import identities  # noqa: E402
from services.teamserver.db import init_db, make_engine  # noqa: E402
from tests.support import team_database  # noqa: E402

SEPARATORS = (" ", "-", ".", "(", ")", "/", "\u00a0", "\\u00a0")


def fill(engine, customers: int) -> None:
    now = datetime.now(timezone.utc)
    rows = [{"display_name": f"Customer {i}", "created_at": now, "tags": "[]", "notes": "",
             "fields": json.dumps({"phone": f"+34 6{i:02d}-{i % 1000:03d} {i:06d}"[:20], "plan": "Gold"})
             if i % 10 == 0 else "{}"} for i in range(customers)]
    with engine.begin() as conn:
        for i in range(0, len(rows), 10_000):
            conn.execute(identities.C.insert(), rows[i:i + 10_000])
        evidence = [{"customer_id": cid, "kind": kind, "value": value}
                    for cid, fields in conn.execute(sa.select(identities.C.c.id, identities.C.c.fields))
                    for kind, value in identities.field_evidence(fields)]
        for i in range(0, len(evidence), 10_000):
            conn.execute(identities.E.insert(), evidence[i:i + 10_000])


def scan(conn, keys) -> dict:
    """The lookup before the evidence table: LIKE over every customer's fields, exact check in Python."""
    wanted = {key: ev for key in keys if (ev := identities.evidence(*key)) is not None}
    candidates: dict = {ev: set() for ev in wanted.values()}
    stripped = identities.C.c.fields
    for text in SEPARATORS:
        stripped = sa.func.replace(stripped, text, "")
    stripped = sa.func.lower(stripped)
    values = sorted(value for _, value in candidates)
    needles = ['%"' + value.lower() + '"%' for value in values]
    rows = conn.execute(sa.select(identities.C.c.id, identities.C.c.fields).where(
        sa.func.lower(identities.C.c.fields).like('%phone"%'), sa.or_(*(stripped.like(n) for n in needles))))
    for customer_id, fields in rows:
        for ev in identities.field_evidence(fields) & candidates.keys():
            candidates[ev].add(customer_id)
    return {key: next(iter(candidates[ev])) for key, ev in wanted.items() if len(candidates[ev]) == 1}


def timed(engine, fn, keys, repeat: int) -> tuple[float, dict]:
    times, found = [], {}
    for _ in range(repeat):
        with engine.connect() as conn:
            start = time.perf_counter()
            found = fn(conn, keys)
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, found


def run(kind: str, url: str, customers: int, repeat: int) -> None:
    engine = make_engine(url)
    init_db(engine)
    started = time.perf_counter()
    fill(engine, customers)
    print(f"== {kind}: {customers:,} customers ({customers // 10:,} with a phone) in {time.perf_counter() - started:.1f} s")
    rng = random.Random(7)
    with engine.connect() as conn:
        known_phone = identities.field_evidence(conn.execute(
            sa.select(identities.C.c.fields).where(identities.C.c.fields.like('%phone%')).limit(1)).scalar_one())
    (_, phone), = known_phone
    keys = [("whatsapp", str(rng.randint(100_000_000_000, 999_999_999_999))) for _ in range(9)]
    keys.append(("whatsapp", phone.lstrip("+")))
    indexed, found = timed(engine, identities.linked_customers, keys, repeat)
    baseline, expected = timed(engine, scan, keys, repeat)
    assert found == expected and len(found) == 1, (found, expected)
    print(f"  linked_customers, 10 new senders (1 known): {indexed:8.2f} ms   (median of {repeat})")
    print(f"  baseline, LIKE scan of customer fields:    {baseline:8.2f} ms   same customer found: yes")
    print(f"  ratio: {baseline / indexed:,.0f}x faster than the baseline")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            run("SQLite", f"sqlite:///{folder}/team.sqlite", args.customers, args.repeat)
    if args.db in ("postgresql", "both"):
        with tempfile.TemporaryDirectory() as folder, team_database("postgresql", Path(folder)) as url:
            run("PostgreSQL", url, args.customers, args.repeat)


if __name__ == "__main__":
    main()
