"""`workstation server --workers N`: one listening socket shared by N worker processes.

The supervisor migrates the database once, binds the socket, and starts each worker as this same program
with the socket's descriptor (`server --fd`). Workers are tied to the supervisor through their stdin, so
they stop even when it is killed outright; a worker that dies is started again.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from services.serve import on_parent_exit

log = logging.getLogger(__name__)
RESTART_PAUSE = 1.0


def self_command() -> list[str]:
    """This program again: the frozen binary itself, or this interpreter with the package."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "workstation"]


def supervise(*, db_url: str, workers: int, host: str, port: int, fd: int | None, exit_with_parent: bool) -> int:
    sock = socket.socket(fileno=fd) if fd is not None else socket.create_server((host, port), backlog=2048)
    sock.set_inheritable(True)
    bound_host, bound_port = sock.getsockname()[:2]
    # The address goes by environment, not argv: it may carry a password, and argv is public.
    command = self_command() + ["server", "--fd", str(sock.fileno()), "--exit-with-parent"]
    env = dict(os.environ, WORKSTATION_DB_URL=db_url, WORKSTATION_DB_MIGRATED="1")
    stop = threading.Event()

    def request_stop(*_args) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    if exit_with_parent:
        on_parent_exit(stop.set)

    def start_worker() -> subprocess.Popen:
        return subprocess.Popen(command, pass_fds=(sock.fileno(),), stdin=subprocess.PIPE, env=env)

    children = [start_worker() for _ in range(workers)]
    log.info("listening on http://%s:%s with %d workers", bound_host, bound_port, workers)
    try:
        while not stop.wait(0.5):
            for i, child in enumerate(children):
                if child.poll() is not None:
                    log.error("worker %d (pid %d) exited with %s; starting it again", i, child.pid, child.returncode)
                    time.sleep(RESTART_PAUSE)
                    if not stop.is_set():
                        children[i] = start_worker()
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
                if child.stdin:
                    child.stdin.close()
        deadline = time.monotonic() + 10
        for child in children:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        sock.close()
    return 0
