"""Webhook ingest throughput: signed WhatsApp webhooks into the real team server, at rising rates.

    uv run python bench/ingest.py                    # bare endpoint, SQLite 1 worker, PostgreSQL 1 and 2 workers
    uv run python bench/ingest.py --quick            # shorter steps, coarser rates
    uv run python bench/ingest.py --db sqlite        # bare endpoint + SQLite only (--db postgresql, --db all)
    uv run python bench/ingest.py --db postgresql --workers 1,2,4
    uv run --with py-spy python bench/ingest.py --profile   # also sample the server's stacks (py-spy)

Each configuration gets a fresh team server child (`python -m workstation server`) on a fresh database
(a SQLite file, or a new PostgreSQL schema dropped afterwards). The baseline is a bare FastAPI app served
by uvicorn the same way (services.serve.serve, one worker) whose POST route only reads the body and answers
200 (`python bench/ingest.py bare --port P`), measured in the same run.

Load: open-loop pacing at rising target rates (250, 500, 750, ... req/s, one step each) over 64 HTTP/1.1
keep-alive connections (raw asyncio protocol, no HTTP library). Request i of a step is due at t0 + i/rate;
its latency runs from that due time to the 200, so queueing in the client counts (no coordinated omission).
Each request is one signed webhook (`text_message_webhook`) carrying one message with a unique wamid and a
realistic text from a pool of a few thousand customers; all requests of a step are built and signed before
the step starts. A step passes when p99 <= 1 s, no errors, and achieved >= 95 % of target; stepping stops
at the first failure (retried once). The sustained rate is the highest passing step.

Correctness, after each configuration: the inbound messages in the database (queried directly) are exactly
the ones acknowledged with 200, and each has its change-log row.

The box has 2 cores, shared by the load generator and the server: the output reports the CPU both used.
"""

import argparse
import asyncio
import contextlib
import math
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    _FIRST,
    _LAST,
    CommandServerProcess,
    _text,
    cpu_seconds,
    pct,
    process_tree,
    rule,
    signed_body,
    team_db_url,
    team_server_argv,
    text_webhook,
)

PHONE_NUMBER_ID = "106540352242922"
WEBHOOK_PATH = "/webhooks/whatsapp"
P99_LIMIT = 1.0
MIN_ACHIEVED = 0.95
GOAL_RATIO = 0.60
GOAL_RATE = 1500


# -- the bare baseline endpoint (child process) --------------------------------------------------------------
def bare_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="bench/ingest.py bare")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--exit-with-parent", action="store_true")
    args = p.parse_args(argv)
    from fastapi import FastAPI, Request
    from fastapi.responses import PlainTextResponse

    from services.serve import serve

    app = FastAPI()

    @app.get("/v1/health")
    async def health() -> dict:
        return {"ok": True}

    @app.post(WEBHOOK_PATH)
    async def webhook(request: Request) -> PlainTextResponse:
        await request.body()
        return PlainTextResponse("EVENT_RECEIVED")

    serve(app, host="127.0.0.1", port=args.port, exit_with_parent=args.exit_with_parent)
    return 0


# -- requests --------------------------------------------------------------------------------------------------
class Webhooks:
    """Signed webhook requests (whole HTTP/1.1 requests as bytes), one new message each."""

    def __init__(self, app_secret: str, port: int, *, customers: int, seed: int) -> None:
        self.secret = app_secret
        self.host = f"127.0.0.1:{port}"
        self.rng = random.Random(seed)
        self.customers = [(f"34{610000000 + i:09d}", f"{self.rng.choice(_FIRST)} {self.rng.choice(_LAST)}")
                          for i in range(customers)]
        self.run = secrets.token_hex(3)
        self.count = 0

    def make(self, n: int) -> tuple[list[bytes], list[str]]:
        now = int(time.time())
        reqs, wamids = [], []
        for _ in range(n):
            self.count += 1
            wa_id, name = self.rng.choice(self.customers)
            wamid = f"wamid.HBgL{wa_id}FQIAEhgU{self.run}{self.count:010d}A"  # the shape of real ids, unique
            payload = text_webhook(wa_id=wa_id, name=name, text=_text(self.rng, self.rng.randint(20, 220)),
                                   wamid=wamid, timestamp=now, phone_number_id=PHONE_NUMBER_ID)
            raw, headers = signed_body(self.secret, payload)
            head = (f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: {self.host}\r\nUser-Agent: facebookexternalua\r\n"
                    f"Accept: */*\r\nContent-Type: application/json\r\n"
                    f"X-Hub-Signature-256: {headers['X-Hub-Signature-256']}\r\nContent-Length: {len(raw)}\r\n\r\n")
            reqs.append(head.encode("ascii") + raw)
            wamids.append(wamid)
        return reqs, wamids


# -- the load generator ----------------------------------------------------------------------------------------
class _Conn(asyncio.Protocol):
    """One keep-alive connection; one request in flight at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future | None = None
        self.closed = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buf[:end]).lower()
        k = head.find(b"\r\ncontent-length:")
        length = 0
        if k >= 0:
            e = head.find(b"\r\n", k + 2)
            length = int(head[k + 17:e if e >= 0 else len(head)])
        total = end + 4 + length
        if len(self.buf) < total:
            return
        status = int(head[9:12])
        close = b"\r\nconnection: close" in head
        del self.buf[:total]
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((status, close))

    def connection_lost(self, exc) -> None:
        self.closed = True
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(ConnectionError(str(exc) if exc else "connection closed"))


SENT_NO_ANSWER = -1  # sent, no answer before the step's drain ended (may or may not be stored)
CONN_ERROR = -2      # the connection failed under it (may or may not be stored)


@dataclass
class Driven:
    status: list[int]         # per request: 0 unsent, HTTP status, SENT_NO_ANSWER or CONN_ERROR
    latency: list[float]      # seconds from due time to answer (nan when none)
    t0: float
    t_last: float
    client_cpu: float
    server_cpu: float
    machine_cpu: float  # CPU seconds used by every process on the machine (/proc/stat)


def machine_cpu_seconds() -> float:
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


async def _drive(host: str, port: int, reqs: list[bytes], *, rate: float | None, connections: int,
                 duration: float | None, drain: float) -> tuple[list[int], list[float], float, float]:
    loop = asyncio.get_running_loop()
    n = len(reqs)
    status = [0] * n
    latency = [math.nan] * n
    state = {"next": 0, "last": 0.0}

    async def connect() -> _Conn:
        _, proto = await loop.create_connection(_Conn, host, port)
        return proto

    conns = await asyncio.gather(*(connect() for _ in range(connections)))
    t0 = loop.time() + 0.05
    stop_at = t0 + (duration if rate is None else n / rate)

    async def worker(conn: _Conn) -> None:
        while True:
            i = state["next"]
            if i >= n or loop.time() >= (stop_at if rate is None else stop_at + drain):
                break
            state["next"] = i + 1
            if rate is not None:
                due = t0 + i / rate
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            else:
                due = loop.time()
            if conn.closed:
                conn = await connect()
            fut = loop.create_future()
            conn.waiter = fut
            status[i] = SENT_NO_ANSWER
            conn.transport.write(reqs[i])
            try:
                code, close = await fut
            except ConnectionError:
                status[i] = CONN_ERROR
                conn.transport.close()
                conn = await connect()
                continue
            now = loop.time()
            status[i], latency[i] = code, now - due
            state["last"] = now
            if close:
                conn.transport.close()
                conn = await connect()
        conn.transport.close()

    tasks = [asyncio.ensure_future(worker(c)) for c in conns]
    # Requests not sent by the end of the drain stay unsent; those in flight get 30 s more to be answered.
    _, pending = await asyncio.wait(tasks, timeout=max(0.0, stop_at - loop.time()) + drain + 30.0)
    for t in pending:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for c in conns:
        if c.transport is not None:
            c.transport.close()
    return status, latency, t0, state["last"] or t0


def drive(port: int, reqs: list[bytes], *, rate: float | None, connections: int, server_pid: int,
          duration: float | None = None, drain: float = 5.0) -> Driven:
    pids = process_tree(server_pid)
    s0, c0, m0 = sum(map(cpu_seconds, pids)), time.process_time(), machine_cpu_seconds()
    status, latency, t0, t_last = asyncio.run(_drive("127.0.0.1", port, reqs, rate=rate, connections=connections,
                                                     duration=duration, drain=drain))
    return Driven(status, latency, t0, t_last, time.process_time() - c0, sum(map(cpu_seconds, pids)) - s0,
                  machine_cpu_seconds() - m0)


# -- steps -----------------------------------------------------------------------------------------------------
@dataclass
class Step:
    target: float
    requests: int
    ok: int
    errors: Counter
    unsent: int
    achieved: float
    p50: float
    p95: float
    p99: float
    worst: float
    server_us: float    # server CPU microseconds per acknowledged request
    client_cpu: float   # share of one core
    server_cpu: float   # share of one core (all server processes)
    other_cpu: float    # share of one core used by everything else on the machine meanwhile

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def passed(self) -> bool:
        return self.p99 <= P99_LIMIT and self.error_count == 0 and self.achieved >= MIN_ACHIEVED * self.target

    def line(self) -> str:
        errs = ", ".join(f"{k} x{v}" for k, v in sorted(self.errors.items())) or "0"
        unsent = f" unsent {self.unsent}" if self.unsent else ""
        return (f"  {self.target:>6.0f}/s  achieved {self.achieved:>7.0f}/s  p50 {_ms(self.p50):>8}  "
                f"p95 {_ms(self.p95):>8}  p99 {_ms(self.p99):>8}  max {_ms(self.worst):>8}  errors {errs}{unsent}  "
                f"cpu client {self.client_cpu:4.0%} server {self.server_cpu:4.0%} others {self.other_cpu:4.0%}  "
                f"server {self.server_us:4.0f} µs/msg  "
                f"{'pass' if self.passed else 'FAIL'}")


def _ms(seconds: float) -> str:
    return "inf" if math.isinf(seconds) else ("-" if math.isnan(seconds) else f"{seconds * 1000:.1f}ms")


def _label(code: int) -> str:
    return {SENT_NO_ANSWER: "no answer", CONN_ERROR: "conn error"}.get(code, f"HTTP {code}")


def summarize(target: float, d: Driven) -> Step:
    n = len(d.status)
    ok = sum(1 for s in d.status if s == 200)
    errors = Counter(_label(s) for s in d.status if s not in (0, 200))
    unsent = sum(1 for s in d.status if s == 0)
    # Unanswered and unsent requests count as infinitely late.
    lat = [x if s > 0 else math.inf for s, x in zip(d.status, d.latency)]
    wall = max(n / target, d.t_last - d.t0, 1e-9)
    return Step(target=target, requests=n, ok=ok, errors=errors, unsent=unsent, achieved=ok / wall,
                p50=pct(lat, 50), p95=pct(lat, 95), p99=pct(lat, 99), worst=max(lat) if lat else math.nan,
                server_us=1e6 * d.server_cpu / max(ok, 1),
                client_cpu=d.client_cpu / wall, server_cpu=d.server_cpu / wall,
                other_cpu=max(0.0, d.machine_cpu - d.client_cpu - d.server_cpu) / wall)


@dataclass
class Config:
    name: str
    kind: str            # "bare", "sqlite", "postgresql"
    workers: int = 1
    steps: list[Step] = field(default_factory=list)
    acked: set[str] = field(default_factory=set)
    unknown: set[str] = field(default_factory=set)   # sent, no 200 seen: may be stored
    check: str = ""
    check_ok: bool | None = None
    profile: str = ""

    @property
    def cpu_us(self) -> float:
        return min((st.server_us for st in self.steps if st.ok), default=math.nan)

    @property
    def sustained(self) -> Step | None:
        passed = [s for s in self.steps if s.passed]
        return max(passed, key=lambda s: s.target) if passed else None


def rates(args) -> list[float]:
    if args.rates:
        return [float(r) for r in args.rates.split(",")]
    step = 500 if args.quick else 250
    return [250.0] + [float(r) for r in range(step if step > 250 else 500, 20001, step)]


def run_steps(cfg: Config, server, factory: Webhooks, args) -> None:
    # Warm-up (imports, connection pools, the customers' first messages are not special): not in the table.
    reqs, wamids = factory.make(200 * (1 if args.quick else 2))
    d = drive(server.port, reqs, rate=200, connections=args.connections, server_pid=server.proc.pid)
    _record(cfg, wamids, d)
    print(f"  warm-up: {len(reqs)} at 200/s, {sum(1 for s in d.status if s == 200)} acknowledged", flush=True)
    retried = False
    for rate in rates(args):
        reqs, wamids = factory.make(max(1, int(rate * args.step_seconds)))
        time.sleep(args.pause)
        d = drive(server.port, reqs, rate=rate, connections=args.connections, server_pid=server.proc.pid)
        _record(cfg, wamids, d)
        step = summarize(rate, d)
        print(step.line(), flush=True)
        cfg.steps.append(step)
        if not step.passed:
            if retried or args.no_retry:
                break
            retried = True
            time.sleep(args.pause * 2)
            reqs, wamids = factory.make(max(1, int(rate * args.step_seconds)))
            d = drive(server.port, reqs, rate=rate, connections=args.connections, server_pid=server.proc.pid)
            _record(cfg, wamids, d)
            step = summarize(rate, d)
            print(step.line() + "  (retry)", flush=True)
            cfg.steps.append(step)
            if not step.passed:
                break


def _record(cfg: Config, wamids: list[str], d: Driven) -> None:
    for w, s in zip(wamids, d.status):
        if s == 200:
            cfg.acked.add(w)
        elif s != 0:
            cfg.unknown.add(w)


def check_stored(cfg: Config, db_url: str) -> None:
    import sqlalchemy as sa

    from services.teamserver.db import make_engine
    from services.teamserver.models import Change, Message

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            stored = list(conn.execute(sa.select(Message.provider_id).where(Message.direction == "in")).scalars())
            changes = conn.execute(sa.select(sa.func.count()).select_from(Change)
                                   .where(Change.entity == "message")).scalar_one()
            # Change rows carry their transaction's commit time: distinct times ~ ingest transactions.
            commits = conn.execute(sa.select(sa.func.count(sa.distinct(Change.created_at)))
                                   .where(Change.entity == "message")).scalar_one()
    finally:
        engine.dispose()
    stored_set = set(stored)
    dupes = len(stored) - len(stored_set)
    missing = len(cfg.acked - stored_set)
    strange = len(stored_set - cfg.acked - cfg.unknown)
    maybe = len(stored_set & cfg.unknown)
    cfg.check_ok = dupes == 0 and missing == 0 and strange == 0 and changes == len(stored)
    if not cfg.unknown:
        head = f"stored {len(stored):,} inbound messages = acknowledged {len(cfg.acked):,} unique: " + \
               ("equal" if len(stored) == len(cfg.acked) and not missing and not strange else "NOT equal")
    else:
        head = (f"stored {len(stored):,}; acknowledged {len(cfg.acked):,}; {len(cfg.unknown):,} sent without a 200 "
                f"({maybe:,} of them stored anyway)")
    cfg.check = (f"{head}; acknowledged but missing {missing}, duplicates {dupes}, "
                 f"stored but never sent {strange}, message change rows {changes:,}; "
                 f"{len(stored) / max(commits, 1):.1f} messages per ingest transaction on average")


# -- profiling (py-spy) ----------------------------------------------------------------------------------------
def py_spy() -> str | None:
    found = shutil.which("py-spy")
    if found:
        return found
    candidate = Path(sys.executable).parent / "py-spy"
    return str(candidate) if candidate.exists() else None


def profile_config(cfg: Config, server, factory: Webhooks, args, folder: Path) -> None:
    tool = py_spy()
    if tool is None:
        cfg.profile = "py-spy not found (run with `uv run --with py-spy python bench/ingest.py --profile`)"
        return
    best = cfg.sustained
    rate = args.profile_rate or max(250.0, 0.8 * (best.target if best else 250.0))
    seconds = args.profile_seconds
    keep = Path(tempfile.gettempdir()) / "bench-ingest-profiles"
    keep.mkdir(exist_ok=True)
    out = keep / f"profile-{cfg.kind}-{cfg.workers}-{time.strftime('%H%M%S')}.txt"
    reqs, wamids = factory.make(int(rate * seconds))
    spy = subprocess.Popen([tool, "record", "--pid", str(server.proc.pid), "--subprocesses", "--rate", "250",
                            "--gil", "--format", "raw", "--output", str(out), "--duration", str(int(seconds) + 1),
                            "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.0)
    d = drive(server.port, reqs, rate=rate, connections=args.connections, server_pid=server.proc.pid)
    _record(cfg, wamids, d)
    _, err = spy.communicate(timeout=60)
    step = summarize(rate, d)
    print(step.line() + "  (under py-spy)", flush=True)
    if not out.exists():
        cfg.profile = f"py-spy wrote nothing: {err.decode(errors='replace').strip()[-300:]}"
        return
    cfg.profile = f"at {rate:.0f}/s for {seconds:.0f} s, samples of the thread holding the GIL (py-spy --gil, raw stacks: {out}):\n" + \
        summarize_profile(out.read_text(), ok=step.ok)


# Inclusive share of busy-thread samples whose stack holds a frame matching the pattern.
PROFILE_BUCKETS = [
    ("event loop thread (asyncio _run_once)", "_run_once ("),
    ("  uvicorn HTTP/1.1 (h11_impl + h11)", "/h11"),
    ("  FastAPI app: middleware, routing, route (FastAPI.__call__)", "FastAPI.__call__ ("),
    ("    webhook route (whatsapp_webhook)", "whatsapp_webhook (services/"),
    ("      read body", "read_limited_body ("),
    ("      HMAC (verify_signature)", "verify_signature ("),
    ("      JSON parse (parse_webhook_payload)", "parse_webhook_payload ("),
    ("  request log wrapper, own work (RequestLog minus the app)", "send_status (services/logctx.py"),
    ("writer thread (Ingestor._run, group commit)", "_run (services/teamserver/ingestor.py"),
    ("request threads (anyio run_in_threadpool: per-request commit)", "anyio/_backends/_asyncio.py"),
    ("  webhook storage: statements (store_inbound[_many], ingest_batch[es])", "ingest_batch"),
    ("    SQLAlchemy Connection.execute (build, cache key, bind, run)", "Connection.execute (sqlalchemy"),
    ("    ORM Session.flush", "flush (sqlalchemy/orm/session.py"),
    ("    SQLAlchemy cache keys + compile", "_generate_cache_key ("),
    ("  Session.commit", "Session.commit ("),
    ("    change log at commit (_write_change_log)", "_write_change_log ("),
    ("  DBAPI cursor.execute/executemany (SQLite/PostgreSQL work)", "do_execute"),
    ("  DBAPI commit", "do_commit ("),
]

_FRAME_SKIP = ("(workstation/__main__", "(workstation/cli.py", "(services/teamserver/cli.py", "(services/serve.py",
               "(services/teamserver/workers.py")


def summarize_profile(raw: str, *, ok: int) -> str:
    stacks: list[tuple[list[str], int]] = []
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    total = sum(c for _, c in stacks) or 1
    lines = [f"    {'where (inclusive share of busy samples)':<60} {'%':>6}"]
    for label, pattern in PROFILE_BUCKETS:
        n = sum(c for frames, c in stacks if any(pattern in f for f in frames))
        if n:
            lines.append(f"    {label:<60} {100 * n / total:5.1f}%")
    own: Counter = Counter()   # project functions, inclusive (counted once per stack)
    leaf: Counter = Counter()
    for frames, c in stacks:
        for f in {f for f in frames if ("(services/" in f or "(workstation/" in f) and not f.startswith("<module>")
                  and not any(k in f for k in _FRAME_SKIP)}:
            own[f.rsplit(":", 1)[0] + ")"] += c
        name, _, where = frames[-1].partition(" (")
        leaf[f"{name} ({where.rsplit('/', 1)[-1].rsplit(':', 1)[0]})"] += c
    lines.append("    project functions, inclusive:")
    for f, c in own.most_common(14):
        lines.append(f"      {100 * c / total:5.1f}%  {f[:110]}")
    lines.append(f"    top self time (leaf frames), {total:,} samples:")
    for f, c in leaf.most_common(12):
        lines.append(f"      {100 * c / total:5.1f}%  {f[:110]}")
    return "\n".join(lines)


# -- configurations --------------------------------------------------------------------------------------------
@contextlib.contextmanager
def database(kind: str, folder: Path):
    if kind == "bare":
        yield None
        return
    with team_db_url(kind, folder) as url:
        yield url


def run_config(cfg: Config, args, folder: Path) -> None:
    rule(cfg.name)
    app_secret = secrets.token_hex(16)
    env = {"WORKSTATION_META_APP_SECRET": app_secret, "WORKSTATION_WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID}
    sub = folder / f"{cfg.kind}-{cfg.workers}"
    sub.mkdir()
    with database(cfg.kind, sub) as db_url:
        if cfg.kind == "bare":
            argv = [sys.executable, str(Path(__file__).resolve()), "bare", "--port", "{port}", "--exit-with-parent"]
        else:
            argv = team_server_argv(db_url, workers=cfg.workers)
        log_path = sub / "server.log"
        cwd = Path(args.tree).resolve() if args.tree and cfg.kind != "bare" else None
        with CommandServerProcess(argv, env=env, log_path=log_path, cwd=cwd) as server:
            if cfg.workers > 1:  # the supervisor answers health checks through its first worker: wait for all
                deadline = time.monotonic() + 30
                while len(process_tree(server.proc.pid)) < cfg.workers + 1 and time.monotonic() < deadline:
                    time.sleep(0.2)
                time.sleep(2.0)
            factory = Webhooks(app_secret, server.port, customers=args.customers, seed=args.seed)
            run_steps(cfg, server, factory, args)
            if args.profile and cfg.kind != "bare":
                profile_config(cfg, server, factory, args, folder)
            time.sleep(1.0)
        if db_url is not None:
            check_stored(cfg, db_url)
            print(f"  correctness: {cfg.check}: {'OK' if cfg.check_ok else 'NOT OK'}", flush=True)
        errors = [line for line in log_path.read_text(errors="replace").splitlines() if '"ERROR"' in line]
        if errors:
            print(f"  server log: {len(errors)} ERROR lines, first: {errors[0][:300]}", flush=True)
        if cfg.profile:
            print("  profile " + cfg.profile, flush=True)


def generator_ceiling(args, folder: Path) -> str:
    """Closed loop (no pacing, 64 connections) against the bare endpoint: how fast the generator alone goes."""
    rule("load generator ceiling (closed loop against the bare endpoint)")
    factory = Webhooks("x" * 32, 0, customers=args.customers, seed=args.seed)
    seconds = 2.0 if args.quick else 4.0
    reqs, _ = factory.make(40000 if args.quick else 60000)
    argv = [sys.executable, str(Path(__file__).resolve()), "bare", "--port", "{port}", "--exit-with-parent"]
    with CommandServerProcess(argv) as server:
        drive(server.port, reqs[:2000], rate=None, connections=args.connections, server_pid=server.proc.pid,
              duration=1.0)  # warm-up
        d = drive(server.port, reqs, rate=None, connections=args.connections, server_pid=server.proc.pid,
                  duration=seconds)
    ok = sum(1 for s in d.status if s == 200)
    wall = max(d.t_last - d.t0, 1e-9)
    per_cpu = ok / d.client_cpu if d.client_cpu else math.inf
    others = max(0.0, d.machine_cpu - d.client_cpu - d.server_cpu) / wall
    text = (f"{ok / wall:,.0f} req/s closed loop (client {d.client_cpu / wall:.0%} of a core, server "
            f"{d.server_cpu / wall:.0%}, other processes {others:.0%}); the generator costs {1e6 * d.client_cpu / max(ok, 1):.0f} µs CPU per "
            f"request = {per_cpu:,.0f} req/s per client core, vs the server's "
            f"{1e6 * d.server_cpu / max(ok, 1):.0f} µs per request")
    print("  " + text, flush=True)
    return text


def main(argv: list[str]) -> int:
    if argv and argv[0] == "bare":
        return bare_main(argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 s steps of 500/s increments")
    ap.add_argument("--db", choices=["sqlite", "postgresql", "all"], default="all")
    ap.add_argument("--workers", default="1,2", help="PostgreSQL worker counts, comma-separated (SQLite: 1)")
    ap.add_argument("--step-seconds", type=float, default=None, help="seconds per rate step (default 6, quick 2)")
    ap.add_argument("--rates", default=None, help="comma-separated target rates instead of 250, 500, 750, ...")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--customers", type=int, default=3000)
    ap.add_argument("--pause", type=float, default=1.0, help="seconds between steps")
    ap.add_argument("--no-retry", action="store_true", help="stop at the first failing step without a retry")
    ap.add_argument("--no-bare", action="store_true", help="skip the bare endpoint and the generator ceiling")
    ap.add_argument("--profile", action="store_true",
                    help="sample the server with py-spy at 80%% of its sustained rate (needs py-spy on PATH)")
    ap.add_argument("--profile-rate", type=float, default=None)
    ap.add_argument("--profile-seconds", type=float, default=8.0)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--tree", default=None,
                    help="run the team server from this source tree (e.g. an export of another commit) "
                         "with this checkout's environment; default: this checkout")
    args = ap.parse_args(argv)
    if args.step_seconds is None:
        args.step_seconds = 2.0 if args.quick else 6.0

    configs: list[Config] = []
    if not args.no_bare:
        configs.append(Config("bare endpoint (FastAPI + uvicorn, reads the body, 1 worker)", "bare"))
    if args.db in ("sqlite", "all"):
        configs.append(Config("team server, SQLite, 1 worker", "sqlite"))
    if args.db in ("postgresql", "all"):
        for w in (int(x) for x in args.workers.split(",")):
            configs.append(Config(f"team server, PostgreSQL, {w} worker{'s' if w > 1 else ''}", "postgresql", w))
    if args.tree:
        for c in configs:
            if c.kind != "bare":
                c.name += f" ({Path(args.tree).name})"

    print(f"Webhook ingest benchmark: {os.cpu_count()} CPU cores shared by the load generator and the server "
          f"(and by anything else running on this machine); {args.connections} keep-alive connections, "
          f"{args.step_seconds:g} s per step, {args.customers:,} customers, p99 limit {P99_LIMIT:g} s.", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        folder = Path(tmp)
        ceiling = None if args.no_bare else generator_ceiling(args, folder)
        for cfg in configs:
            run_config(cfg, args, folder)
    report(configs, ceiling)
    return 0


def report(configs: list[Config], ceiling: str | None) -> None:
    rule("results")
    bare = next((c for c in configs if c.kind == "bare"), None)
    bare_rate = bare.sustained.target if bare and bare.sustained else None
    print(f"  {'configuration':<50} {'sustained':>10} {'of bare':>8} {'p99 there':>10} {'server CPU/msg':>15} "
          f"{'stored = acked':>15}")
    for c in configs:
        s = c.sustained
        rate = f"{s.target:,.0f}/s" if s else "< first"
        ratio = f"{100 * s.target / bare_rate:.0f} %" if s and bare_rate else "-"
        check = "-" if c.check_ok is None else ("yes" if c.check_ok else "NO")
        # Server CPU per message at its most efficient step: hardly depends on what else runs on the machine.
        cpu = f"{c.cpu_us:,.0f} µs" if c.steps else "-"
        print(f"  {c.name[:50]:<50} {rate:>10} {ratio:>8} {_ms(s.p99) if s else '-':>10} {cpu:>15} {check:>15}")
    others = [st.other_cpu for c in configs for st in c.steps]
    if others:
        print(f"  other processes on this machine used {min(others):.0%}-{max(others):.0%} of a core during the "
              f"steps (median {sorted(others)[len(others) // 2]:.0%}): figures are only as good as that.")
    if bare and bare.steps:
        print("  by server CPU per message (what one core could sustain if the server had it to itself; a "
              "worker is one process, GIL-bound):")
        for c in configs:
            if c.steps:
                print(f"    {c.name[:50]:<50} {1e6 / c.cpu_us:>7,.0f} msg/s per core  "
                      f"{100 * bare.cpu_us / c.cpu_us:4.0f} % of bare")
    if ceiling:
        print(f"  load generator alone: {ceiling}")
    one = next((c for c in configs if c.kind != "bare" and c.workers == 1 and c.sustained), None)
    print("  goals (full ingest, one worker):")
    for c in configs:
        if c.kind == "bare" or c.workers != 1:
            continue
        s = c.sustained.target if c.sustained else 0.0
        r_ok = bare_rate is not None and s >= GOAL_RATIO * bare_rate
        print(f"    {c.name}: >= {GOAL_RATIO:.0%} of bare: "
              f"{('met' if r_ok else 'not met') if bare_rate else 'no baseline'}"
              f"{f' ({100 * s / bare_rate:.0f} %)' if bare_rate else ''}; "
              f">= {GOAL_RATE:,} msg/s: {'met' if s >= GOAL_RATE else 'not met'} ({s:,.0f})")
    if one is None:
        print("    (no one-worker configuration passed a step)")
    print(f"  Note: {os.cpu_count()} cores shared by generator and server; rates are step targets "
          f"(steps of 250/s, 500/s with --quick), so ratios carry that resolution.")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
