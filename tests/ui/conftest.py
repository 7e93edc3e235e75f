"""Qt tests on a qasync loop: asyncio tasks (httpx, the sync engine) run while qtbot waits."""

from __future__ import annotations

import asyncio

import pytest
import qasync


@pytest.fixture(scope="session")
def qloop(qapp):
    # One loop for the whole session: a second qasync loop on the same QApplication never runs its tasks.
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    loop.stop()
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)
    loop.close()
