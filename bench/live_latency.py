"""Live latency: a signed WhatsApp webhook posted to the team server -> its text in the desktop's feed model.

    uv run python bench/live_latency.py            # 100 messages/s for 10 s
    uv run python bench/live_latency.py --quick    # 100 messages/s for 3 s
    uv run python bench/live_latency.py --rate 50 --duration 20

Starts the demo stack (`start_demo_stack(traffic=False)`: team server + WhatsApp sandbox as child processes),
signs in as the demo lead and opens the real MainWindow offscreen (`ui.app.open_window`) on a qasync loop.
A separate sender process posts signed webhooks on a fixed schedule (rate/s, 4 sender threads, httpx), each
from a new customer with a unique text, and records t0 just before each POST and t1 at its 200. The desktop
process hooks `window.feed_model` (modelReset / dataChanged / rowsInserted) and notes when each text first
shows as a row's PreviewRole. Both processes read CLOCK_MONOTONIC (`time.monotonic`), which is system-wide.

Baseline (same run, same posts): the bare POST round trip, t0 -> 200.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    NoneRefGuard, bench_settings, open_bench_window, pct, qt_offscreen, rule, run_qasync, signed_body, text_webhook,
)

SECRET_ENV = "BENCH_META_APP_SECRET"
TOKEN_ENV = "BENCH_PROBE_TOKEN"


# -- sender process -------------------------------------------------------------------------------------------
def sender_main(args) -> int:
    import httpx

    secret = os.environ[SECRET_ENV]
    count = int(args.rate * args.duration)
    bodies = []
    for i in range(count):
        payload = text_webhook(
            wa_id=f"{args.wa_base + i:011d}", name=f"Bench Customer {i}", text=f"{args.prefix}-{i:06d} latency probe",
            wamid=f"wamid.{args.prefix}{i:06d}", timestamp=int(time.time()), phone_number_id=args.phone,
        )
        bodies.append(signed_body(secret, payload))
    results: list[dict | None] = [None] * count
    threads = 4
    start = time.monotonic() + 0.2

    def work(k: int) -> None:
        with httpx.Client(base_url=args.url, timeout=30) as client:
            for i in range(k, count, threads):
                due = start + i / args.rate
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                raw, headers = bodies[i]
                t0 = time.monotonic()
                try:
                    r = client.post("/webhooks/whatsapp", content=raw, headers=headers)
                    status = r.status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                t1 = time.monotonic()
                results[i] = {"i": i, "t0": t0, "t1": t1, "status": status, "late": max(0.0, t0 - due)}

    probe: list[float] = []
    done = threading.Event()

    def probe_sync() -> None:
        # An idle client asking for the newest ~10 changes every 50 ms: the server's own /v1/sync time
        # under this load, without the desktop's event loop in the measurement.
        token = os.environ.get(TOKEN_ENV)
        if not token:
            return
        with httpx.Client(base_url=args.url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as client:
            newest = client.get("/v1/sync", params={"after": 0, "limit": 1}).json()["newest"]
            while not done.wait(0.05):
                t0 = time.monotonic()
                page = client.get("/v1/sync", params={"after": max(0, newest - 10), "limit": 1000}).json()
                probe.append(time.monotonic() - t0)
                newest = page["newest"]

    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    prober = threading.Thread(target=probe_sync)
    for t in pool:
        t.start()
    if args.probe:
        prober.start()
    for t in pool:
        t.join()
    done.set()
    if args.probe:
        prober.join()
    Path(args.out).write_text(json.dumps({"sent": results, "probe": probe}))
    return 0


def start_sender(url: str, secret: str, *, prefix: str, rate: float, duration: float, wa_base: int,
                 phone: str, out: Path, probe_token: str | None = None) -> subprocess.Popen:
    # The app secret and the probe's session token go through the environment, never on a command line.
    env = {**os.environ, SECRET_ENV: secret}
    extra = []
    if probe_token:
        env[TOKEN_ENV] = probe_token
        extra = ["--probe"]
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--sender", "--url", url, "--prefix", prefix,
         "--rate", str(rate), "--duration", str(duration), "--wa-base", str(wa_base), "--phone", phone,
         "--out", str(out)] + extra,
        env=env,
    )


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _self_cpu() -> float:
    t = os.times()
    return t.user + t.system


def _children_cpu() -> float:
    t = os.times()
    return t.children_user + t.children_system


# -- desktop side -----------------------------------------------------------------------------------------------
async def desktop_main(language: str, stack, work: Path, args, settings) -> dict:
    import asyncio

    from ui.feed_model import PreviewRole
    from workstation.api import ApiClient
    from workstation.demo import DEMO_PHONE_NUMBER_ID
    from workstation.sync import ONLINE

    async def wait_until(pred, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return True
            await asyncio.sleep(0.02)
        return pred()

    api = ApiClient(stack.server_url)
    session = await api.sign_in(stack.lead_email, stack.lead_password)
    # -- instrumentation (wrappers on instances only; no project file is changed) --
    trace = {"sync": [], "apply": [], "feed": [], "feed_loaded": [], "pokes": []}

    def texts_of(page) -> list[str]:
        return [m.text for m in page.messages if m.text.startswith("lat")]

    orig_sync = api.sync

    async def sync(after, limit=500):
        t = time.monotonic()
        page = await orig_sync(after, limit)
        trace["sync"].append((t, time.monotonic(), texts_of(page)))
        return page

    api.sync = sync
    orig_events = api.events

    async def events():
        async with contextlib.aclosing(orig_events()) as stream:
            async for poke in stream:
                trace["pokes"].append(time.monotonic())
                yield poke

    api.events = events
    window, workspace = open_bench_window(api, session.agent, language=language, cache_path=work / "cache.sqlite",
                                          settings=settings)
    window.show()
    if not await wait_until(lambda: workspace.engine.state == ONLINE and window.feed_model.rowCount() >= 0, 30):
        raise RuntimeError("the desktop did not come online")

    seen: dict[str, dict[int, float]] = {}
    scan_cost = [0.0, 0]
    model = window.feed_model

    active = {"prefix": None}

    def scan(*_a) -> None:
        # model.data() called from Python (not QModelIndex.data): no QVariant round trip, so none of
        # PySide6's None leak, and a cheap call. Newest rows come first: new conversations get higher ids
        # and the same-second timestamps order by id, so the scan stops at the first row already seen.
        t = time.monotonic()
        for r in range(model.rowCount()):
            p = model.data(model.index(r, 0), PreviewRole)
            if p and p.startswith("lat") and "-" in p:
                tag, _, rest = p.partition("-")
                bucket = seen.get(tag)
                if bucket is not None:
                    i = int(rest[:6])
                    if i not in bucket:
                        bucket[i] = t
                    elif tag == active["prefix"]:
                        break
        scan_cost[0] += time.monotonic() - t
        scan_cost[1] += 1

    model.modelReset.connect(scan)
    model.dataChanged.connect(scan)
    model.rowsInserted.connect(scan)
    window.feed_loaded.connect(lambda n: trace["feed_loaded"].append(time.monotonic()))

    cache = workspace.cache
    orig_apply = cache.apply_page

    def apply_page(page):
        t = time.monotonic()
        cs = orig_apply(page)
        trace["apply"].append((t, time.monotonic(), texts_of(page)))
        return cs

    cache.apply_page = apply_page
    orig_feed = workspace.feed

    async def feed():
        t = time.monotonic()
        rows = await orig_feed()
        trace["feed"].append((t, time.monotonic()))
        return rows

    workspace.feed = feed

    # The single DB worker thread: how long each call waited in its queue, and ran.
    db = workspace.db
    orig_run = db.run

    def db_run(fn, *a):
        name = getattr(fn, "__name__", "call")
        submitted = time.monotonic()

        def timed():
            started = time.monotonic()
            try:
                return fn(*a)
            finally:
                trace["db"].append((name, submitted, started, time.monotonic()))
        return orig_run(timed)

    db.run = db_run
    trace["db"] = []
    from ui_stall import TickMeter

    meter = TickMeter(5)

    secret = stack.secrets["WORKSTATION_META_APP_SECRET"]

    # A second agent's session for the sender's /v1/sync probe (not the desktop's own token).
    probe_email = next(e for e in stack.passwords if e != stack.lead_email)
    probe_api = ApiClient(stack.server_url)
    probe_token = (await probe_api.sign_in(probe_email, stack.passwords[probe_email])).token
    await probe_api.aclose()
    probe_rtts: list[float] = []

    async def run_sender(prefix: str, rate: float, duration: float, wa_base: int, probe: bool = False) -> list[dict]:
        out = work / f"{prefix}.json"
        seen[prefix] = {}
        active["prefix"] = prefix
        proc = start_sender(stack.server_url, secret, prefix=prefix, rate=rate, duration=duration, wa_base=wa_base,
                            phone=DEMO_PHONE_NUMBER_ID, out=out, probe_token=probe_token if probe else None)
        while proc.poll() is None:
            await asyncio.sleep(0.05)
        if proc.returncode != 0:
            raise RuntimeError(f"sender exited with {proc.returncode}")
        answer = json.loads(out.read_text())
        sent = answer["sent"]
        probe_rtts[:] = answer["probe"]
        await wait_until(lambda: len(seen[prefix]) >= len(sent), args.grace)
        return sent

    # Warm-up (not counted): 20 messages at 20/s.
    warm = "lat" + secrets.token_hex(3) + "w"
    await run_sender(warm, 20, 1.0, 44700000000)
    for k in trace:
        trace[k].clear()
    scan_cost[0], scan_cost[1] = 0.0, 0
    await asyncio.sleep(0.5)

    prefix = "lat" + secrets.token_hex(3)
    args.none_guard.mark()
    meter.start()
    server_pid = stack.children[0].pid
    cpu0 = (_proc_cpu(server_pid), _self_cpu(), _children_cpu())
    t_start = time.monotonic()
    sent = await run_sender(prefix, args.rate, args.duration, 44800000000, probe=True)
    t_end = time.monotonic()
    none_report = args.none_guard.report()
    meter.stop()
    gaps = [g for _, g in meter.gaps()]
    cpu1 = (_proc_cpu(server_pid), _self_cpu(), _children_cpu())
    result = {"sent": sent, "seen": dict(seen[prefix]), "trace": trace, "prefix": prefix,
              "scan": tuple(scan_cost), "window": t_end - t_start, "none": none_report, "gaps": gaps, "probe": list(probe_rtts),
              "cpu": {name: (b - a) / (t_end - t_start) for name, a, b in zip(("team server", "desktop", "sender"), cpu0, cpu1)}}
    window.close()
    await workspace.stop()
    return result


def report(res: dict, args) -> None:
    sent, seen, trace, prefix = res["sent"], res["seen"], res["trace"], res["prefix"]
    ok = [s for s in sent if s and s["status"] == 200]
    rtt = [s["t1"] - s["t0"] for s in ok]
    lat = [seen[s["i"]] - s["t0"] for s in ok if s["i"] in seen]
    late = [s["late"] for s in sent if s]
    rule("result")
    print(f"  sent {len(sent)} webhooks at {args.rate:g}/s for {args.duration:g} s ({len(ok)} answered 200; "
          f"sender behind schedule p50 {pct(late, 50) * 1000:.1f} ms, max {max(late) * 1000:.1f} ms)")
    print(f"  seen in the feed model: {len(lat)} of {len(ok)}")

    def line(name, xs):
        if not xs:
            return f"  {name}: none"
        return (f"  {name}: p50 {pct(xs, 50) * 1000:7.1f} ms   p95 {pct(xs, 95) * 1000:7.1f} ms   "
                f"p99 {pct(xs, 99) * 1000:7.1f} ms   max {max(xs) * 1000:7.1f} ms")

    print(line("webhook -> feed model      ", lat))
    print(line("baseline: POST -> 200      ", rtt))
    if lat and rtt:
        print(f"  ratio (p50 / p95): {pct(lat, 50) / pct(rtt, 50):.1f}x / {pct(lat, 95) / pct(rtt, 95):.1f}x the bare "
              f"round trip;  goal p95 <= 50 ms: {'MET' if pct(lat, 95) <= 0.050 else 'NOT MET'}")

    # Where the time goes, per message, from the page that carried it.
    first_sync, first_apply = {}, {}
    for t0, t1, texts in trace["sync"]:
        for tx in texts:
            if tx.startswith(prefix + "-"):
                first_sync.setdefault(int(tx[len(prefix) + 1:][:6]), (t0, t1))
    for t0, t1, texts in trace["apply"]:
        for tx in texts:
            if tx.startswith(prefix + "-"):
                first_apply.setdefault(int(tx[len(prefix) + 1:][:6]), (t0, t1))
    stages = {"POST -> 200": [], "200 -> GET /v1/sync sent": [], "GET /v1/sync (server + decode)": [],
              "-> apply_page done (DB thread)": [], "apply done -> in feed model": []}
    for s in ok:
        i = s["i"]
        if i not in seen or i not in first_sync or i not in first_apply:
            continue
        (gs, ge), (_as, ae) = first_sync[i], first_apply[i]
        stages["POST -> 200"].append(s["t1"] - s["t0"])
        stages["200 -> GET /v1/sync sent"].append(gs - s["t1"])
        stages["GET /v1/sync (server + decode)"].append(ge - gs)
        stages["-> apply_page done (DB thread)"].append(ae - ge)
        stages["apply done -> in feed model"].append(seen[i] - ae)
    rule("where the time goes (per message; stages of the pull that carried it)")
    for name, xs in stages.items():
        if xs:
            print(f"  {name:34s} p50 {pct(xs, 50) * 1000:7.1f} ms   p95 {pct(xs, 95) * 1000:7.1f} ms")
    n_sync = len(trace["sync"])
    sync_d = [b - a for a, b, _ in trace["sync"]]
    apply_d = [b - a for a, b, _ in trace["apply"]]
    feed_d = [b - a for a, b in trace["feed"]]
    w = res["window"]
    print(f"  pokes received {len(trace['pokes'])}, pulls (GET /v1/sync) {n_sync} ({n_sync / w:.0f}/s), "
          f"feed queries {len(trace['feed'])}, feed_loaded emitted {len(trace['feed_loaded'])}")
    if sync_d:
        print(f"  GET /v1/sync p50 {pct(sync_d, 50) * 1000:.1f} ms; apply_page p50 {pct(apply_d, 50) * 1000:.1f} ms; "
              f"Cache.feed (1000-row query on the DB thread) p50 {pct(feed_d, 50) * 1000:.1f} ms "
              f"p95 {pct(feed_d, 95) * 1000:.1f} ms")
    if res["probe"]:
        print(line("server's /v1/sync meanwhile ", res["probe"]) + "  (idle client in the sender process, "
              "newest ~10 changes every 50 ms)")
    gaps = res["gaps"]
    print(f"  desktop UI loop (5 ms QTimer) during the run: longest gap {max(gaps) * 1000:.0f} ms, p99 "
          f"{pct(gaps, 99) * 1000:.1f} ms, {sum(g > 0.016 for g in gaps)} gaps > 16 ms, {sum(g > 0.05 for g in gaps)} > 50 ms")
    by_fn: dict[str, list] = {}
    for name, sub, start, end in trace.get("db", []):
        by_fn.setdefault(name, []).append((start - sub, end - start))
    if by_fn:
        print("  DB worker thread (one thread for sync and views): calls, queue wait p50/p95, run p50, total run")
        for name, xs in sorted(by_fn.items(), key=lambda kv: -sum(r for _, r in kv[1])):
            waits, runs = [w for w, _ in xs], [r for _, r in xs]
            print(f"    {name:28s} {len(xs):5d}  wait {pct(waits, 50) * 1000:6.1f} / {pct(waits, 95) * 1000:6.1f} ms"
                  f"  run {pct(runs, 50) * 1000:6.1f} ms  total {sum(runs):5.2f} s")
        busy = sum(r for xs in by_fn.values() for _, r in xs)
        print(f"    DB thread busy {busy / res['window']:.0%} of the run")
    print("  CPU during the run (1.0 = one core of 2): " + ", ".join(f"{k} {v:.2f}" for k, v in res["cpu"].items()))
    print(f"  PySide6 None leak: {res['none']}")
    scan_t, scans = res["scan"]
    if scans:
        print(f"  (bench's own feed-model scan: {scans} scans, {scan_t / scans * 1000:.2f} ms each, after the "
              f"timestamp)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="3 s instead of 10 s")
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--duration", type=float, default=None)
    ap.add_argument("--grace", type=float, default=10.0, help="seconds to wait for stragglers after the last post")
    ap.add_argument("--sender", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--prefix", help=argparse.SUPPRESS)
    ap.add_argument("--wa-base", type=int, default=44800000000, help=argparse.SUPPRESS)
    ap.add_argument("--phone", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.duration is None:
        args.duration = 3.0 if args.quick else 10.0
    if args.sender:
        return sender_main(args)

    qt_offscreen()
    args.none_guard = NoneRefGuard()
    from workstation.demo import start_demo_stack

    work = Path(tempfile.mkdtemp(prefix="bench-live-"))
    rule("setup")
    stack = start_demo_stack(data_dir=work / "stack", traffic=False)
    print(f"  demo stack up: server {stack.server_url}, children {stack.pids}")
    try:
        settings = bench_settings(work)
        res = run_qasync(lambda language: desktop_main(language, stack, work, args, settings), settings)
    finally:
        stack.stop()
    report(res, args)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
