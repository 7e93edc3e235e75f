"""A long pull reports progress page by page and lands every entity once."""

from __future__ import annotations

import asyncio
import uuid

from tests.integration.helpers import inbound, sign_in
from workstation.api import ApiClient
from workstation.cache import Cache
from workstation.sync import DbWorker, SyncEngine


def test_initial_sync_in_pages_reports_progress_to_the_end(stack, tmp_path):
    token, _ = sign_in(stack)
    names = [f"Prog {uuid.uuid4().hex[:6]}" for _ in range(15)]
    for i, name in enumerate(names):
        inbound(stack, wa_id=f"3469{i:03d}" + str(uuid.uuid4().int)[:4], name=name, text=f"message {i}")
    progress: list[tuple[int, int]] = []

    async def run():
        cache = Cache(tmp_path / "cache.sqlite")
        engine = SyncEngine(ApiClient(stack.server_url, token), DbWorker(cache), page_size=7,
                            on_progress=lambda done, total: progress.append((done, total)))
        try:
            await engine.pull()
            return cache.feed(), cache.cursor()
        finally:
            await engine.stop()
            engine.db.shutdown()

    feed, cursor = asyncio.run(run())
    assert {r.customer_name for r in feed} >= set(names)
    assert len(progress) >= 5  # one report per page
    dones = [d for d, _ in progress]
    assert dones == sorted(dones) and progress[-1][0] == progress[-1][1] == cursor
