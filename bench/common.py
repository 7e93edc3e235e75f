"""Shared setup of the benchmarks: a filled team database, a team server child process, timing helpers.

Also runnable as `python bench/common.py serve --db URL --port P --page-max N`: the team server exactly as
`python -m workstation server` builds it, except that the server's page cap (`Settings.sync_page_max`,
1000 and not configurable from the environment) is raised, so bigger sync pages can be measured.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services.sandbox.whatsapp_api import text_message_webhook  # noqa: E402

BENCH_EMAIL = "bench.lead@bench.workstation.test"
BENCH_PASSWORD = "bench-password-123"

_FIRST = ("Lucía", "Ana", "Ben", "Carlos", "María", "José", "Laura", "Pedro", "Sofía", "David", "Elena", "Javier",
          "Marta", "Pablo", "Irene", "Diego", "Noa", "Hugo", "Sara", "Mateo", "Emma", "Liam", "Olivia", "Noah")
_LAST = ("García", "Fernández", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Martín", "Jiménez", "Ruiz",
         "Hernández", "Díaz", "Moreno", "Muñoz", "Álvarez", "Romero", "Carter", "Smith", "Brown", "Wilson")
_WORDS = ("hola", "pedido", "order", "tracking", "number", "refund", "reembolso", "entrega", "delivery", "today",
          "mañana", "please", "gracias", "thanks", "problem", "problema", "factura", "invoice", "account", "cuenta",
          "password", "contraseña", "app", "error", "payment", "pago", "tarjeta", "card", "store", "tienda",
          "address", "dirección", "change", "cambiar", "cancel", "cancelar", "help", "ayuda", "still", "waiting")


# -- small statistics -------------------------------------------------------------------------------------
def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank), or nan for no values."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def rule(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)), flush=True)


# -- a filled team database ---------------------------------------------------------------------------------
@dataclass
class TeamData:
    db_path: Path
    db_url: str
    email: str
    password: str
    agent_id: int
    conversations: int
    messages: int
    changes: int
    newest_seq: int
    fill_seconds: float
    replies: int = 0  # agent replies (direction out, client_op_id set)
    # The message rows as the desktop cache stores them (same columns), for the raw-SQLite baseline.
    cache_rows: list[tuple] = field(default_factory=list, repr=False)


CACHE_MESSAGE_COLUMNS = ("server_id", "conversation_id", "direction", "author_agent_id", "text", "kind",
                         "delivery_state", "error_kind", "error_code", "error_title", "created_at")


def _text(rng: random.Random, n: int) -> str:
    words = []
    length = 0
    while length < n:
        w = rng.choice(_WORDS)
        words.append(w)
        length += len(w) + 1
    return " ".join(words).capitalize() + "."


def fill_team_db(path: Path, *, conversations: int = 5000, per_conversation: int = 20,
                 outbound_every: int = 3, changelog: str = "entity", seed: int = 7,
                 keep_cache_rows: bool = True) -> TeamData:
    """Creates a fresh team database with SQLAlchemy Core bulk inserts into the server's own tables.

    Rows are consistent: one customer, one WhatsApp identity and one conversation per customer,
    `per_conversation` messages each (every `outbound_every`-th one an agent reply carrying the desktop's
    op id as `client_op_id`, as the reply route stores it; replies spread over the conversations), conversations summarising their last message.
    Messages arrive round-robin over the conversations over the last 30 days.

    The change log is written in arrival order, as the server's ingest would:
      changelog="entity": one Change row per entity (customer, identity, conversation at its first message,
                          then one per message);
      changelog="ingest": like `ingest.store_inbound` / the reply route, a conversation change with every
                          message (2 changes per message; conversations recur in every page).
    """
    import sqlalchemy as sa

    from services.teamserver import models
    from services.teamserver.admin import add_agent
    from services.teamserver.db import init_db, make_engine
    from services.teamserver.ingest import preview

    if changelog not in ("entity", "ingest"):
        raise ValueError("changelog must be 'entity' or 'ingest'")
    path = Path(path)
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(str(path) + suffix).unlink()
    db_url = f"sqlite:///{path}"
    t0 = time.perf_counter()
    agent_id = add_agent(db_url, email=BENCH_EMAIL, name="Bench Lead", role="lead", password=BENCH_PASSWORD)
    engine = make_engine(db_url)
    init_db(engine)
    rng = random.Random(seed)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    total = conversations * per_conversation
    start = now - timedelta(days=30)
    step = timedelta(days=30) / max(total, 1)

    customers, identities, convs, messages, change_rows = [], [], [], [], []
    cache_rows: list[tuple] = []
    conv_state: list[dict] = []
    for c in range(conversations):
        cid = c + 1
        name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
        handle = f"34{600000000 + c:09d}"
        customers.append(dict(id=cid, display_name=name, created_at=start))
        identities.append(dict(id=cid, customer_id=cid, channel="whatsapp", handle=handle, display_name=name))
        conv_state.append(dict(id=cid, customer_id=cid, identity_id=cid, channel="whatsapp",
                               status="open", assignee_id=None, last_message_at=None, last_inbound_at=None,
                               last_message_preview="", last_message_direction=None, version=1,
                               inbound_count=0, updated_by_agent_id=None, created_at=start))
    mid = 0
    for j in range(per_conversation):
        for c in range(conversations):
            mid += 1
            at = start + step * (mid - 1)
            conv = conv_state[c]
            # Replies spread over the log (every page mixes both), never a conversation's first message.
            outbound = outbound_every > 0 and j > 0 and (j + c) % outbound_every == outbound_every - 1
            text = _text(rng, rng.randint(40, 160))
            if outbound:
                row = dict(id=mid, conversation_id=conv["id"], channel="whatsapp", direction="out",
                           author_agent_id=agent_id, text=text, kind="text", provider_id=f"wamid.OUT{mid:012d}",
                           delivery_state="read", error_kind=None, error_code=None, error_title=None,
                           created_at=at, client_op_id=f"00000000-0000-4000-8000-{mid:012d}")
            else:
                row = dict(id=mid, conversation_id=conv["id"], channel="whatsapp", direction="in",
                           author_agent_id=None, text=text, kind="text", provider_id=f"wamid.IN{mid:012d}",
                           delivery_state="delivered", error_kind=None, error_code=None, error_title=None,
                           created_at=at, client_op_id=None)
                conv["last_inbound_at"] = at
                conv["inbound_count"] += 1
            messages.append(row)
            conv["last_message_at"] = at
            conv["last_message_preview"] = preview(text)
            conv["last_message_direction"] = row["direction"]
            if j == 0:
                change_rows.append(("customer", conv["customer_id"], at))
                change_rows.append(("identity", conv["identity_id"], at))
            if j == 0 or changelog == "ingest":
                change_rows.append(("conversation", conv["id"], at))
            change_rows.append(("message", mid, at))
            if keep_cache_rows:
                cache_rows.append((mid, conv["id"], row["direction"], row["author_agent_id"], text, "text",
                                   row["delivery_state"], None, None, None, at.replace(tzinfo=None).isoformat(" ")))
    # A few conversations resolved or assigned, as a working team's would be.
    for conv in conv_state:
        r = rng.random()
        if r < 0.3:
            conv["status"], conv["version"], conv["updated_by_agent_id"] = "resolved", 2, agent_id
        elif r < 0.5:
            conv["assignee_id"], conv["version"], conv["updated_by_agent_id"] = agent_id, 2, agent_id
    convs = conv_state
    first_seq = 2  # seq 1 is the agent made by add_agent
    changes = [dict(seq=first_seq + i, entity=e, entity_id=eid, created_at=at)
               for i, (e, eid, at) in enumerate(change_rows)]
    with engine.begin() as conn:
        for table, rows in ((models.Customer, customers), (models.Identity, identities),
                            (models.Conversation, convs), (models.Message, messages), (models.Change, changes)):
            for k in range(0, len(rows), 20000):
                conn.execute(sa.insert(table.__table__), rows[k:k + 20000])
    engine.dispose()
    return TeamData(
        db_path=path, db_url=db_url, email=BENCH_EMAIL, password=BENCH_PASSWORD, agent_id=agent_id,
        conversations=conversations, messages=total, changes=len(changes) + 1,
        newest_seq=first_seq + len(changes) - 1, fill_seconds=time.perf_counter() - t0, cache_rows=cache_rows,
        replies=sum(1 for m in messages if m["direction"] == "out"),
    )


# -- raw SQLite baseline ----------------------------------------------------------------------------------
def raw_executemany(rows: list[tuple], path: Path, *, cache_schema: bool = False) -> float:
    """Seconds to insert `rows` with one `sqlite3.executemany` in one transaction into a fresh WAL database.

    Plain: a table with the cache's message columns, synchronous=NORMAL (the PLATFORM.md measurement).
    cache_schema=True: into the desktop cache's own message table (its unique indexes and FTS5 trigger),
    made by `workstation.cache.Cache`, with the cache's synchronous=FULL.
    """
    path = Path(path)
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(str(path) + suffix).unlink()
    if cache_schema:
        from workstation.cache import Cache

        Cache(path).close()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL" if cache_schema else "PRAGMA synchronous=NORMAL")
    if not cache_schema:
        con.execute("CREATE TABLE message (local_id INTEGER PRIMARY KEY, server_id INTEGER, conversation_id INTEGER,"
                    " direction TEXT, author_agent_id INTEGER, text TEXT, kind TEXT, delivery_state TEXT,"
                    " error_kind TEXT, error_code INTEGER, error_title TEXT, created_at TEXT)")
    sql = (f"INSERT INTO message ({', '.join(CACHE_MESSAGE_COLUMNS)}) "
           f"VALUES ({', '.join('?' * len(CACHE_MESSAGE_COLUMNS))})")
    t0 = time.perf_counter()
    con.execute("BEGIN")
    con.executemany(sql, rows)
    con.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    con.close()
    return elapsed


# -- the team server as a child process ---------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """`python -m workstation server --db URL --port P` (or this module's `serve` with a raised page cap)."""

    def __init__(self, db_url: str, *, page_max: int | None = None, log_path: Path | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        if page_max is None:
            args = [sys.executable, "-m", "workstation", "server", "--db", db_url, "--port", str(self.port)]
        else:
            args = [sys.executable, str(Path(__file__).resolve()), "serve", "--db", db_url,
                    "--port", str(self.port), "--page-max", str(page_max)]
        args.append("--exit-with-parent")
        self._log = open(log_path or os.devnull, "ab")
        self.proc = subprocess.Popen(args, cwd=ROOT, stdin=subprocess.PIPE, stdout=self._log, stderr=self._log,
                                     env={**os.environ, "WORKSTATION_LOG_LEVEL": "WARNING", **(env or {})})
        self._wait_healthy()

    def _wait_healthy(self, timeout: float = 60.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"team server exited early with code {self.proc.returncode}")
                try:
                    if client.get(self.url + "/v1/health").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("team server did not answer in time")

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def sign_in(server_url: str, email: str, password: str) -> tuple[str, dict]:
    import httpx

    r = httpx.post(f"{server_url}/v1/session", json={"email": email, "password": password}, timeout=30)
    r.raise_for_status()
    return r.json()["token"], r.json()["agent"]


# -- WhatsApp webhooks --------------------------------------------------------------------------------------
# The same builder the WhatsApp emulator and the tests use.
text_webhook = text_message_webhook


def signed_body(app_secret: str, payload: dict) -> tuple[bytes, dict[str, str]]:
    import json

    from services.channels.whatsapp import sign

    raw = json.dumps(payload, ensure_ascii=True).encode()
    return raw, {"Content-Type": "application/json", "X-Hub-Signature-256": sign(app_secret, raw)}


# -- Qt -----------------------------------------------------------------------------------------------------
def qt_offscreen() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


class NoneRefGuard:
    """PySide6 6.12 on Python 3.11 drops one reference to None on every call that returns None through it
    (every void Qt method called from Python, `QModelIndex.data(role)` yielding None; see
    bench/repro_none_refcount.py). The app's delegates make such calls on every paint, so a long benchmark
    dies with "Fatal Python error: none_dealloc". The benchmarks raise None's reference count by 10**9 up
    front (bench process only; no project code is changed) and report how many references were lost, so the
    leak is measured instead of crashing the run.
    """

    BOOST = 10**9

    def __init__(self) -> None:
        import ctypes

        self._cell = None
        if sys.version_info < (3, 12):  # None is immortal from 3.12 on
            self._cell = ctypes.c_ssize_t.from_address(id(None))
            self._cell.value += self.BOOST
        self.start = sys.getrefcount(None)
        self.t0 = time.monotonic()

    def mark(self) -> None:
        self.start = sys.getrefcount(None)
        self.t0 = time.monotonic()

    def report(self) -> str:
        if self._cell is None:
            return "None is immortal on this Python: the PySide6 reference leak cannot crash it"
        lost = self.start - sys.getrefcount(None)
        dt = max(time.monotonic() - self.t0, 1e-9)
        return (f"references to None lost by PySide6 since the mark: {lost:,} in {dt:.1f} s ({lost / dt:,.0f}/s); "
                f"a process starts with only ~5-50k, then dies with 'Fatal Python error: none_dealloc'")


def bench_settings(folder: Path):
    """The desktop's user settings kept in a scratch folder, so closing the window never writes the user's
    own settings file (None when this tree has no settings module)."""
    try:
        from workstation.settings import Settings
    except ImportError:
        return None
    return Settings(path=Path(folder) / "settings.json")


def open_bench_window(api, agent, *, language: str, cache_path: Path, settings):
    """`ui.app.open_window`, passing the scratch settings when this tree's open_window takes them."""
    import inspect

    from ui.app import open_window

    kw = {"language": language, "cache_path": cache_path}
    if settings is not None and "settings" in inspect.signature(open_window).parameters:
        kw["settings"] = settings
    return open_window(api, agent, **kw)


def run_qasync(coro_factory, settings=None):
    """Runs `coro_factory(language)` to completion on a qasync loop over the (offscreen) QApplication."""
    import asyncio
    import inspect

    import qasync

    from ui.app import make_app

    if settings is not None and "settings" in inspect.signature(make_app).parameters:
        app, language = make_app("en", settings)
    else:
        app, language = make_app("en")
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with loop:
            return loop.run_until_complete(coro_factory(language))
    finally:
        asyncio.set_event_loop(None)


def _serve_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="bench/common.py serve")
    p.add_argument("--db", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--page-max", type=int, required=True)
    p.add_argument("--exit-with-parent", action="store_true")
    args = p.parse_args(argv)
    import dataclasses

    from services.serve import serve
    from services.teamserver.app import create_app
    from services.teamserver.config import Settings
    from workstation import logsetup

    logsetup.configure()
    settings = dataclasses.replace(Settings.from_env(db_url=args.db), sync_page_max=args.page_max)
    serve(create_app(settings), host="127.0.0.1", port=args.port, exit_with_parent=args.exit_with_parent)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        raise SystemExit(_serve_main(sys.argv[2:]))
    print(__doc__)


# -- command line shared by the benchmarks that fill a team database ---------------------------------------
def add_team_db_options(ap) -> None:
    ap.add_argument("--quick", action="store_true", help="500 conversations x 20 messages")
    ap.add_argument("--conversations", type=int, default=None)
    ap.add_argument("--per-conversation", type=int, default=20)
    ap.add_argument("--changelog", choices=["entity", "ingest"], default="entity")
    ap.add_argument("--outbound-every", type=int, default=3,
                    help="every n-th message is an agent reply with a client_op_id (0: none)")


def conversation_count(args) -> int:
    return args.conversations or (500 if args.quick else 5000)


# -- any server child (bench/ingest.py) --------------------------------------------------------------------
class CommandServerProcess(ServerProcess):
    """A server child started from any argv (every "{port}" in it becomes a free port) in `cwd` (default: this
    checkout), stopped and awaited like ServerProcess: stdin held open for --exit-with-parent, healthy once
    GET /v1/health answers 200."""

    def __init__(self, argv: list[str], *, log_path: Path | None = None, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [a.replace("{port}", str(self.port)) for a in argv]
        self._log = open(log_path or os.devnull, "ab")
        self.proc = subprocess.Popen(args, cwd=cwd or ROOT, stdin=subprocess.PIPE, stdout=self._log,
                                     stderr=self._log,
                                     env={**os.environ, "WORKSTATION_LOG_LEVEL": "WARNING", **(env or {})})
        self._wait_healthy()


def team_server_argv(db_url: str, *, workers: int = 1) -> list[str]:
    """`python -m workstation server` on a free port ("{port}"), with `workers` worker processes."""
    more = ["--workers", str(workers)] if workers != 1 else []  # older trees have no --workers
    return [sys.executable, "-m", "workstation", "server", "--db", db_url, "--port", "{port}", *more,
            "--exit-with-parent"]


# -- soak: team databases of both kinds, many agents, process memory ---------------------------------------
@contextlib.contextmanager
def team_db_url(kind: str, folder: Path):
    """A fresh, empty team database: a SQLite file in `folder`, or a fresh PostgreSQL schema (the tests' own
    `tests.support.team_database`: 127.0.0.1:5432, database `test`, or WORKSTATION_TEST_PG_URL)."""
    from tests.support import team_database

    with team_database(kind, Path(folder)) as url:
        yield url


def add_agents(db_url: str, emails: list[str], password: str, *, role: str = "agent") -> list[int]:
    """Creates many agents in one transaction (one password hash for all: a bench needs no distinct ones),
    each with its change-log row, as `admin.add_agent` does one at a time. Returns their ids."""
    from sqlmodel import Session

    from services.teamserver import changes
    from services.teamserver.db import init_db, make_engine
    from services.teamserver.models import Agent
    from services.teamserver.security import hash_password

    engine = make_engine(db_url)
    try:
        init_db(engine)
        password_hash = hash_password(password)
        with Session(engine) as s:
            agents = [Agent(email=e.lower(), name=e.split("@")[0], role=role, password_hash=password_hash)
                      for e in emails]
            s.add_all(agents)
            s.flush()
            for a in agents:
                changes.record(s, "agent", a.id)
            ids = [a.id for a in agents]
            s.commit()
            return ids
    finally:
        engine.dispose()


def process_tree(pid: int) -> list[int]:
    """`pid` and every live descendant (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode("ascii", "replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, ()))
    return out


def rss_bytes(pid: int) -> int:
    """Resident set size of one process (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time one process has used so far (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().decode("ascii", "replace").rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (x, y) points (nan for fewer than two distinct x)."""
    if len(points) < 2:
        return float("nan")
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return float("nan")
    return sum((x - mx) * (y - my) for x, y in points) / sxx
