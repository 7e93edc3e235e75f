"""`workstation demo` as a user runs it: a real process that starts its children and leaves none behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; it only waits to be reaped by its parent.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _wait_gone(pids: list[int], timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in pids if _alive(p)]
        if not alive:
            return []
        time.sleep(0.1)
    return [p for p in pids if _alive(p)]


@pytest.fixture
def start_demo():
    procs: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "WORKSTATION_LANG": "en"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "workstation", "demo", "--interval", "0.5", "1.0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def _read_until(proc: subprocess.Popen, pattern: str, timeout: float = 60.0) -> tuple[re.Match, list[str]]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        match = re.search(pattern, line)
        if match:
            return match, lines
    raise AssertionError(f"{pattern!r} not seen (exit code {proc.poll()}); output:\n{''.join(lines)}")


def test_demo_smoke_shows_a_live_feed_and_leaves_no_child_running(start_demo):
    proc = start_demo("--smoke")
    data, _ = _read_until(proc, r"data in (\S+)$")
    match, _ = _read_until(proc, r"demo children: ([\d ]+)")
    children = [int(p) for p in match.group(1).split()]
    # The team server, the sandbox and the simulated colleagues.
    assert len(children) == 3 and all(_alive(p) for p in children)
    assert os.path.isdir(data.group(1))
    rendered, _ = _read_until(proc, r"smoke: conversation (\d+) rendered with (\d+) messages; (\d+) in the feed")
    assert int(rendered.group(2)) >= 1 and int(rendered.group(3)) >= 1
    assert proc.wait(timeout=30) == 0
    assert _wait_gone(children) == []
    assert not os.path.exists(data.group(1))  # the demo's temporary team database is cleaned up


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_demo_children_stop_when_the_app_is_terminated_or_killed(start_demo, how):
    proc = start_demo()
    match, _ = _read_until(proc, r"demo children: ([\d ]+)")
    children = [int(p) for p in match.group(1).split()]
    _read_until(proc, r"demo signed in as")
    os.kill(proc.pid, getattr(signal, how))
    code = proc.wait(timeout=30)
    assert code == (0 if how == "SIGTERM" else -signal.SIGKILL)
    # Killed outright, the app cannot clean up: the children notice their parent is gone and stop.
    assert _wait_gone(children, timeout=15) == []
