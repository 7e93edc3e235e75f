"""Soak: many desktop agents syncing live while signed WhatsApp webhooks pour in for minutes.

    uv run python bench/soak.py                         # 50 agents, 200 messages/s, 10 minutes, SQLite
    uv run python bench/soak.py --minutes 2             # a shorter run
    uv run python bench/soak.py --db postgresql --workers 2

Starts the demo stack (`start_demo_stack(traffic=False)`: the team server, with `--workers N`, and the
WhatsApp sandbox as child processes) on a fresh team database, adds `--agents` agents and signs each in.
The agents are the real desktop sync engine (`workstation.sync.SyncEngine`, each with its own cache file,
DbWorker thread and ApiClient: the event stream plus /v1/sync pages), `--agent-procs` processes each running
its share of them on one asyncio loop. Once every agent has synced and its event stream is up, this process
posts `--rate` signed webhooks per second (one message each, from `--customers` customers) for `--minutes`,
redelivering any webhook not answered with 200 as Meta does, so no message is lost on the sending side.

Then it waits (up to `--drain`) until every agent's cache holds every inbound message the server stored and
reports:
  - delivery: messages sent, stored by the server (by wamid), and per agent the count in its cache and the
    misses (server message ids absent from the cache file);
  - server memory: RSS of the server process and its workers every `--rss-every` s (from /proc); the first
    minute's average against the last minute's, and the slope after the first minute; flat = < 10 % growth;
  - latency: for every `--sample-every`-th message, webhook POST -> committed in each agent's cache
    (`Cache.apply_page` returned, on the agent's DbWorker thread), p50/p95/p99 over all agents; baseline, the
    POST's own round trip (POST -> 200). Both processes read CLOCK_MONOTONIC, which is system-wide.
`--json PATH` also writes every figure as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    _FIRST, _LAST, ROOT, add_agents, cpu_seconds, pct, process_tree, rss_bytes, rule, signed_body, slope,
    team_db_url, text_webhook,
)

AGENT_PASSWORD = "soak-agent-password"
TOKENS_ENV = "BENCH_SOAK_TOKENS"
PREFIX = "wamid.SOAK"  # + a 9-digit index: the agents' caches note when sampled ones arrive


# -- agent processes ----------------------------------------------------------------------------------------------
def agents_main(argv: list[str]) -> int:
    """Runs this process's agents until a line `stop` (or EOF) on stdin; prints `ready` once every agent has
    synced and its event stream is up, then `progress MIN MAX` (inbound messages applied) every few seconds;
    writes the sampled arrival times to --out at the end."""
    ap = argparse.ArgumentParser(prog="bench/soak.py _agents")
    ap.add_argument("--server", required=True)
    ap.add_argument("--cache-dir", type=Path, required=True)
    ap.add_argument("--first", type=int, required=True, help="index of this process's first agent")
    ap.add_argument("--sample-every", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    tokens = json.loads(os.environ.pop(TOKENS_ENV))

    from workstation import logsetup
    from workstation.api import ApiClient
    from workstation.cache import Cache
    from workstation.sync import ONLINE, DbWorker, SyncEngine

    with contextlib.suppress(Exception):
        logsetup.configure()
    import logging

    logging.getLogger().setLevel(logging.WARNING)

    class TimedCache(Cache):
        """The desktop cache, noting when each sampled message is committed (apply_page returned)."""

        def __init__(self, path: Path) -> None:
            super().__init__(path)
            self.arrived: dict[int, float] = {}
            self.inbound = 0

        def apply_page(self, page):
            cs = super().apply_page(page)
            now = time.monotonic()
            self.inbound += cs.new_inbound
            for m in page.messages:
                pid = m.provider_id
                if pid and pid.startswith(PREFIX):
                    i = int(pid[len(PREFIX):])
                    if i % args.sample_every == 0:
                        self.arrived.setdefault(i, now)
            return cs

    def say(line: str) -> None:
        print(line, flush=True)

    async def run() -> dict:
        engines, caches = [], []
        for k, token in enumerate(tokens):
            cache = TimedCache(args.cache_dir / f"agent-{args.first + k:03d}.sqlite")
            engine = SyncEngine(ApiClient(args.server, token, timeout=60.0), DbWorker(cache))
            engines.append(engine)
            caches.append(cache)
            engine.start()
        while not all(e.synced_once and e.state == ONLINE for e in engines):
            await asyncio.sleep(0.1)
        say("ready")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def watch_stdin() -> None:
            for line in sys.stdin:
                if line.strip() == "stop":
                    break
            loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=watch_stdin, daemon=True).start()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 5.0)
            counts = [c.inbound for c in caches]
            say(f"progress {min(counts)} {max(counts)}")
        for e in engines:
            await e.stop()
        for e in engines:
            e.db.shutdown()
        return {str(args.first + k): {str(i): t for i, t in c.arrived.items()} for k, c in enumerate(caches)}

    result = asyncio.run(run())
    args.out.write_text(json.dumps(result))
    say("done")
    return 0


class AgentProcess:
    def __init__(self, server: str, tokens: list[str], first: int, cache_dir: Path, sample_every: int,
                 out: Path, log_path: Path) -> None:
        self.first, self.count, self.out = first, len(tokens), out
        self.progress = (0, 0)
        self.ready = threading.Event()
        self.done = threading.Event()
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "_agents", "--server", server, "--cache-dir",
             str(cache_dir), "--first", str(first), "--sample-every", str(sample_every), "--out", str(out)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True,
            env={**os.environ, TOKENS_ENV: json.dumps(tokens)},
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            word, *rest = line.split()
            if word == "ready":
                self.ready.set()
            elif word == "progress":
                self.progress = (int(rest[0]), int(rest[1]))
            elif word == "done":
                self.done.set()

    def stop(self, timeout: float = 120.0) -> dict:
        with contextlib.suppress(OSError):
            self.proc.stdin.write("stop\n")
            self.proc.stdin.flush()
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()
        return json.loads(self.out.read_text()) if self.out.exists() else {}

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# -- sending -------------------------------------------------------------------------------------------------------
class Sender:
    """Posts `rate` signed webhooks per second (one message each) for `seconds`, at most `concurrency` at once;
    every webhook not answered with 200 is posted again (Meta's redelivery) until it is. A server that cannot
    keep up holds the sender back (the schedule slips; fewer than rate x seconds go out): the run still ends
    after `seconds`, and the achieved rate is reported."""

    def __init__(self, url: str, secret: str, phone: str, *, rate: float, seconds: float, customers: int,
                 sample_every: int, concurrency: int, seed: int = 7) -> None:
        self.url, self.secret, self.phone = url, secret, phone
        self.rate, self.total = rate, int(rate * seconds)
        self.sample_every, self.concurrency = sample_every, concurrency
        rng = random.Random(seed)
        self.customers = [(f"3471{c:07d}", f"{rng.choice(_FIRST)} {rng.choice(_LAST)}") for c in range(customers)]
        self.rng = rng
        self.sent = 0  # first attempts started
        self.acked = 0
        self.redeliveries = 0
        self.posted_at: dict[int, float] = {}  # sampled index -> first POST
        self.round_trip: list[float] = []  # sampled: first POST -> 200 (including any redeliveries)
        self.behind = 0.0  # the most the schedule slipped (seconds), when the server held the sender back
        self.started = 0.0
        self.finished = 0.0

    async def _post(self, client, i: int, sem: asyncio.Semaphore) -> None:
        import httpx

        try:
            wa_id, name = self.customers[self.rng.randrange(len(self.customers))]
            payload = text_webhook(wa_id=wa_id, name=name, text=f"soak message {i} from {name}: where is my order?",
                                   wamid=f"{PREFIX}{i:09d}", timestamp=int(time.time()), phone_number_id=self.phone)
            raw, headers = signed_body(self.secret, payload)
            t0 = time.monotonic()
            if i % self.sample_every == 0:
                self.posted_at[i] = t0
            delay = 0.25
            while True:
                try:
                    r = await client.post(self.url, content=raw, headers=headers)
                    if r.status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                self.redeliveries += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            self.acked += 1
            if i % self.sample_every == 0:
                self.round_trip.append(time.monotonic() - t0)
        finally:
            sem.release()

    async def run(self) -> None:
        import httpx

        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        sem = asyncio.Semaphore(self.concurrency)
        tasks: set[asyncio.Task] = set()
        async with httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=10.0), limits=limits) as client:
            self.started = time.monotonic()
            deadline = self.started + self.total / self.rate
            while self.sent < self.total and time.monotonic() < deadline:
                due = min(self.total, int((time.monotonic() - self.started) * self.rate) + 1)
                while self.sent < due and time.monotonic() < deadline:
                    await sem.acquire()
                    self.behind = max(self.behind, time.monotonic() - (self.started + self.sent / self.rate))
                    task = asyncio.ensure_future(self._post(client, self.sent, sem))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    self.sent += 1
                await asyncio.sleep(0.005)
            self.finished = time.monotonic()
            await asyncio.gather(*tasks)


# -- the run ---------------------------------------------------------------------------------------------------------
def server_inbound_ids(db_url: str) -> tuple[set[int], dict[str, int]]:
    import sqlalchemy as sa

    from services.teamserver.db import make_engine

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, provider_id FROM message WHERE direction = 'in'")).all()
    finally:
        engine.dispose()
    per_wamid: dict[str, int] = {}
    for _, wid in rows:
        per_wamid[wid] = per_wamid.get(wid, 0) + 1
    return {r[0] for r in rows}, per_wamid


def cache_inbound_ids(path: Path) -> set[int]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return {r[0] for r in con.execute("SELECT server_id FROM message WHERE direction = 'in'")}
    finally:
        con.close()


def cache_inbound_count(path: Path) -> int:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return con.execute("SELECT count(*) FROM message WHERE direction = 'in'").fetchone()[0]
    finally:
        con.close()


def mb(n: float) -> str:
    return f"{n / 2**20:.1f} MB"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--agents", type=int, default=50)
    ap.add_argument("--rate", type=float, default=200.0, help="webhooks (messages) per second")
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--workers", type=int, default=1, help="team server worker processes")
    ap.add_argument("--agent-procs", type=int, default=2, help="processes the agents are spread over")
    ap.add_argument("--customers", type=int, default=5000)
    ap.add_argument("--sample-every", type=int, default=20, help="latency of every n-th message")
    ap.add_argument("--concurrency", type=int, default=64, help="webhooks in flight at most")
    ap.add_argument("--rss-every", type=float, default=10.0, help="seconds between memory samples")
    ap.add_argument("--drain", type=float, default=600.0, help="seconds to wait for the agents to catch up")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--keep", action="store_true", help="keep the run's folder (caches, logs, SQLite)")
    args = ap.parse_args(argv)

    from workstation.demo import start_demo_stack

    folder = Path(tempfile.mkdtemp(prefix="workstation-soak-"))
    seconds = args.minutes * 60.0
    report: dict = {"config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                    "cpus": os.cpu_count(), "loadavg_at_start": os.getloadavg()}
    rule(f"soak: {args.agents} agents, {args.rate:g} msg/s for {args.minutes:g} min, {args.db}, "
         f"{args.workers} worker(s), {args.agent_procs} agent processes")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start; folder {folder}",
          flush=True)
    agents: list[AgentProcess] = []
    with contextlib.ExitStack() as cleanup:
        db_url = cleanup.enter_context(team_db_url(args.db, folder))
        stack = start_demo_stack(data_dir=folder / "stack", traffic=False, db_url=db_url, workers=args.workers,
                                 extra_env={"WORKSTATION_LOG_LEVEL": "WARNING"})
        cleanup.callback(stack.stop)
        cleanup.callback(lambda: [a.kill() for a in agents])
        server_pid = stack.children[0].pid
        emails = [f"soak.agent{i:03d}@soak.workstation.test" for i in range(args.agents)]
        add_agents(db_url, emails, AGENT_PASSWORD)
        import httpx

        tokens = []
        with httpx.Client(timeout=60) as client:
            for email in emails:
                r = client.post(f"{stack.server_url}/v1/session", json={"email": email, "password": AGENT_PASSWORD})
                r.raise_for_status()
                tokens.append(r.json()["token"])
        cache_dir = folder / "caches"
        cache_dir.mkdir()
        per = -(-args.agents // max(1, args.agent_procs))
        for first in range(0, args.agents, per):
            agents.append(AgentProcess(stack.server_url, tokens[first:first + per], first, cache_dir,
                                       args.sample_every, folder / f"arrivals-{first}.json",
                                       folder / "agents.log"))
        t_ready = time.monotonic()
        for a in agents:
            if not a.ready.wait(300):
                raise SystemExit(f"agent process {a.first} did not get ready; see {folder / 'agents.log'}")
        print(f"{args.agents} agents synced and listening in {time.monotonic() - t_ready:.1f} s; "
              f"server pid {server_pid}", flush=True)

        sender = Sender(stack.server_url + "/webhooks/whatsapp", stack.secrets["WORKSTATION_META_APP_SECRET"],
                        stack.secrets["WORKSTATION_WHATSAPP_PHONE_NUMBER_ID"], rate=args.rate, seconds=seconds,
                        customers=args.customers, sample_every=args.sample_every, concurrency=args.concurrency)
        samples: list[dict] = []  # t (s since sending began), rss of the server tree, per pid
        phase = {"name": "send"}

        def sample(t0: float) -> dict:
            pids = process_tree(server_pid)
            per_pid = {p: rss_bytes(p) for p in pids}
            s = {"t": time.monotonic() - t0, "phase": phase["name"], "rss": sum(per_pid.values()),
                 "per_pid": per_pid, "server_cpu": sum(cpu_seconds(p) for p in pids),
                 "agents_rss": sum(rss_bytes(a.proc.pid) for a in agents),
                 "load": os.getloadavg()[0], "sent": sender.sent, "acked": sender.acked,
                 "agents_min": min(a.progress[0] for a in agents), "agents_max": max(a.progress[1] for a in agents)}
            samples.append(s)
            return s

        async def send_and_sample() -> None:
            t0 = time.monotonic()
            sending = asyncio.ensure_future(sender.run())
            next_at = t0
            while not sending.done():
                if time.monotonic() >= next_at:
                    s = sample(t0)
                    print(f"  t={s['t']:6.0f}s sent {s['sent']:>7} acked {s['acked']:>7}  server RSS {mb(s['rss'])}"
                          f"  agents applied {s['agents_min']}..{s['agents_max']}  load {s['load']:.2f}", flush=True)
                    next_at += args.rss_every
                await asyncio.wait({sending}, timeout=max(0.0, min(1.0, next_at - time.monotonic())))
            await sending
            sample(t0)
            report["_t0"] = t0

        rule("sending")
        asyncio.run(send_and_sample())
        t0 = report.pop("_t0")
        send_seconds = sender.finished - sender.started
        print(f"sent {sender.sent} webhooks in {send_seconds:.1f} s ({sender.sent / max(send_seconds, 1e-9):.1f}/s of "
              f"{args.rate:g}/s asked), "
              f"all acknowledged after {time.monotonic() - sender.started:.1f} s; {sender.redeliveries} redeliveries; "
              f"schedule slipped at most {sender.behind:.2f} s", flush=True)

        rule("draining")
        phase["name"] = "drain"
        server_ids, per_wamid = server_inbound_ids(db_url)
        expected = len(server_ids)
        caches = sorted(cache_dir.glob("agent-*.sqlite"))
        t_drain = time.monotonic()
        next_sample = t_drain
        while True:
            counts = [cache_inbound_count(p) for p in caches]
            if min(counts) >= expected or time.monotonic() - t_drain > args.drain:
                break
            if time.monotonic() >= next_sample:
                sample(t0)
                next_sample += args.rss_every
            time.sleep(2.0)
        drain_seconds = time.monotonic() - t_drain
        print(f"caches caught up ({min(counts)}..{max(counts)} of {expected}) {drain_seconds:.1f} s after the last "
              f"acknowledgement", flush=True)
        arrivals: dict[str, dict[str, float]] = {}
        for a in agents:
            arrivals.update(a.stop())
        agents.clear()

        # -- delivery ------------------------------------------------------------------------------------------
        rule("delivery")
        sent_ids = {f"{PREFIX}{i:09d}" for i in range(sender.sent)}
        doubled = {w: n for w, n in per_wamid.items() if n > 1}
        lost_at_server = sent_ids - set(per_wamid)
        print(f"webhooks sent {sender.sent}; server stored {expected} inbound messages "
              f"({len(lost_at_server)} lost, {len(doubled)} stored twice)")
        delivery = []
        for p in caches:
            have = cache_inbound_ids(p)
            missing = server_ids - have
            delivery.append({"agent": p.stem, "cached": len(have & server_ids), "missing": len(missing),
                             "missing_sample": sorted(missing)[:10]})
        worst = max(delivery, key=lambda d: d["missing"])
        complete = sum(1 for d in delivery if d["missing"] == 0)
        print(f"agents with every message: {complete}/{len(delivery)}; most missed by one agent: "
              f"{worst['missing']} ({worst['agent']})")
        for d in delivery:
            if d["missing"]:
                print(f"  {d['agent']}: {d['cached']} cached, {d['missing']} missing, e.g. {d['missing_sample']}")

        # -- memory -------------------------------------------------------------------------------------------
        rule("server memory (RSS of the server process and its workers)")
        send_samples = [s for s in samples if s["phase"] == "send"]
        first = [s["rss"] for s in send_samples if s["t"] < 60.0]
        last = [s["rss"] for s in send_samples if s["t"] >= send_samples[-1]["t"] - 60.0]
        after_first = [(s["t"] / 60.0, s["rss"] / 2**20) for s in send_samples if s["t"] >= 60.0]
        # The first minute is the warm-up (imports, caches, connection pools): "flat" compares the minute after
        # it with the last minute. Both comparisons are printed.
        second = [s["rss"] for s in send_samples if 60.0 <= s["t"] < 120.0] or last
        first_avg = sum(first) / max(len(first), 1)
        second_avg = sum(second) / max(len(second), 1)
        last_avg = sum(last) / max(len(last), 1)
        growth = (last_avg - first_avg) / first_avg if first_avg else float("nan")
        growth_after = (last_avg - second_avg) / second_avg if second_avg else float("nan")
        mem_slope = slope(after_first)
        print(f"first minute {mb(first_avg)} (n={len(first)}), second minute {mb(second_avg)} (n={len(second)}), "
              f"last minute {mb(last_avg)} (n={len(last)})")
        print(f"growth: first -> last minute {growth * 100:+.1f} %; after the first minute (second -> last) "
              f"{growth_after * 100:+.1f} %, slope {mem_slope:+.2f} MB/min: "
              f"{'flat' if growth_after < 0.10 else 'NOT flat'} (goal < 10 % growth after the first minute)")
        print(f"peak {mb(max(s['rss'] for s in samples))}; server CPU {samples[-1]['server_cpu']:.0f} s over "
              f"{samples[-1]['t']:.0f} s; agent processes RSS {mb(samples[-1]['agents_rss'])} at the end")
        print("samples (s: MB): " + ", ".join(f"{s['t']:.0f}: {s['rss'] / 2**20:.0f}" for s in samples))

        # -- latency ------------------------------------------------------------------------------------------
        rule("latency of sampled messages")
        lat = []
        for per_agent in arrivals.values():
            for i, t in per_agent.items():
                posted = sender.posted_at.get(int(i))
                if posted is not None:
                    lat.append(t - posted)
        rt = sender.round_trip
        print(f"webhook POST -> in an agent's cache: p50 {pct(lat, 50) * 1000:.0f} ms, p95 {pct(lat, 95) * 1000:.0f} "
              f"ms, p99 {pct(lat, 99) * 1000:.0f} ms, max {max(lat, default=float('nan')) * 1000:.0f} ms "
              f"({len(lat)} arrivals: {len(sender.posted_at)} messages x {len(arrivals)} agents)")
        print(f"baseline, POST -> 200: p50 {pct(rt, 50) * 1000:.0f} ms, p95 {pct(rt, 95) * 1000:.0f} ms")
        # The same, over the last minute of sending only (a backlog that grows shows here).
        cut = sender.finished - 60.0
        late = [t - sender.posted_at[int(i)] for per_agent in arrivals.values() for i, t in per_agent.items()
                if int(i) in sender.posted_at and sender.posted_at[int(i)] >= cut]
        print(f"  of messages posted in the last minute: p50 {pct(late, 50) * 1000:.0f} ms, "
              f"p95 {pct(late, 95) * 1000:.0f} ms")
        errors = 0
        log_path = folder / "stack" / "children.log"
        if log_path.exists():
            text = log_path.read_text(errors="replace")
            errors = text.count('"level": "ERROR"') + text.count("Traceback")
        print(f"server/sandbox log: {errors} error records or tracebacks ({log_path})")
        print(f"load average at the end {os.getloadavg()}")

        report.update(
            sent=sender.sent, send_seconds=send_seconds, redeliveries=sender.redeliveries, behind=sender.behind,
            stored=expected, lost_at_server=len(lost_at_server), doubled=len(doubled),
            drain_seconds=drain_seconds, agents_complete=complete, delivery=delivery,
            rss_first_minute=first_avg, rss_second_minute=second_avg, rss_last_minute=last_avg, rss_growth=growth,
            rss_growth_after_first_minute=growth_after, rss_slope_mb_per_min=mem_slope,
            samples=[{k: v for k, v in s.items() if k != "per_pid"} for s in samples],
            latency_p50=pct(lat, 50), latency_p95=pct(lat, 95), latency_p99=pct(lat, 99),
            latency_last_minute_p50=pct(late, 50), latency_last_minute_p95=pct(late, 95),
            post_p50=pct(rt, 50), post_p95=pct(rt, 95), log_errors=errors, loadavg_at_end=os.getloadavg(),
        )
        if args.json:
            args.json.write_text(json.dumps(report, indent=1))
    if args.keep:
        print(f"kept {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)
    return 0 if complete == len(delivery) and not lost_at_server and not doubled else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_agents":
        raise SystemExit(agents_main(sys.argv[2:]))
    raise SystemExit(main())
