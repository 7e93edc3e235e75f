"""Initial sync of a team database (100k messages) over loopback into a fresh desktop cache.

    uv run python bench/sync.py            # 5,000 conversations x 20 messages = 100k messages
    uv run python bench/sync.py --quick    # 500 x 20 = 10k messages
    uv run python bench/sync.py --changelog ingest   # conversation change with every message, as ingest writes
    uv run python bench/sync.py --profile  # adds cProfile of the server's sync_page and the cache's apply_page

Fills a team database with SQLAlchemy Core (bench/common.py), starts `python -m workstation server` as a
child process, signs in, and times `SyncEngine.pull()` into a fresh `Cache` (the app's own path: ApiClient
on the asyncio loop, `Cache.apply_page` on the DbWorker thread). The split is measured around the calls:
  http    - `ApiClient._http.request`: request out, server work, whole body back (server time + transfer)
  decode  - rest of `ApiClient.sync`: `response.json()` + `SyncPage.model_validate` (client side)
  apply   - `Cache.apply_page` on the DB thread
  other   - cursor reads, thread hops
Baseline (same run): raw `sqlite3.executemany` of the same message rows (same columns) into a fresh WAL file.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402

from common import (  # noqa: E402
    add_team_db_options,
    conversation_count,
    ServerProcess, fill_team_db, median, raw_executemany, rule, sign_in,
)


class Timed:
    """Accumulates wall time of calls (sync or async) under a name."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def add(self, name: str, dt: float) -> None:
        self.totals[name] = self.totals.get(name, 0.0) + dt
        self.counts[name] = self.counts.get(name, 0) + 1

    def wrap_async(self, name, fn):
        async def wrapper(*a, **kw):
            t0 = time.perf_counter()
            try:
                return await fn(*a, **kw)
            finally:
                self.add(name, time.perf_counter() - t0)
        return wrapper

    def wrap(self, name, fn):
        def wrapper(*a, **kw):
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                self.add(name, time.perf_counter() - t0)
        return wrapper


async def _pull_once(server_url: str, token: str, cache_path: Path, page_size: int, pages_out: list | None = None):
    from workstation.api import ApiClient
    from workstation.cache import Cache
    from workstation.sync import DbWorker, SyncEngine

    for suffix in ("", "-wal", "-shm"):
        Path(str(cache_path) + suffix).unlink(missing_ok=True)
    timed = Timed()
    api = ApiClient(server_url, token, timeout=120)
    cache = Cache(cache_path)
    db = DbWorker(cache)
    effective: list[int] = []
    http_request = api._http.request
    api._http.request = timed.wrap_async("http", http_request)
    api_sync = api.sync

    async def sync(after, limit=500):
        page = await api_sync(after, limit)
        effective.append(page.next_after - after)
        if pages_out is not None:
            pages_out.append(page)
        return page

    api.sync = timed.wrap_async("sync", sync)
    cache.apply_page = timed.wrap("apply", cache.apply_page)
    engine = SyncEngine(api, db, page_size=page_size)
    t0 = time.perf_counter()
    await engine.pull()
    wall = time.perf_counter() - t0
    await api.aclose()
    db.shutdown()
    with __import__("sqlite3").connect(cache_path) as con:
        n_msgs = con.execute("SELECT count(*) FROM message").fetchone()[0]
        n_convs = con.execute("SELECT count(*) FROM conversation").fetchone()[0]
    return dict(wall=wall, http=timed.totals.get("http", 0.0),
                decode=timed.totals.get("sync", 0.0) - timed.totals.get("http", 0.0),
                apply=timed.totals.get("apply", 0.0), pages=timed.counts.get("apply", 0),
                effective=max(effective) if effective else 0, messages=n_msgs, conversations=n_convs)


def pull_once(server_url, token, cache_path, page_size, pages_out=None) -> dict:
    return asyncio.run(_pull_once(server_url, token, cache_path, page_size, pages_out))


def _show(label: str, r: dict, n_messages: int) -> None:
    other = r["wall"] - r["http"] - r["decode"] - r["apply"]
    print(f"  {label}: {r['wall']:.2f} s  = {n_messages / r['wall']:,.0f} msg/s  ({r['pages']} pages of "
          f"<= {r['effective']} changes)  http {r['http']:.2f} s ({r['http'] / r['wall']:.0%}) · "
          f"decode {r['decode']:.2f} s ({r['decode'] / r['wall']:.0%}) · apply {r['apply']:.2f} s "
          f"({r['apply'] / r['wall']:.0%}) · other {other:.2f} s", flush=True)


def _top(prof: cProfile.Profile, title: str, n: int = 18) -> None:
    out = io.StringIO()
    st = pstats.Stats(prof, stream=out)
    st.sort_stats("tottime").print_stats(n)
    text = out.getvalue()
    # Keep the table only.
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    print(f"  -- {title} (top {n} by own time) --")
    for line in lines[start:start + n + 1]:
        print("  " + line[:160])


def profile_breakdown(data, pages, epoch_url: str) -> None:
    """In-process: where the server's time per page goes (sync_page vs JSON), and the cache's apply."""
    from sqlmodel import Session

    from services.teamserver import changes
    from services.teamserver.db import make_engine
    from workstation import protocol
    from workstation.cache import Cache

    rule("profile: server side, in process (same database, pages of 1000 changes, no HTTP)")
    engine = make_engine(data.db_url)
    t_page = t_json = 0.0
    after, n = 0, 0
    while True:  # plain timing over every page
        with Session(engine) as s:
            t0 = time.perf_counter()
            page = changes.sync_page(s, after=after, limit=1000, epoch="x")
            t1 = time.perf_counter()
            page.model_dump_json()
            t2 = time.perf_counter()
        t_page += t1 - t0
        t_json += t2 - t1
        n += 1
        after = page.next_after
        if not page.has_more:
            break
    print(f"  all {n} pages: changes.sync_page {t_page:.2f} s (change-log query, ORM rows, pydantic from_attributes), "
          f"SyncPage.model_dump_json {t_json:.2f} s; the rest of the client's http time is FastAPI/uvicorn/transfer")
    prof = cProfile.Profile()
    after, n = 0, 0
    while n < 30:
        with Session(engine) as s:
            prof.enable()
            page = changes.sync_page(s, after=after, limit=1000, epoch="x")
            prof.disable()
        n += 1
        after = page.next_after
        if not page.has_more:
            break
    engine.dispose()
    _top(prof, "changes.sync_page, first 30 pages")

    rule("profile: client side decode and apply (first 30 pages captured from the live run)")
    pages = pages[:30]
    raws = [p.model_dump_json() for p in pages]
    t0 = time.perf_counter()
    import json
    decoded = [protocol.SyncPage.model_validate(json.loads(r)) for r in raws]
    t_decode = time.perf_counter() - t0
    tmp = Path(tempfile.mkdtemp(prefix="bench-prof-"))
    cache = Cache(tmp / "cache.sqlite")
    prof = cProfile.Profile()
    split = {"messages": 0.0, "own": 0.0, "conversations": 0.0, "people": 0.0}
    orig_apply_messages = Cache._apply_messages.__func__
    orig_apply_message = Cache._apply_message.__func__
    orig_upsert = Cache._upsert
    orig_people = Cache._index_people

    def tm(name, fn):
        def w(*a, **kw):
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                split[name] += time.perf_counter() - t
        return w

    Cache._apply_message = classmethod(tm("own", orig_apply_message))
    Cache._apply_messages = classmethod(tm("messages", orig_apply_messages))
    Cache._upsert = staticmethod(tm("conversations", orig_upsert))
    Cache._index_people = staticmethod(tm("people", orig_people))
    t0 = time.perf_counter()
    try:
        for p in decoded:
            cache.apply_page(p)
    finally:
        Cache._apply_message, Cache._apply_messages = classmethod(orig_apply_message), classmethod(orig_apply_messages)
        Cache._upsert, Cache._index_people = staticmethod(orig_upsert), staticmethod(orig_people)
    t_apply = time.perf_counter() - t0
    cache.close()
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"  json.loads + SyncPage.model_validate of all pages: {t_decode:.2f} s")
    print(f"  apply_page total {t_apply:.2f} s: messages (bulk upsert + own replies) {split['messages']:.2f} s, "
          f"of which own replies one by one (client_op_id set) {split['own']:.2f} s; "
          f"agents/customers/identities/conversations upserts {split['conversations']:.2f} s; "
          f"people_fts {split['people']:.2f} s")
    cache = Cache(tmp / "cache2.sqlite")
    prof.enable()
    for p in decoded:
        cache.apply_page(p)
    prof.disable()
    cache.close()
    shutil.rmtree(tmp, ignore_errors=True)
    _top(prof, "Cache.apply_page")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_team_db_options(ap)
    ap.add_argument("--repeats", type=int, default=None, help="runs of the headline pull (median reported)")
    ap.add_argument("--page-sizes", default="500,1000,2000")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    convs = conversation_count(args)
    repeats = args.repeats or 2
    work = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    try:
        rule("setup")
        data = fill_team_db(work / "team.sqlite", conversations=convs, per_conversation=args.per_conversation,
                            outbound_every=args.outbound_every, changelog=args.changelog)
        n = data.messages
        print(f"team database: {data.conversations:,} conversations, {n:,} messages, {data.changes:,} change rows "
              f"(changelog={args.changelog}; {data.replies:,} of the messages are agent replies with a client_op_id), "
              f"filled in {data.fill_seconds:.1f} s")

        rule("baseline: raw sqlite3.executemany, same rows and columns, fresh WAL file, one transaction")
        base = [raw_executemany(data.cache_rows, work / f"raw{i}.sqlite") for i in range(3)]
        base_t = median(base)
        base_rate = n / base_t
        print(f"  {n:,} rows in {base_t:.3f} s (median of 3: {', '.join(f'{b:.3f}' for b in base)}) "
              f"= {base_rate:,.0f} rows/s")
        cache_schema_t = raw_executemany(data.cache_rows, work / "raw-cache-schema.sqlite", cache_schema=True)
        print(f"  (for reference: the same executemany into the cache's own message table - unique indexes, "
              f"FTS5 trigger, synchronous=FULL - {cache_schema_t:.2f} s = {n / cache_schema_t:,.0f} rows/s)")
        data.cache_rows = []

        sizes = [int(s) for s in args.page_sizes.split(",") if s]
        if 1000 not in sizes:
            sizes.append(1000)
        runs: list[dict] = []  # every run whose pages held <= 1000 changes (the app's page size)
        sweep: dict[str, list[dict]] = {}
        pages: list = []
        rule(f"initial sync: SyncEngine.pull() into a fresh Cache; limits {sizes}, limit=1000 x{repeats}")
        with ServerProcess(data.db_url, log_path=work / "server.log") as server:
            token, _agent = sign_in(server.url, data.email, data.password)
            # One small probe per bigger limit: the CLI server caps pages at Settings.sync_page_max.
            capped = {}
            for size in [s for s in sizes if s > 1000]:
                r = httpx.get(f"{server.url}/v1/sync", params={"after": 0, "limit": size},
                              headers={"Authorization": f"Bearer {token}"}, timeout=60)
                r.raise_for_status()
                capped[size] = r.json()["next_after"]  # changes start at seq 1, so next_after = page length
                if capped[size] < size:
                    print(f"  limit={size}: the server answers pages of {capped[size]} changes (capped); "
                          f"a full run would repeat limit=1000, skipped")
            plan = [1000] * repeats + [s for s in sizes if s != 1000 and capped.get(s, s) >= s]
            for i, size in enumerate(plan):
                r = pull_once(server.url, token, work / "cache.sqlite", size,
                              pages if (args.profile and i == 0) else None)
                assert r["messages"] == n, f"cache holds {r['messages']} messages, expected {n}"
                sweep.setdefault(f"{size}", []).append(r)
                if r["effective"] == 1000:
                    runs.append(r)
                _show(f"limit={size:<5}", r, n)
        if any(s > 1000 for s in sizes):
            # The CLI server caps every page at Settings.sync_page_max = 1000 (not settable from the
            # environment); bench/common.py `serve` raises the cap to measure what bigger pages would give.
            with ServerProcess(data.db_url, page_max=5000, log_path=work / "server2.log") as server:
                token, _agent = sign_in(server.url, data.email, data.password)
                for size in [s for s in sizes if s > 1000]:
                    r = pull_once(server.url, token, work / "cache.sqlite", size)
                    sweep[f"{size} (cap raised to 5000)"] = [r]
                    _show(f"limit={size} cap raised", r, n)
        mid = {k: median([r[k] for r in runs]) for k in ("wall", "http", "decode", "apply")}
        rate = n / mid["wall"]
        best = min(sweep.items(), key=lambda kv: median([r["wall"] for r in kv[1]]))

        rule("result")
        print(f"  end to end (median of {len(runs)} runs with 1000-change pages): {n:,} messages in {mid['wall']:.2f} s = {rate:,.0f} messages/s")
        print(f"    http (server + transfer) {mid['http']:.2f} s ({mid['http'] / mid['wall']:.0%}), client decode "
              f"{mid['decode']:.2f} s ({mid['decode'] / mid['wall']:.0%}), local apply {mid['apply']:.2f} s "
              f"({mid['apply'] / mid['wall']:.0%})")
        print(f"  baseline raw executemany: {base_rate:,.0f} rows/s")
        ratio = rate / base_rate
        print(f"  ratio: {ratio:.1%} of the baseline (goal >= 25%: {'MET' if ratio >= 0.25 else 'NOT MET'})")
        for key, rs in sweep.items():
            w = median([r["wall"] for r in rs])
            print(f"    limit={key}: {w:.2f} s, {n / w:,.0f} msg/s ({len(rs)} run(s), pages of <= {rs[0]['effective']})")
        bw = median([r["wall"] for r in best[1]])
        print(f"  best page size: limit={best[0]} ({bw:.2f} s; differences under ~5% are noise here)")
        if args.profile:
            profile_breakdown(data, pages, "")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
