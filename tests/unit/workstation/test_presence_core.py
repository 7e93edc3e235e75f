"""Presence in the desktop core: the event stream's `presence` events, the engine's map with its expiry, and
best-effort sending."""

from __future__ import annotations

import asyncio
import logging
import socket
import time

import httpx
import pytest

from workstation import protocol
from workstation.api import ApiClient
from workstation.cache import Cache
from workstation.errors import NetworkError, ServerError
from workstation.sync import ONLINE, DbWorker, SyncEngine
from workstation.workspace import Workspace

ME = 1


def sse(*events: tuple[str, str]) -> bytes:
    return "".join(f"event: {name}\ndata: {data}\n\n" for name, data in events).encode()


def client_for(body: bytes) -> ApiClient:
    api = ApiClient("http://team.test", "token")
    api._http = httpx.AsyncClient(
        base_url="http://team.test",
        transport=httpx.MockTransport(lambda request: httpx.Response(
            200, content=body, headers={"content-type": "text/event-stream"})),
    )
    return api


async def collect(api: ApiClient) -> list:
    return [event async for event in api.events()]


def presence(agent_id=2, conversation_id=7, state="viewing", ttl=45.0, name="Ana Gómez") -> protocol.PresenceEvent:
    return protocol.PresenceEvent(conversation_id=conversation_id, agent_id=agent_id, agent_name=name,
                                  state=state, ttl=ttl)


def test_events_yields_pokes_and_presence_and_skips_the_rest():
    body = (b"retry: 2000\n\n: keep-alive\n\n"
            + sse(("change", '{"seq": 5, "epoch": "e"}'),
                  ("presence", presence().model_dump_json()),
                  ("presence", '{"conversation_id": "not a number"}'),  # malformed: skipped, not fatal
                  ("something-new", '{"x": 1}'),
                  ("presence", presence(agent_id=3, state="typing", ttl=8).model_dump_json()),
                  ("change", '{"seq": 6}')))
    events = asyncio.run(collect(client_for(body)))
    assert [type(e).__name__ for e in events] == ["EventPoke", "PresenceEvent", "PresenceEvent", "EventPoke"]
    assert events[0].seq == 5 and events[0].epoch == "e" and events[3].seq == 6
    assert (events[1].agent_id, events[1].state, events[1].ttl) == (2, "viewing", 45.0)
    assert (events[2].agent_id, events[2].state, events[2].ttl) == (3, "typing", 8.0)


def test_a_malformed_change_event_is_still_an_error():
    body = sse(("presence", presence().model_dump_json()), ("change", '{"seq": "x"}'))
    with pytest.raises(ServerError):
        asyncio.run(collect(client_for(body)))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine():
    clock = Clock()
    heard: list[int] = []
    eng = SyncEngine(None, None, agent_id=ME, on_presence=heard.append, clock=clock)
    eng.heard, eng.clock = heard, clock
    return eng


def test_presence_map_keeps_colleagues_ignores_us_and_expires_by_ttl(engine):
    engine.presence_event(presence(agent_id=ME, name="Me"))
    assert engine.presence(7) == [] and engine.heard == []  # our own presence (another machine of ours)
    engine.presence_event(presence(agent_id=2, name="Ana Gómez", ttl=45))
    engine.presence_event(presence(agent_id=3, name="Ben Carter", ttl=10))
    assert engine.presence(7) == [("Ana Gómez", "viewing"), ("Ben Carter", "viewing")]
    assert engine.heard == [7, 7]
    assert engine.presence(8) == []
    engine.clock.now += 11
    assert engine.presence(7) == [("Ana Gómez", "viewing")]
    engine.clock.now += 40
    assert engine.presence(7) == []


def test_typing_shows_first_then_falls_back_to_viewing_and_left_removes(engine):
    engine.presence_event(presence(agent_id=2, name="Ana", ttl=45))
    engine.presence_event(presence(agent_id=3, name="Ben", ttl=45))
    engine.presence_event(presence(agent_id=3, name="Ben", state="typing", ttl=8))
    engine.presence_event(presence(agent_id=4, name="Carla", state="typing", ttl=8))  # typed, never said viewing
    assert engine.presence(7) == [("Ben", "typing"), ("Carla", "typing"), ("Ana", "viewing")]
    engine.clock.now += 9
    # Typing expired: Ben is still viewing (his viewing runs on); Carla's typing was all there was.
    assert engine.presence(7) == [("Ana", "viewing"), ("Ben", "viewing")]
    engine.presence_event(presence(agent_id=2, name="Ana", state="typing", ttl=8))
    engine.clock.now += 1
    assert engine.presence(7)[0] == ("Ana", "typing")  # typing over an older viewing
    engine.presence_event(presence(agent_id=2, state="left", ttl=0))
    assert engine.presence(7) == [("Ben", "viewing")]
    before = len(engine.heard)
    engine.presence_event(presence(agent_id=9, state="left", ttl=0))  # nobody to remove: no news
    assert len(engine.heard) == before


def test_the_ui_hears_when_presence_runs_out():
    heard: list[int] = []

    async def scenario():
        eng = SyncEngine(None, None, agent_id=ME, on_presence=heard.append)
        eng.presence_event(presence(agent_id=2, state="typing", ttl=0.2))
        assert eng.presence(7) == [("Ana Gómez", "typing")]
        await asyncio.sleep(0.4)
        assert eng.presence(7) == []
        for handle in eng._presence_timers.values():
            handle.cancel()

    asyncio.run(scenario())
    # Once when it came, and again when it expired, without any further event.
    assert heard.count(7) >= 2


class StreamApi:
    """An ApiClient stand-in whose event stream says: a colleague is viewing, then the change log's newest."""

    def __init__(self) -> None:
        self.streams = 0

    async def events(self):
        self.streams += 1
        yield presence(agent_id=2)
        yield protocol.EventPoke(seq=0)
        await asyncio.sleep(3600)

    async def aclose(self) -> None:
        pass


def test_presence_events_from_the_stream_reach_the_map_and_a_connect_is_announced(tmp_path):
    connected: list[str] = []
    states: list[str] = []

    async def scenario():
        db = DbWorker(Cache(tmp_path / "cache.sqlite"))
        eng = SyncEngine(StreamApi(), db, agent_id=ME, on_connected=lambda: connected.append(eng.state),
                         on_state=lambda state, queued: states.append(state))
        task = asyncio.ensure_future(eng._events_loop())
        for _ in range(100):
            if connected:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        db.shutdown()
        return eng

    eng = asyncio.run(scenario())
    assert eng.presence(7) == [("Ana Gómez", "viewing")]
    # The presence event alone did not count as a connection; the poke did, once.
    assert connected == [ONLINE] and states == [ONLINE]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_send_presence_swallows_an_unreachable_server_quickly(tmp_path, caplog):
    agent = protocol.AgentPublic(id=ME, email="me@x.test", name="Me", role="agent")

    async def scenario():
        ws = Workspace(ApiClient(f"http://127.0.0.1:{closed_port()}", "t"), agent, cache_path=tmp_path / "c.sqlite")
        started = time.monotonic()
        with caplog.at_level(logging.DEBUG, logger="workstation.workspace"):
            sent = await ws.send_presence(7, "viewing")
        took = time.monotonic() - started
        shown = ws.presence_conversation
        left = await ws.send_presence(7, "left")
        after_left = ws.presence_conversation
        await ws.stop()
        return sent, took, shown, left, after_left

    sent, took, shown, left, after_left = asyncio.run(scenario())
    assert sent is False and left is False and took < 5
    assert shown == 7 and after_left is None  # what sign-off would say "left" for
    assert any("presence viewing for conversation 7 not sent" in r.getMessage() for r in caplog.records)
    assert all(r.levelno <= logging.DEBUG for r in caplog.records if "presence" in r.getMessage())


def test_network_error_type_is_what_an_unreachable_server_raises():
    # The premise of the test above: a refused connection is a NetworkError, which send_presence swallows.
    async def scenario():
        api = ApiClient(f"http://127.0.0.1:{closed_port()}", "t")
        try:
            await api.send_presence(1, "viewing")
        finally:
            await api.aclose()

    with pytest.raises(NetworkError):
        asyncio.run(scenario())


def test_announced_presence_goes_out_one_at_a_time_in_order(tmp_path):
    agent = protocol.AgentPublic(id=ME, email="me@x.test", name="Me", role="agent")
    sent: list[tuple[int, str]] = []
    in_flight = [0, 0]  # now, most at once

    async def scenario():
        ws = Workspace(ApiClient(f"http://127.0.0.1:{closed_port()}", "t"), agent, cache_path=tmp_path / "q.sqlite")

        async def post(conversation_id, state, **_kw):
            in_flight[0] += 1
            in_flight[1] = max(in_flight[1], in_flight[0])
            await asyncio.sleep(0.01)
            sent.append((conversation_id, state))
            in_flight[0] -= 1

        ws.api.send_presence = post
        for update in [(1, "viewing"), (1, "typing"), (1, "typing"), (1, "left"), (2, "viewing"), (2, "typing"),
                       (2, "viewing")]:
            ws.announce_presence(*update)
        assert ws.presence_conversation == 2  # what sign-off would say "left" for
        await asyncio.sleep(0.3)
        await ws.stop()

    asyncio.run(scenario())
    assert in_flight[1] == 1
    # A repeat still waiting goes once, in its newest place: the last word per conversation is the last one said.
    assert sent == [(1, "viewing"), (1, "typing"), (1, "left"), (2, "typing"), (2, "viewing")]
