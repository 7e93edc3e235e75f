"""Fixtures to run ASGI apps on free loopback ports in threads, and a webhook receiver that records deliveries."""

from __future__ import annotations

import queue
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

import pytest
import uvicorn
from fastapi import FastAPI, Request, Response

START_TIMEOUT = 10.0


@contextmanager
def serve_in_thread(app: FastAPI) -> Iterator[str]:
    """Serves `app` with uvicorn on 127.0.0.1 and a free port; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(START_TIMEOUT)
            raise RuntimeError("test server did not start")
        time.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT)
        assert not thread.is_alive(), "test server did not stop"


@pytest.fixture
def serve() -> Iterator[Callable[[FastAPI], str]]:
    """Starts apps for one test; they stop in reverse order when the test ends."""
    with ExitStack() as stack:
        yield lambda app: stack.enter_context(serve_in_thread(app))


@dataclass(frozen=True)
class Delivery:
    body: bytes
    headers: dict[str, str]


class WebhookReceiver:
    """Stands in for the team server's webhook endpoint; answers 500 to the first `fail_first` posts."""

    path = "/webhooks/whatsapp"

    def __init__(self, *, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.attempts: list[Delivery] = []
        self._accepted: queue.Queue[Delivery] = queue.Queue()
        self.app = FastAPI()
        self.app.add_api_route(self.path, self._receive, methods=["POST"])

    async def _receive(self, request: Request) -> Response:
        delivery = Delivery(await request.body(), dict(request.headers))
        self.attempts.append(delivery)
        if len(self.attempts) <= self.fail_first:
            return Response(status_code=500)
        self._accepted.put(delivery)
        return Response(status_code=200)

    def next(self, timeout: float = 5.0) -> Delivery:
        return self._accepted.get(timeout=timeout)


@pytest.fixture
def receiver() -> WebhookReceiver:
    return WebhookReceiver()
