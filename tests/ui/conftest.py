"""Qt tests on a qasync loop: asyncio tasks (httpx, the sync engine) run while qtbot waits."""

from __future__ import annotations

import asyncio
import gc
import sys

import pytest
import qasync


@pytest.fixture(scope="session")
def _session_qloop(qapp):
    # One loop for the whole session: a second qasync loop on the same QApplication never runs its tasks.
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.events._set_running_loop(None)
    # run_forever would install these; an "already running" loop never calls it. Without them an
    # abandoned async generator (httpx's inner streams) is finalized synchronously and fails.
    hooks = sys.get_asyncgen_hooks()
    sys.set_asyncgen_hooks(firstiter=loop._asyncgen_firstiter_hook, finalizer=loop._asyncgen_finalizer_hook)
    yield loop
    asyncio.events._set_running_loop(loop)
    gc.collect()
    for _ in range(5):
        qapp.processEvents()  # run the finalizers that collection scheduled
    asyncio.events._set_running_loop(None)
    sys.set_asyncgen_hooks(*hooks)
    loop.stop()
    loop.close()


@pytest.fixture
def qloop(_session_qloop):
    """The qasync loop, current and running for this test only, so other tests keep a clean asyncio."""
    asyncio.set_event_loop(_session_qloop)
    asyncio.events._set_running_loop(_session_qloop)
    yield _session_qloop
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)
