"""Qt tests on a qasync loop: asyncio tasks (httpx, the sync engine) run while qtbot waits."""

from __future__ import annotations

import asyncio

import pytest
import qasync


@pytest.fixture(scope="session")
def _session_qloop(qapp):
    # One loop for the whole session: a second qasync loop on the same QApplication never runs its tasks.
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.events._set_running_loop(None)
    yield loop
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
