"""Runs an ASGI app with uvicorn on a host/port or an inherited listening socket, optionally tied to its parent."""

from __future__ import annotations

import logging
import socket
import sys
import threading

import uvicorn

log = logging.getLogger(__name__)


def serve(
    app,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    fd: int | None = None,
    exit_with_parent: bool = False,
    log_level: str = "warning",
) -> None:
    config = uvicorn.Config(
        app,
        log_level=log_level,
        # No logging set-up of uvicorn's own: its records go to the root logger's (JSON, redacting) handler.
        log_config=None,
        access_log=False,
        # Event streams never end by themselves: give them a moment, then close them on shutdown.
        timeout_graceful_shutdown=1,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    sockets = None
    if fd is not None:
        sock = socket.socket(fileno=fd)
        sockets = [sock]
    else:
        sock = socket.create_server((host, port))
        sockets = [sock]
    bound_host, bound_port = sock.getsockname()[:2]
    log.info("listening on http://%s:%s", bound_host, bound_port)
    if exit_with_parent:
        _watch_parent(server)
    server.run(sockets=sockets)


def on_parent_exit(callback) -> None:
    """The parent holds our stdin open; when it goes away (even killed), stdin ends and `callback` runs."""

    def wait_for_eof() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError):
            pass
        log.info("parent went away; shutting down")
        callback()

    threading.Thread(target=wait_for_eof, name="parent-watch", daemon=True).start()


def _watch_parent(server: uvicorn.Server) -> None:
    def stop() -> None:
        server.should_exit = True

    on_parent_exit(stop)
