"""The demo's simulated colleagues (services/sandbox/colleagues.py) against a real team server and sandbox, on
SQLite and PostgreSQL: customers' messages are distributed to them and answered live through the agent API,
with presence the lead hears before each reply; they respect a status the lead sets, sign in again when their
sessions end, hand off at the end of a shift and come back, and stop when their parent goes away or on
SIGTERM."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import datetime, timezone

import httpx
import pytest

from services.sandbox.colleagues import language_of
from services.teamserver.admin import revoke_sessions
from tests.integration.helpers import inbound, sign_in, sync_all, wait_for
from tests.support import team_database
from workstation.demo import start_demo_stack

SERVER_ENV = {
    "WORKSTATION_ROUTING_TICK_SECONDS": "0.3",
    "WORKSTATION_PRESENCE_TOUCH_SECONDS": "0.5",
    "WORKSTATION_SESSION_RECHECK_SECONDS": "1",
}
# Quick colleagues who neither take breaks nor end shifts nor resolve: each behaviour is switched on where tested.
QUICK = {
    "WORKSTATION_COLLEAGUES_REPLY_DELAY": "0.2,0.4",
    "WORKSTATION_COLLEAGUES_VIEWING": "0.2,0.3",
    "WORKSTATION_COLLEAGUES_TYPING": "0.8,1.0",
    "WORKSTATION_COLLEAGUES_RESOLVE_PROBABILITY": "0",
    "WORKSTATION_COLLEAGUES_IDLE_RESOLVE": "0",
    "WORKSTATION_COLLEAGUES_AWAY_EVERY": "0",
    "WORKSTATION_COLLEAGUES_AWAY_FOR": "3",
    "WORKSTATION_COLLEAGUES_SHIFT_SECONDS": "0",
    "WORKSTATION_COLLEAGUES_POLL_SECONDS": "0.5",
}
ANA = "ana@demo.workstation.test"
BEN = "ben@demo.workstation.test"


class PresenceListener:
    """The lead's event stream, kept open in a thread: every presence event with the moment it arrived."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.heard: list[tuple[datetime, dict]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                with httpx.stream("GET", f"{self.url}/v1/events", headers={"Authorization": f"Bearer {self.token}"},
                                  timeout=httpx.Timeout(5.0, read=3.0)) as response:
                    event = ""
                    for line in response.iter_lines():
                        if self._stop.is_set():
                            return
                        if line.startswith("event:"):
                            event = line[6:].strip()
                        elif line.startswith("data:") and event == "presence":
                            self.heard.append((datetime.now(timezone.utc), json.loads(line[5:])))
            except httpx.HTTPError:
                time.sleep(0.1)

    def about(self, conversation_id: int) -> list[tuple[datetime, dict]]:
        return [(at, e) for at, e in list(self.heard) if e["conversation_id"] == conversation_id]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _when(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def colleagues(stack, token: str) -> dict[str, dict]:
    """The simulated agents as the lead sees them, by email."""
    return {a["email"]: a for a in sync_all(stack, token)["agents"] if a["email"] in stack.colleagues}


def wait_all_available(stack, token: str, timeout: float = 15.0) -> dict[str, dict]:
    def ready():
        found = colleagues(stack, token)
        return found if len(found) == len(stack.colleagues) and all(
            a["status"] == "available" for a in found.values()) else None

    return wait_for(ready, timeout=timeout, what="every simulated colleague signed in and available")


def write_in(stack, customers: list[tuple[str, str]]) -> list[str]:
    """Each (name, text) writes from a number of their own; returns the texts as sent (made unique)."""
    texts = []
    for name, text in customers:
        wa_id = "3467" + str(uuid.uuid4().int)[:8]
        unique = f"{text} (ref. {wa_id[-6:]})"
        inbound(stack, wa_id=wa_id, name=name, text=unique)
        texts.append(unique)
    return texts


def threads(stack, token: str, texts: list[str]) -> dict[str, tuple[dict, list[dict]]] | None:
    """text → (its conversation, that conversation's outbound replies), once every text has arrived."""
    state = sync_all(stack, token)
    conversations = {c["id"]: c for c in state["conversations"]}
    found = {}
    for text in texts:
        message = next((m for m in state["messages"] if m["text"] == text), None)
        if message is None:
            return None
        cid = message["conversation_id"]
        replies = sorted((m for m in state["messages"] if m["conversation_id"] == cid and m["direction"] == "out"),
                         key=lambda m: m["id"])
        found[text] = (conversations[cid], replies)
    return found


def all_answered(stack, token: str, texts: list[str]):
    found = threads(stack, token, texts)
    return found if found and all(replies for _, replies in found.values()) else None


def trail(stack, token: str, conversation_id: int) -> list[dict]:
    after, found = 0, {}
    while True:
        page = httpx.get(f"{stack.server_url}/v1/sync", params={"after": after, "limit": 500},
                         headers={"Authorization": f"Bearer {token}"}).json()
        for item in page["assignments"]:
            if item["conversation_id"] == conversation_id:
                found[item["id"]] = item
        after = page["next_after"]
        if not page["has_more"]:
            return [found[k] for k in sorted(found)]


# -- a team of quick colleagues ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stack(tmp_path_factory, team_db):
    s = start_demo_stack(data_dir=tmp_path_factory.mktemp("colleagues"), traffic=False, colleagues=True,
                         db_url=team_db, extra_env={**SERVER_ENV, **QUICK})
    yield s
    s.stop()


@pytest.fixture(scope="module")
def lead(stack):
    token, _ = sign_in(stack)
    return token


@pytest.fixture(scope="module")
def listener(stack, lead):
    heard = PresenceListener(stack.server_url, lead)
    yield heard
    heard.stop()


def test_the_demo_simulates_every_agent_but_the_lead(stack):
    assert stack.lead_email not in stack.colleagues
    assert {ANA, BEN, "carla@demo.workstation.test", "diego@demo.workstation.test"} == set(stack.colleagues)
    assert len(stack.children) == 3 and stack.children[2].poll() is None
    # Their passwords went to their own process only, never on a command line.
    for email in stack.colleagues:
        assert stack.passwords[email] not in " ".join(stack.children[2].args)
    assert "WORKSTATION_COLLEAGUES" not in stack.env, "nor to the server and the sandbox"


def test_conversations_are_distributed_to_colleagues_who_answer_live(stack, lead, listener):
    team = wait_all_available(stack, lead)
    time.sleep(0.5)  # the lead's stream is open
    customers = [("Lucía Prueba", "Hola, ¿dónde está mi pedido? Hace 5 días que lo hice"),
                 ("Emily Test", "Hi, where is my order? I placed it 5 days ago"),
                 ("Pablo Prueba", "¿Cuánto cuesta la cafetera Brava 2? ¿Tiene descuento?"),
                 ("Oliver Test", "Do you ship to Ireland? How long does delivery take?")]
    texts = write_in(stack, customers)
    found = wait_for(lambda: all_answered(stack, lead, texts), timeout=20, what="every customer answered")

    ids = {a["id"]: email for email, a in team.items()}
    assignees = []
    for (name, _), text in zip(customers, texts):
        conversation, replies = found[text]
        owner = conversation["assignee_id"]
        assert owner in ids, f"{text!r} went to a simulated colleague"
        assignees.append(owner)
        assert len(replies) == 1
        reply = replies[0]
        assert reply["author_agent_id"] == owner, "answered by the agent it was assigned to"
        assert language_of(reply["text"]) == language_of(text), f"{reply['text']!r} answers {text!r}"
        assert name.split()[0] in reply["text"]
        assert conversation["waiting_since"] is None and conversation["status"] == "open"
        assert [(t["kind"], t["to_agent_id"]) for t in trail(stack, lead, conversation["id"])] == [("auto", owner)]
        # The lead saw them open it and type before the reply arrived.
        heard = [(at, e) for at, e in listener.about(conversation["id"]) if e["agent_id"] == owner]
        states = [e["state"] for _, e in heard]
        assert "viewing" in states and "typing" in states, states
        assert states.index("viewing") < states.index("typing")
        typing_at = next(at for at, e in heard if e["state"] == "typing")
        assert typing_at < _when(reply["created_at"]), "typing was heard before the reply"
        assert heard[0][1]["agent_name"] == next(a["name"] for a in team.values() if a["id"] == owner)
    # Least loaded first: with everyone free, each colleague got one.
    assert sorted(assignees) == sorted(ids)


def test_a_status_the_lead_sets_is_respected_and_they_come_back(stack, lead):
    team = wait_all_available(stack, lead)
    ben = team[BEN]
    r = httpx.put(f"{stack.server_url}/v1/agents/{ben['id']}/status", json={"status": "away"},
                  headers={"Authorization": f"Bearer {lead}"})
    assert r.status_code == 200
    set_at = time.monotonic()
    texts = write_in(stack, [("Carmen Prueba", "Hola, ¿abren el domingo?")])

    def assigned():
        found = threads(stack, lead, texts)
        return found[texts[0]][0] if found and found[texts[0]][0]["assignee_id"] else None

    conversation = wait_for(assigned, what="handed out")
    assert conversation["assignee_id"] != ben["id"], "not to an agent who is away"
    assert colleagues(stack, lead)[BEN]["status"] == "away", "Ben stays away for a while"
    wait_for(lambda: colleagues(stack, lead)[BEN]["status"] == "available", timeout=10, what="Ben is back")
    assert time.monotonic() - set_at >= 2.5, "not before his break (3 s) is over"
    found = wait_for(lambda: all_answered(stack, lead, texts), timeout=15, what="answered")
    conversation, replies = found[texts[0]]
    assert [m["author_agent_id"] for m in replies] == [conversation["assignee_id"]]


def test_colleagues_whose_sessions_end_sign_in_again_and_keep_working(stack, lead):
    wait_all_available(stack, lead)
    for email in stack.colleagues:
        revoke_sessions(stack.db_url, email=email)
    time.sleep(1.5)  # their event streams notice (recheck: 1 s)
    texts = write_in(stack, [("Zoë Test", "Hi, how much is the Nomad speaker?"),
                             ("Andrés Prueba", "Quiero devolver el altavoz Nómada, no es lo que esperaba")])
    found = wait_for(lambda: all_answered(stack, lead, texts), timeout=20, what="answered after signing in again")
    for conversation, replies in found.values():
        assert [m["author_agent_id"] for m in replies] == [conversation["assignee_id"]]
    assert all(a["status"] == "available" for a in colleagues(stack, lead).values())


def test_colleagues_stop_when_their_parent_goes_away(stack, lead):
    child = stack.children[2]
    child.stdin.close()  # as when the demo is killed: the pipe to our process ends
    assert child.wait(timeout=10) == 0
    # On the way out they signed off: offline, and no longer counted as connected.
    wait_for(lambda: all(a["status"] == "offline" for a in colleagues(stack, lead).values()), timeout=5,
             what="every colleague offline")


# -- resolving, and the end of a shift ---------------------------------------------------------------------
def test_a_shift_ends_with_a_hand_off_to_the_queue_and_the_agent_comes_back(tmp_path, team_db):
    kind = "sqlite" if team_db.startswith("sqlite") else "postgresql"
    (tmp_path / "db").mkdir()
    with team_database(kind, tmp_path / "db") as db_url:
        stack = start_demo_stack(data_dir=tmp_path / "stack", traffic=False, colleagues=True, db_url=db_url,
                                 extra_env={**SERVER_ENV, **QUICK,
                                            "WORKSTATION_COLLEAGUES_REPLY_DELAY": "4,4.3",
                                            "WORKSTATION_COLLEAGUES_TYPING": "0.4,0.5",
                                            "WORKSTATION_COLLEAGUES_RESOLVE_PROBABILITY": "1",
                                            "WORKSTATION_COLLEAGUES_RESOLVE_DELAY": "0.3,0.5",
                                            "WORKSTATION_COLLEAGUES_SHIFT_SECONDS": "3",
                                            "WORKSTATION_COLLEAGUES_OFF_SHIFT": "1.5"})
        try:
            _shift(stack)
        finally:
            stack.stop()


def _shift(stack) -> None:
    lead, _ = sign_in(stack)
    team = wait_all_available(stack, lead)
    ana = team[ANA]  # the first colleague works in shifts
    texts = write_in(stack, [("Lucía Prueba", "Hola, ¿hacéis envíos a Canarias?"),
                             ("Emily Test", "Hi, what time does the downtown store open on Saturdays?"),
                             ("Javier Prueba", "El repartidor dejó el paquete en la calle bajo la lluvia"),
                             ("James Test", "Is there any discount on the Nomad speaker?")])

    def assigned():
        found = threads(stack, lead, texts)
        return found if found and all(c["assignee_id"] for c, _ in found.values()) else None

    first = wait_for(assigned, what="the conversations arrived and were handed out")
    handed = {text: conversation["assignee_id"] for text, (conversation, _) in first.items()}
    assert sorted(handed.values()) == sorted(a["id"] for a in team.values()), "one each, Ana included"
    anas = next(conversation["id"] for conversation, _ in first.values() if conversation["assignee_id"] == ana["id"])

    wait_for(lambda: colleagues(stack, lead)[ANA]["status"] == "offline", timeout=10, what="Ana's shift ended")
    wait_for(lambda: colleagues(stack, lead)[ANA]["status"] == "available", timeout=10, what="Ana is back")

    def all_resolved():
        found = threads(stack, lead, texts)
        return found if all(c["status"] == "resolved" for c, _ in found.values()) else None

    found = wait_for(all_resolved, timeout=20, what="every conversation answered and resolved")
    for conversation, replies in found.values():
        owner = conversation["assignee_id"]
        assert [m["author_agent_id"] for m in replies] == [owner], "one reply, by the one it was assigned to"
        assert conversation["updated_by_agent_id"] == owner, "resolved by them too"
    moves = trail(stack, lead, anas)
    assert [(t["kind"], t["from_agent_id"], t["to_agent_id"], t["actor_agent_id"]) for t in moves[:2]] == [
        ("auto", None, ana["id"], None), ("handoff", ana["id"], None, ana["id"])]
    assert moves[1]["reason"] in ("End of shift", "Fin de turno")
    assert moves[2]["kind"] == "auto" and moves[2]["to_agent_id"] not in (None, ana["id"])
    assert found[next(t for t in texts if first[t][0]["id"] == anas)][0]["assignee_id"] == moves[2]["to_agent_id"]
    # SIGTERM stops them cleanly.
    child = stack.children[2]
    child.terminate()
    assert child.wait(timeout=10) == 0
