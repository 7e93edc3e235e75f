"""UI stalls: the longest Qt event-loop gap while the initial sync runs with the window open.

    uv run python bench/ui_stall.py            # 5,000 conversations x 20 messages (as bench/sync.py)
    uv run python bench/ui_stall.py --quick    # 500 x 20
    uv run python bench/ui_stall.py --sample   # also sample the UI thread's stack during stalls (perturbs a bit)

Fills a team database as bench/sync.py does, starts `python -m workstation server`, signs in and opens the
real MainWindow offscreen (`ui.app.open_window`) on a fresh cache, on a qasync loop. A QTimer (PreciseTimer)
fires every 5 ms; each tick records the gap since the previous one. Measured from the first loop turn after
the window is shown until the sync is complete (`on_workspace_progress` reports done == total) and the feed
has reloaded once more. Baseline (same run): the same timer with the same window open and idle (synced, no
sync running) for the same duration.

Stalls are attributed with perf_counter wrappers around the UI-thread work of the sync (ApiClient.sync's
JSON decode + SyncPage validation, FeedModel.set_rows, Notifier.update_feed, ThreadModel.set_rows, ...) and
the DB thread's Cache.apply_page; --sample adds a stack sampler thread.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    add_team_db_options,
    conversation_count,
    NoneRefGuard, ServerProcess, bench_settings, fill_team_db, open_bench_window, pct, qt_offscreen, rule, run_qasync,
)


class TickMeter:
    def __init__(self, interval_ms: int = 5) -> None:
        from PySide6.QtCore import QTimer, Qt

        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.ticks: list[float] = []
        self.last = 0.0

    def start(self) -> None:
        self.ticks = []
        self.last = time.perf_counter()
        self.ticks.append(self.last)
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self._tick()

    def _tick(self) -> None:
        self.last = time.perf_counter()
        self.ticks.append(self.last)

    def gaps(self) -> list[tuple[float, float]]:
        """(start, length) of every gap between consecutive ticks."""
        return [(a, b - a) for a, b in zip(self.ticks, self.ticks[1:])]


class CallLog:
    """Records (name, start, duration) of wrapped calls; sync calls only (they block the thread they run on)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float, float]] = []
        self.lock = threading.Lock()

    def add(self, name: str, start: float, dt: float) -> None:
        with self.lock:
            self.calls.append((name, start, dt))

    def wrap(self, name: str, fn):
        def wrapper(*a, **kw):
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                self.add(name, t0, time.perf_counter() - t0)
        return wrapper


class GcLog:
    """Every garbage collection (generation, start, duration, thread): they stop every thread (GIL held)."""

    def __init__(self) -> None:
        self.runs: list[tuple[int, float, float, str]] = []
        self._start: dict[int, float] = {}
        self.active = False

    def __call__(self, phase: str, info: dict) -> None:
        ident = threading.get_ident()
        if phase == "start":
            self.active = True
            self._start[ident] = time.perf_counter()
        else:
            self.active = False
            t0 = self._start.pop(ident, None)
            if t0 is not None:
                self.runs.append((info["generation"], t0, time.perf_counter() - t0, threading.current_thread().name))

    def install(self) -> None:
        import gc

        gc.callbacks.append(self)

    def remove(self) -> None:
        import gc

        if self in gc.callbacks:
            gc.callbacks.remove(self)


class StackSampler(threading.Thread):
    """While the UI thread has not ticked for > threshold, samples its Python stack every `every` seconds."""

    def __init__(self, meter: TickMeter, main_ident: int, gclog: GcLog, threshold: float = 0.016,
                 every: float = 0.002) -> None:
        super().__init__(daemon=True, name="stall-sampler")
        self.gclog = gclog
        self.meter, self.main_ident, self.threshold, self.every = meter, main_ident, threshold, every
        self.samples: collections.Counter[str] = collections.Counter()
        self.leaf: collections.Counter[str] = collections.Counter()
        self.wake_delays: list[float] = []
        self.stop_flag = False

    def run(self) -> None:
        root = str(Path(__file__).resolve().parent.parent)
        while not self.stop_flag:
            t = time.perf_counter()
            time.sleep(self.every)
            # How late this thread got the GIL back: long waits mean another thread held it.
            wake_delay = time.perf_counter() - t - self.every
            if time.perf_counter() - self.meter.last < self.threshold:
                continue
            self.wake_delays.append(wake_delay)
            frame = sys._current_frames().get(self.main_ident)
            if frame is None:
                continue
            if self.gclog.active:
                self.samples["(garbage collection running)"] += 1
                self.leaf["(garbage collection running)"] += 1
                continue
            stack = []
            f = frame
            while f is not None and len(stack) < 40:
                stack.append(f)
                f = f.f_back
            leaf = stack[0]
            self.leaf[f"{Path(leaf.f_code.co_filename).name}:{leaf.f_code.co_name}"] += 1
            # The innermost frame of the project's own code, and what it called into.
            own = next((fr for fr in stack if fr.f_code.co_filename.startswith(root)
                        and "/.venv/" not in fr.f_code.co_filename and "/bench/" not in fr.f_code.co_filename),
                       None)
            key = (f"{Path(own.f_code.co_filename).relative_to(root)}:{own.f_code.co_name}:{own.f_lineno}"
                   if own else "(no project frame: Qt/qasync/library)")
            self.samples[key] += 1


def gap_stats(gaps: list[tuple[float, float]]) -> dict:
    lengths = [g for _, g in gaps]
    return dict(n=len(lengths), max=max(lengths) if lengths else 0.0, over16=sum(g > 0.016 for g in lengths),
                over50=sum(g > 0.050 for g in lengths), p99=pct(lengths, 99), p50=pct(lengths, 50))


async def ui_main(language: str, data, server_url: str, work: Path, args, settings) -> dict:
    import asyncio

    from workstation.api import ApiClient

    api = ApiClient(server_url, timeout=120)
    await api.sign_in(data.email, data.password)
    agent = await api.me()
    log = CallLog()

    # UI-thread stretch of each pull: from the body having arrived to the parsed page (no await in between).
    http_request = api._http.request
    last_http_end = {}

    async def request(*a, **kw):
        response = await http_request(*a, **kw)
        last_http_end["t"] = time.perf_counter()
        return response

    api._http.request = request
    api_sync = api.sync

    async def sync(after, limit=500):
        page = await api_sync(after, limit)
        t1 = time.perf_counter()
        t0 = last_http_end.get("t", t1)
        log.add("ApiClient.sync: response.json() + SyncPage.model_validate (UI thread)", t0, t1 - t0)
        return page

    api.sync = sync

    t_open0 = time.perf_counter()
    window, workspace = open_bench_window(api, agent, language=language, cache_path=work / "cache.sqlite",
                                          settings=settings)
    window.show()
    t_open = time.perf_counter() - t_open0
    cache = workspace.cache
    cache.apply_page = log.wrap("Cache.apply_page (DB thread)", cache.apply_page)
    cache.feed = log.wrap("Cache.feed (DB thread)", cache.feed)
    window.feed_model.set_rows = log.wrap("FeedModel.set_rows (UI thread)", window.feed_model.set_rows)
    if hasattr(window, "notifier"):
        window.notifier.update_feed = log.wrap("Notifier.update_feed (UI thread)", window.notifier.update_feed)
    window.thread_model.set_rows = log.wrap("ThreadModel.set_rows (UI thread)", window.thread_model.set_rows)
    if hasattr(window, "customer_pane"):
        window.customer_pane.show_card = log.wrap("CustomerPane.show_card (UI thread)",
                                                  window.customer_pane.show_card)
    state = {"sync_done": None, "settled": None, "progress": 0}
    orig_progress = window.on_workspace_progress

    def on_progress(done: int, total: int) -> None:
        t0 = time.perf_counter()
        orig_progress(done, total)
        log.add("MainWindow.on_workspace_progress (UI thread)", t0, time.perf_counter() - t0)
        state["progress"] += 1
        if done >= total and state["sync_done"] is None:
            state["sync_done"] = time.perf_counter()

    window.on_workspace_progress = on_progress
    orig_changed = window.on_workspace_changed
    window.on_workspace_changed = log.wrap("MainWindow.on_workspace_changed (UI thread)", orig_changed)

    def on_feed_loaded(_n: int) -> None:
        if state["sync_done"] is not None and state["settled"] is None:
            state["settled"] = time.perf_counter()

    window.feed_loaded.connect(on_feed_loaded)

    import gc

    if args.gc_freeze:
        gc.collect()
        gc.freeze()
    tracked_at_start = len(gc.get_objects())
    meter = TickMeter(5)
    gclog = GcLog()
    gclog.install()
    sampler = None
    if args.sample:
        sampler = StackSampler(meter, threading.main_thread().ident, gclog)
    args.none_guard.mark()
    meter.start()
    if sampler:
        sampler.start()
    t_start = meter.last
    deadline = time.monotonic() + args.timeout
    while state["settled"] is None and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    meter.stop()
    t_end = meter.last
    sync_gaps = meter.gaps()
    if sampler:
        sampler.stop_flag = True
    gclog.remove()
    none_report = args.none_guard.report()
    gc_runs = list(gclog.runs)
    tracked_at_end = len(gc.get_objects())
    if state["settled"] is None:
        raise RuntimeError(f"the sync did not complete within {args.timeout} s")
    cursor = cache.cursor()

    # Baseline: the same window, synced and idle, for the same duration.
    await asyncio.sleep(0.5)
    calls_before = len(log.calls)
    meter.start()
    await asyncio.sleep(t_end - t_start)
    meter.stop()
    idle_gaps = meter.gaps()
    idle_calls = log.calls[calls_before:]
    window.close()
    await workspace.stop()
    return dict(sync_gaps=sync_gaps, idle_gaps=idle_gaps, t_start=t_start, t_end=t_end, t_open=t_open,
                sync_done=state["sync_done"], settled=state["settled"], calls=log.calls[:calls_before],
                idle_calls=idle_calls, sampler=sampler, cursor=cursor, progress=state["progress"],
                gc_runs=gc_runs, none=none_report, tracked=(tracked_at_start, tracked_at_end, gc.get_freeze_count()))


def attribute(gaps, calls, threshold: float) -> tuple[collections.Counter, collections.Counter, int]:
    """For every gap over the threshold: the wrapped UI-thread call that covers most of it, and whether the
    DB thread was applying a page meanwhile."""
    by_call: collections.Counter[str] = collections.Counter()
    with_apply = 0
    time_by_call: collections.Counter[str] = collections.Counter()
    ui_calls = [c for c in calls if "(UI thread)" in c[0]]
    db_calls = [c for c in calls if "apply_page" in c[0]]
    for start, length in gaps:
        if length <= threshold:
            continue
        end = start + length
        best, best_overlap = "(no wrapped UI-thread call: painting, Qt, GIL wait, other tasks)", 0.0
        for name, cs, cd in ui_calls:
            overlap = min(end, cs + cd) - max(start, cs)
            if overlap > best_overlap:
                best, best_overlap = name, overlap
        if best_overlap < 0.3 * length:
            best = "(no wrapped UI-thread call: painting, Qt, GIL wait, other tasks)"
        by_call[best] += 1
        time_by_call[best] += length
        if any(min(end, cs + cd) > max(start, cs) for _n, cs, cd in db_calls):
            with_apply += 1
    return by_call, time_by_call, with_apply


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_team_db_options(ap)
    ap.add_argument("--sample", action="store_true", help="sample the UI thread's stack during stalls")
    ap.add_argument("--timeout", type=float, default=170.0)
    ap.add_argument("--gc-freeze", action="store_true",
                    help="experiment: gc.freeze() in this process once the window is up (not what the app does)")
    args = ap.parse_args()
    convs = conversation_count(args)

    qt_offscreen()
    args.none_guard = NoneRefGuard()
    work = Path(tempfile.mkdtemp(prefix="bench-stall-"))
    try:
        rule("setup")
        data = fill_team_db(work / "team.sqlite", conversations=convs, per_conversation=args.per_conversation,
                            outbound_every=args.outbound_every, changelog=args.changelog, keep_cache_rows=False)
        print(f"  team database: {data.conversations:,} conversations, {data.messages:,} messages, "
              f"{data.changes:,} changes ({data.replies:,} agent replies with a client_op_id; filled in "
              f"{data.fill_seconds:.1f} s)")
        with ServerProcess(data.db_url, log_path=work / "server.log") as server:
            settings = bench_settings(work)
            res = run_qasync(lambda language: ui_main(language, data, server.url, work, args, settings), settings)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    if res["cursor"] != data.newest_seq:
        print(f"  WARNING: cache cursor {res['cursor']} != server newest {data.newest_seq}")
    s, b = gap_stats(res["sync_gaps"]), gap_stats(res["idle_gaps"])
    duration = res["t_end"] - res["t_start"]
    rule("result")
    print(f"  window built and shown in {res['t_open'] * 1000:.0f} ms (before the measurement starts)")
    print(f"  sync duration (window open -> last page applied): {res['sync_done'] - res['t_start']:.1f} s; "
          f"until the feed reloaded after it: {duration:.1f} s = {data.messages / duration:,.0f} messages/s")
    hdr = f"  {'':26s}{'longest':>10s}{'>16 ms':>9s}{'>50 ms':>9s}{'p99 gap':>10s}{'p50 gap':>10s}{'ticks':>8s}"
    print(hdr)
    for name, st in (("during the initial sync", s), ("baseline: idle window", b)):
        print(f"  {name:26s}{st['max'] * 1000:8.0f} ms{st['over16']:9d}{st['over50']:9d}"
              f"{st['p99'] * 1000:8.1f} ms{st['p50'] * 1000:8.1f} ms{st['n']:8d}")
    ratio = s["max"] / b["max"] if b["max"] else float("inf")
    print(f"  ratio of longest stalls: {ratio:.1f}x the idle baseline;  goal longest stall <= 50 ms: "
          f"{'MET' if s['max'] <= 0.050 else 'NOT MET'}")

    print(f"  PySide6 None leak during the sync: {res['none']}")

    rule("where the stalls come from (gaps > 16 ms, by the wrapped UI-thread call covering most of each)")
    by_call, time_by_call, with_apply = attribute(res["sync_gaps"], res["calls"], 0.016)
    for name, count in by_call.most_common():
        print(f"  {count:5d} gaps, {time_by_call[name]:6.2f} s total   {name}")
    print(f"  {with_apply} of {s['over16']} gaps overlapped a Cache.apply_page on the DB thread")
    by50, t50, a50 = attribute(res["sync_gaps"], res["calls"], 0.050)
    if by50:
        print("  gaps > 50 ms: " + "; ".join(f"{n} x {k}" for k, n in by50.most_common()))
    longest = sorted(res["sync_gaps"], key=lambda g: -g[1])[:5]
    for start, length in longest:
        overl = [(n, cd) for n, cs, cd in res["calls"] if min(start + length, cs + cd) > max(start, cs)]
        overl += [(f"gc gen{gen} ({th})", gd) for gen, g0, gd, th in res["gc_runs"]
                  if gd > 0.002 and min(start + length, g0 + gd) > max(start, g0)]
        desc = ", ".join(f"{n.split(' (')[0] if not n.startswith('gc') else n} {cd * 1000:.0f} ms"
                         for n, cd in overl[:5]) or "no wrapped call"
        print(f"  longest: {length * 1000:5.0f} ms at +{start - res['t_start']:5.1f} s  overlapping: {desc}")
    gcs = res["gc_runs"]
    if gcs:
        in_gaps = 0
        for start, length in res["sync_gaps"]:
            if length > 0.016 and any(min(start + length, g0 + gd) - max(start, g0) > 0.5 * gd and gd > 0.005
                                      for _gen, g0, gd, _th in gcs):
                in_gaps += 1
        by_gen = collections.defaultdict(list)
        for gen, _g0, gd, th in gcs:
            by_gen[gen].append(gd)
        print("  garbage collections during the sync (they hold the GIL: every thread waits): " + "; ".join(
            f"gen{g}: {len(d)} runs, max {max(d) * 1000:.0f} ms, total {sum(d):.2f} s" for g, d in sorted(by_gen.items())))
        print(f"  {in_gaps} of {s['over16']} gaps > 16 ms contain a collection over 5 ms; objects tracked by the "
              f"collector: {res['tracked'][0]:,} at the start, {res['tracked'][1]:,} at the end"
              + (f" (+{res['tracked'][2]:,} frozen: --gc-freeze)" if res['tracked'][2] else ""))
    # Per-call durations of the wrapped work during the sync.
    rule("wrapped calls during the sync (count, p50, p95, max, total)")
    names = sorted({c[0] for c in res["calls"]})
    for name in names:
        ds = [c[2] for c in res["calls"] if c[0] == name]
        print(f"  {name:72s} {len(ds):5d}  {pct(ds, 50) * 1000:6.1f} {pct(ds, 95) * 1000:6.1f} "
              f"{max(ds) * 1000:6.1f} ms  {sum(ds):6.2f} s")
    if res["sampler"] is not None:
        rule("stack samples of the UI thread during gaps > 16 ms (innermost project frame)")
        total = sum(res["sampler"].samples.values()) or 1
        for key, n in res["sampler"].samples.most_common(15):
            print(f"  {n:5d} ({n / total:4.0%})  {key}")
        wd = res["sampler"].wake_delays
        if wd:
            print(f"  the sampler's own GIL wait at those samples: p50 {pct(wd, 50) * 1000:.1f} ms, "
                  f"p95 {pct(wd, 95) * 1000:.1f} ms, max {max(wd) * 1000:.1f} ms (switch interval "
                  f"{sys.getswitchinterval() * 1000:.0f} ms)")
        print("  innermost frame of all:")
        for key, n in res["sampler"].leaf.most_common(10):
            print(f"  {n:5d} ({n / total:4.0%})  {key}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
