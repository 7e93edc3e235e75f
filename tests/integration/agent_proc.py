"""A headless desktop agent in its own process, for the crash tests (kill -9 while it sends).

    python tests/integration/agent_proc.py --server URL --token T --cache PATH \
        [--enqueue N --conversations 12,13,14 --prefix TEXT] [--timeout SECONDS]

Opens the local cache; with --enqueue, commits N replies to the outbox first (round-robin over the
conversations, texts "PREFIX 0000", "PREFIX 0001", ...), before the sync engine starts and anything is
sent. Then runs the real SyncEngine until the outbox is empty. Standard output, one line each, flushed:

    queued N        once, when the engine starts (what the outbox holds)
    ack R           once per op the server acknowledged; R = ops still queued
    done            the outbox is empty (exit code 0)
    timeout R       gave up after --timeout seconds with R ops still queued (exit code 1)

The token may also come from the environment (WORKSTATION_AGENT_TOKEN) so it need not be on a command line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from workstation.api import ApiClient  # noqa: E402
from workstation.cache import Cache  # noqa: E402
from workstation.sync import DbWorker, SyncEngine  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", required=True, help="team server base URL")
    parser.add_argument("--token", default=os.environ.get("WORKSTATION_AGENT_TOKEN"), help="session token")
    parser.add_argument("--cache", required=True, type=Path, help="local cache (SQLite) path")
    parser.add_argument("--enqueue", type=int, default=0, help="replies to commit to the outbox first")
    parser.add_argument("--conversations", default="", help="comma-separated conversation ids for --enqueue")
    parser.add_argument("--prefix", default="agent-proc reply", help="text prefix of the enqueued replies")
    parser.add_argument("--timeout", type=float, default=60.0, help="give up after this many seconds")
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("--token (or WORKSTATION_AGENT_TOKEN) is required")
    args.conversation_ids = [int(x) for x in args.conversations.split(",") if x.strip()]
    if args.enqueue and not args.conversation_ids:
        parser.error("--enqueue needs --conversations")
    return args


def say(line: str) -> None:
    print(line, flush=True)


def enqueue(cache: Cache, count: int, conversation_ids: list[int], prefix: str) -> None:
    # Each enqueue_reply is its own committed transaction (synchronous=FULL): on disk before any send.
    for i in range(count):
        cache.enqueue_reply(conversation_ids[i % len(conversation_ids)], f"{prefix} {i:04d}")


async def run(args: argparse.Namespace) -> int:
    cache = Cache(args.cache)
    if args.enqueue:
        enqueue(cache, args.enqueue, args.conversation_ids, args.prefix)
    queued = cache.pending_ops()
    remaining = [queued]
    empty = asyncio.Event()

    def on_state(_state: str, now_queued: int) -> None:
        # The engine reports the queue length after every acknowledged op: one line per op that left.
        while remaining[0] > now_queued:
            remaining[0] -= 1
            say(f"ack {remaining[0]}")
        if now_queued == 0:
            empty.set()

    db = DbWorker(cache)
    engine = SyncEngine(ApiClient(args.server, args.token), db, on_state=on_state)

    async def drained() -> None:
        if queued:
            await empty.wait()
        # Belt and braces: the outbox itself must be empty, not only the last report.
        while await db.run(cache.pending_ops):
            await asyncio.sleep(0.05)

    say(f"queued {queued}")
    engine.start()
    try:
        await asyncio.wait_for(drained(), args.timeout)
    except TimeoutError:
        say(f"timeout {await db.run(cache.pending_ops)}")
        return 1
    finally:
        await engine.stop()
        db.shutdown()
    say("done")
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
