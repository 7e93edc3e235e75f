"""Team operations through the real team server (SQLite and PostgreSQL): the authorization matrix over every
agent endpoint, live distribution, take-on-reply, hand-off, stale reassignments, presence and the
disconnect grace."""

from __future__ import annotations

import json
import threading
import time
import uuid

import httpx
import pytest

from services.teamserver.admin import add_agent
from tests.integration.helpers import inbound, sign_in, wait_for
from workstation.demo import start_demo_stack

ANA = "ana@demo.workstation.test"
BEN = "ben@demo.workstation.test"
ADMIN = "admin@demo.workstation.test"
ADMIN_PASSWORD = "admin-password-123"
# Whose sessions the revocation case ends (not an agent the other tests use).
VICTIM = "victim@demo.workstation.test"


@pytest.fixture(scope="module")
def stack(tmp_path_factory, team_db):
    s = start_demo_stack(data_dir=tmp_path_factory.mktemp("teamops"), traffic=False, db_url=team_db, extra_env={
        "WORKSTATION_PRESENCE_TOUCH_SECONDS": "0.5",
        "WORKSTATION_ROUTING_TICK_SECONDS": "0.3",
    })
    add_agent(team_db, email=ADMIN, name="Ada Admin", role="admin", password=ADMIN_PASSWORD)
    s.passwords[ADMIN] = ADMIN_PASSWORD
    s.victim_id = add_agent(team_db, email=VICTIM, name="Víctor", role="agent", password=ADMIN_PASSWORD)
    yield s
    s.stop()


class Client:
    def __init__(self, stack, email: str | None):
        self.url = stack.server_url
        if email is None:
            self.token, self.agent = None, None
        else:
            self.token, self.agent = sign_in(stack, email)

    @property
    def id(self) -> int:
        return self.agent["id"]

    def request(self, method: str, path: str, body: dict | None = None) -> httpx.Response:
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return httpx.request(method, self.url + path, json=body, headers=headers, timeout=30)


class Mirror:
    """The server's state as the lead's sync sees it, pulled incrementally (tests read it often)."""

    KINDS = ("agents", "customers", "identities", "conversations", "messages", "assignments", "follow_ups", "canned")

    def __init__(self, stack, token: str):
        self.url, self.token, self.after = stack.server_url, token, 0
        self.items: dict[str, dict[int, dict]] = {k: {} for k in self.KINDS}

    def refresh(self) -> "Mirror":
        while True:
            page = httpx.get(f"{self.url}/v1/sync", params={"after": self.after, "limit": 1000},
                             headers={"Authorization": f"Bearer {self.token}"}, timeout=30).json()
            for kind in self.KINDS:
                for item in page[kind]:
                    self.items[kind][item["id"]] = item
            self.after = page["next_after"]
            if not page["has_more"]:
                return self

    def all(self, kind: str) -> list[dict]:
        self.refresh()
        return [self.items[kind][k] for k in sorted(self.items[kind])]


@pytest.fixture(scope="module")
def team(stack):
    clients = {name: Client(stack, email) for name, email in
               (("lead", stack.lead_email), ("ana", ANA), ("ben", BEN), ("admin", ADMIN), ("anonymous", None))}
    return clients


def set_rules(team, **rules) -> None:
    body = {"auto_assign": True, "default_capacity": 5, "reclaim_minutes": 0, "offline_grace_seconds": 600, **rules}
    assert team["lead"].request("PUT", "/v1/routing", body).status_code == 200


def set_status(team, name: str, status: str) -> None:
    """The agent sets their own status, as their app does (which also counts as their app being connected)."""
    client = team[name]
    assert client.request("PUT", f"/v1/agents/{client.id}/status", {"status": status}).status_code == 200


@pytest.fixture
def quiet_team(team):
    """A test starts with nobody available, default capacities and distribution on (no reclaim, long grace)."""
    set_rules(team)
    for name in ("lead", "ana", "ben", "admin"):
        set_status(team, name, "offline")
        r = team["lead"].request("PATCH", f"/v1/agents/{team[name].id}", {"capacity": {}, "shifts": []})
        assert r.status_code == 200
    yield


def resolve_everything(stack, team) -> None:
    """Earlier tests leave conversations in the queue; distribution tests start from an empty one."""
    for c in MIRRORS[stack.server_url].all("conversations"):
        if c["status"] != "resolved":
            r = team["lead"].request("PATCH", f"/v1/conversations/{c['id']}",
                                     {"status": "resolved", "case_type": "information.query",
                                      "expected_version": c["version"]})
            assert r.status_code == 200, r.text


def conversation(stack, team, *, owner: str | None = None) -> dict:
    """A new conversation, assigned to `owner` by the lead (or left unassigned)."""
    wa_id = "3466" + str(uuid.uuid4().int)[:7]
    text = "hola " + wa_id
    inbound(stack, wa_id=wa_id, name="Cliente " + wa_id[-3:], text=text)
    lead = team["lead"]

    mirror = MIRRORS.setdefault(stack.server_url, Mirror(stack, lead.token))

    def find():
        mirror.refresh()
        message = next((m for m in mirror.items["messages"].values() if m["text"] == text), None)
        if message is None:
            return None
        return mirror.items["conversations"][message["conversation_id"]]

    conv = wait_for(find, what="the inbound conversation")
    if owner is not None:
        r = lead.request("PATCH", f"/v1/conversations/{conv['id']}",
                         {"set_assignee": True, "assignee_id": team[owner].id, "expected_version": conv["version"]})
        assert r.status_code == 200, r.text
        conv = r.json()
    return conv


MIRRORS: dict[str, Mirror] = {}


def current(stack, team, conversation_id: int) -> dict:
    mirror = MIRRORS.setdefault(stack.server_url, Mirror(stack, team["lead"].token))
    return mirror.refresh().items["conversations"][conversation_id]


# -- the authorization matrix ------------------------------------------------------------------------------
# Each case: (name, method, path template, body builder, setup) and the status every role must get.
# Roles: anonymous, the agent who owns the conversation (ana), another agent (ben), a lead, an admin.
ROLES = ("anonymous", "ana", "ben", "lead", "admin")
A = "allowed"


def _case(method, path, body, expect, owner="ana"):
    return {"method": method, "path": path, "body": body, "expect": expect, "owner": owner}


def _by_role(anon=401, ana=A, ben=A, lead=A, admin=A):
    return dict(zip(ROLES, (anon, ana, ben, lead, admin)))


MATRIX = {
    "sync": _case("GET", "/v1/sync", None, _by_role()),
    "me": _case("GET", "/v1/me", None, _by_role()),
    "routing-read": _case("GET", "/v1/routing", None, _by_role()),
    "routing-write": _case("PUT", "/v1/routing", lambda t, c: {"auto_assign": False, "reclaim_minutes": 0,
                                                               "offline_grace_seconds": 600},
                           _by_role(ana=403, ben=403)),
    "reply-to-own": _case("POST", "/v1/conversations/{conv}/messages", lambda t, c: {"text": "hola"},
                          _by_role(ben=403)),
    "template-to-own": _case("POST", "/v1/conversations/{conv}/template",
                             lambda t, c: {"name": "seguimiento_consulta", "language": "es", "parameters": ["Lu"]},
                             _by_role(ben=403)),
    # The matrix's conversations are WhatsApp ones: whoever may work one is told a private reply is not for it.
    "private-reply": _case("POST", "/v1/conversations/{conv}/private-reply", lambda t, c: {"text": "te escribo"},
                           _by_role(ben=403, ana=422, lead=422, admin=422)),
    "note": _case("POST", "/v1/conversations/{conv}/notes", lambda t, c: {"text": "nota interna"}, _by_role()),
    "presence": _case("POST", "/v1/conversations/{conv}/presence", lambda t, c: {"state": "viewing"}, _by_role()),
    "resolve-own": _case("PATCH", "/v1/conversations/{conv}",
                         lambda t, c: {"status": "resolved", "case_type": "postsale.return",
                                       "expected_version": c["version"]}, _by_role(ben=403)),
    "reassign-to-ben": _case("PATCH", "/v1/conversations/{conv}",
                             lambda t, c: {"set_assignee": True, "assignee_id": t["ben"].id,
                                           "expected_version": c["version"]}, _by_role(ana=403, ben=403)),
    "release": _case("PATCH", "/v1/conversations/{conv}",
                     lambda t, c: {"set_assignee": True, "assignee_id": None, "expected_version": c["version"]},
                     _by_role(ben=403)),
    "take-unassigned": _case("PATCH", "/v1/conversations/{conv}",
                             lambda t, c: {"set_assignee": True, "assignee_id": "SELF",
                                           "expected_version": c["version"]}, _by_role(), owner=None),
    "assign-unassigned-to-ana": _case("PATCH", "/v1/conversations/{conv}",
                                      lambda t, c: {"set_assignee": True, "assignee_id": t["ana"].id,
                                                    "expected_version": c["version"]},
                                      _by_role(ben=403), owner=None),
    "status-of-ana": _case("PUT", "/v1/agents/{ana}/status", lambda t, c: {"status": "away"}, _by_role(ben=403)),
    "schedule-of-ana": _case("PATCH", "/v1/agents/{ana}", lambda t, c: {"capacity": {"*": 4}},
                             _by_role(ana=403, ben=403)),
    "role-of-ben": _case("PATCH", "/v1/agents/{ben}", lambda t, c: {"role": "agent"},
                         _by_role(ana=403, ben=403, lead=403)),
    "add-agent": _case("POST", "/v1/agents",
                       lambda t, c: {"email": f"new-{uuid.uuid4().hex[:8]}@demo.workstation.test", "name": "New",
                                     "password": "a-long-password"}, _by_role(ana=403, ben=403, lead=403)),
    "handoff-of-ana": _case("POST", "/v1/agents/{ana}/handoff", lambda t, c: {"go_offline": False},
                            _by_role(ben=403)),
    "revoke-sessions-of-victim": _case("DELETE", "/v1/agents/{victim}/sessions", None,
                                    _by_role(ana=403, ben=403, lead=403)),
    "sign-out": _case("DELETE", "/v1/session", None, _by_role()),
    "customer-profile": _case("PATCH", "/v1/customers/{customer}", lambda t, c: {"tags": ["VIP"], "notes": "llama tarde"},
                              _by_role()),
    # Any agent merges customers and splits an identity off (the setup makes a second customer to merge, or
    # a customer with two identities).
    "merge-customers": _case("POST", "/v1/customers/{customer}/merge",
                             lambda t, c: {"other_customer_id": c["other_customer_id"]}, _by_role()),
    "split-identity": _case("POST", "/v1/identities/{identity}/split", None, _by_role()),
    "follow-up-of-ana": _case("PATCH", "/v1/follow_ups/{followup}", lambda t, c: {"done": True}, _by_role(ben=403)),
    "personal-canned": _case("POST", "/v1/canned", lambda t, c: {"title": "Mi saludo", "shortcut": "hola2",
                                                                 "body": "¡Hola!", "language": "es"}, _by_role()),
    "team-canned": _case("POST", "/v1/canned", lambda t, c: {"title": "Saludo", "shortcut": "hola3", "body": "¡Hola!",
                                                             "team": True}, _by_role(ana=403, ben=403)),
    "edit-team-canned": _case("PUT", "/v1/canned/{team_canned}",
                              lambda t, c: {"title": "Saludo", "shortcut": "saludo", "body": "¡Hola, {{customer.first_name}}!",
                                            "team": True}, _by_role(ana=403, ben=403)),
    "delete-anas-canned": _case("DELETE", "/v1/canned/{anas_canned}", None,
                                _by_role(ben=403, lead=403, admin=403)),
    "count-canned-use": _case("POST", "/v1/canned/{team_canned}/uses", None, _by_role()),
    "care-read": _case("GET", "/v1/care", None, _by_role()),
    "care-write": _case("PUT", "/v1/care", lambda t, c: {"reopen_days": 7}, _by_role(ana=403, ben=403)),
    "crisis-read": _case("GET", "/v1/crisis", None, _by_role()),
    "crisis-settings": _case("PUT", "/v1/crisis/settings", lambda t, c: {"check_seconds": 30},
                             _by_role(ana=403, ben=403)),
    "crisis-mode": _case("POST", "/v1/crisis/mode", lambda t, c: {"active": False}, _by_role(ana=403, ben=403)),
    "crisis-ack": _case("POST", "/v1/crisis/alerts/{crisis_alert}/ack", None, _by_role(ana=403, ben=403)),
    # An agent may read KPIs (their own figures only: tests/integration/test_kpi_api.py); a query string is
    # not part of the path the coverage check compares.
    "kpis": _case("GET", "/v1/kpis?start=2026-01-01T00:00:00Z&end=2026-02-01T00:00:00Z", None, _by_role()),
    "kpis-cost-read": _case("GET", "/v1/kpis/cost", None, _by_role()),
    "kpis-cost-write": _case("PUT", "/v1/kpis/cost", lambda t, c: {"currency": "EUR"}, _by_role(ana=403, ben=403)),
    # Channel health is for leads; changing channels for admins (who are told what is missing, or that email
    # was not connected from the app: tests/integration/test_channel_setup.py connects for real).
    "channels-read": _case("GET", "/v1/channels", None, _by_role(ana=403, ben=403)),
    "channel-connect": _case("PUT", "/v1/channels/email", lambda t, c: {"settings": {"address": "a@b.test"}},
                             _by_role(ana=403, ben=403, lead=403, admin=422)),
    "channel-check": _case("POST", "/v1/channels/email/check", None, _by_role(ana=403, ben=403, lead=403)),
    "channel-disconnect": _case("DELETE", "/v1/channels/email", None,
                                _by_role(ana=403, ben=403, lead=403, admin=404)),
}
# Endpoints outside the agent matrix: signing in is for the anonymous, webhooks are signed by providers,
# health is public, and the event stream is a long-lived response (its 401 is checked below).
NOT_IN_MATRIX = {("POST", "/v1/session"), ("GET", "/v1/health"), ("GET", "/v1/events")}


def test_the_matrix_covers_every_endpoint(stack):
    spec = httpx.get(f"{stack.server_url}/openapi.json").json()
    endpoints = {(method.upper(), path) for path, item in spec["paths"].items() for method in item
                 if not path.startswith("/webhooks/")}
    covered = {(case["method"], case["path"].replace("{conv}", "{conversation_id}")
                .replace("{ana}", "{agent_id}").replace("{ben}", "{agent_id}").replace("{victim}", "{agent_id}")
                .replace("{customer}", "{customer_id}").replace("{followup}", "{follow_up_id}")
                .replace("{crisis_alert}", "{alert_id}").replace("{identity}", "{identity_id}")
                .replace("{team_canned}", "{canned_id}").replace("{anas_canned}", "{canned_id}")
                .replace("/channels/email", "/channels/{channel}").partition("?")[0]) for case in MATRIX.values()}
    assert endpoints - NOT_IN_MATRIX <= covered, f"no authorization case for {endpoints - NOT_IN_MATRIX - covered}"


@pytest.fixture(scope="module")
def manual_pick(team):
    """The matrix runs with distribution off, so its conversations stay where each case puts them."""
    set_rules(team, auto_assign=False)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case_name", list(MATRIX))
def test_authorization_matrix(stack, team, manual_pick, case_name, role):
    case = MATRIX[case_name]
    client = team[role] if role != "anonymous" else team["anonymous"]
    if case_name == "sign-out":
        # These end sessions: use fresh ones so the rest of the module keeps its tokens.
        client = Client(stack, None if role == "anonymous" else
                        {"ana": ANA, "ben": BEN, "lead": stack.lead_email, "admin": ADMIN}[role])
    template = case["path"]
    needs_conv = any(name in template for name in ("{conv}", "{customer}", "{followup}", "{identity}"))
    conv = conversation(stack, team, owner=case["owner"]) if needs_conv else None
    if case_name in ("merge-customers", "split-identity"):
        conv = dict(conv, other_customer_id=conversation(stack, team)["customer_id"])
    ids = {"conv": conv["id"] if conv else 0, "customer": conv["customer_id"] if conv else 0,
           "ana": team["ana"].id, "ben": team["ben"].id, "victim": stack.victim_id}
    if "{followup}" in template:
        ids["followup"] = _follow_up_for(stack, team, conv)
    if "{team_canned}" in template:
        ids["team_canned"] = next(c["id"] for c in _canned(stack, team) if c["owner_agent_id"] is None)
    if "{crisis_alert}" in template:
        ids["crisis_alert"] = _crisis_alert(stack)
    if "{identity}" in template:
        ids["identity"] = _identity_to_split(stack, team, conv)
    if "{anas_canned}" in template:
        made = team["ana"].request("POST", "/v1/canned", {"title": "Mía", "shortcut": "mia", "body": "texto"})
        assert made.status_code == 201
        ids["anas_canned"] = made.json()["id"]
    path = template.format(**ids)
    body = case["body"](team, conv) if case["body"] else None
    if body and body.get("assignee_id") == "SELF":
        body["assignee_id"] = client.id if client.agent else team["ana"].id
    response = client.request(case["method"], path, body)
    expected = case["expect"][role]
    if expected == A:
        assert response.status_code < 300, f"{role} refused on {case_name}: {response.status_code} {response.text}"
    else:
        assert response.status_code == expected, f"{role} on {case_name}: {response.status_code} {response.text}"
    if expected == 403:
        assert response.json()["detail"], "a refusal says why"
        if "{conv}" in template:  # and changes nothing
            after = current(stack, team, conv["id"])
            assert (after["assignee_id"], after["status"], after["version"]) == \
                (conv["assignee_id"], conv["status"], conv["version"])


def _follow_up_for(stack, team, conv: dict) -> int:
    """Resolves the conversation (assigned to Ana) with a check-in in 3 days; the follow-up is Ana's."""
    r = team["lead"].request("PATCH", f"/v1/conversations/{conv['id']}",
                             {"status": "resolved", "case_type": "information.query", "follow_up_days": 3,
                              "expected_version": conv["version"]})
    assert r.status_code == 200, r.text
    page = _all_pages(stack, team, "follow_ups")
    return next(f["id"] for f in page if f["conversation_id"] == conv["id"])


def _identity_to_split(stack, team, conv: dict) -> int:
    """The lead merges the second customer into the conversation's one; its identity is the one to split off."""
    mirror = MIRRORS.setdefault(stack.server_url, Mirror(stack, team["lead"].token))
    identity = next(i for i in mirror.all("identities") if i["customer_id"] == conv["other_customer_id"])
    r = team["lead"].request("POST", f"/v1/customers/{conv['customer_id']}/merge",
                             {"other_customer_id": conv["other_customer_id"]})
    assert r.status_code == 200, r.text
    return identity["id"]


def _crisis_alert(stack) -> int:
    """An alert to acknowledge, made in the database (raising one takes a spike: see test_crisis_api.py)."""
    from sqlmodel import Session

    from services.teamserver.db import make_engine
    from services.teamserver.models import CrisisAlert, utcnow

    engine = make_engine(stack.db_url)
    try:
        with Session(engine) as s:
            alert = CrisisAlert(topic="outage", started_at=utcnow(), last_seen_at=utcnow(), window_count=12)
            s.add(alert)
            s.commit()
            return alert.id
    finally:
        engine.dispose()


def _canned(stack, team) -> list[dict]:
    return _all_pages(stack, team, "canned")


def _all_pages(stack, team, kind: str) -> list[dict]:
    return MIRRORS.setdefault(stack.server_url, Mirror(stack, team["lead"].token)).all(kind)


def test_the_event_stream_needs_a_session(stack):
    assert httpx.get(f"{stack.server_url}/v1/events", timeout=10).status_code == 401


# -- distribution -----------------------------------------------------------------------------------------
def test_new_conversations_go_to_available_agents_least_loaded_first(stack, team, quiet_team):
    resolve_everything(stack, team)
    set_rules(team, default_capacity=2)
    set_status(team, "ana", "available")
    first = conversation(stack, team)
    wait_for(lambda: current(stack, team, first["id"])["assignee_id"] == team["ana"].id, what="handed to Ana")
    set_status(team, "ben", "available")
    second = conversation(stack, team)
    wait_for(lambda: current(stack, team, second["id"])["assignee_id"] == team["ben"].id,
             what="handed to Ben, who had less work")
    # Both full at two each: the fifth waits in the queue until someone has room.
    extra = [conversation(stack, team) for _ in range(3)]
    wait_for(lambda: [current(stack, team, c["id"])["assignee_id"] for c in extra[:2]].count(None) == 0,
             what="two more handed out")
    time.sleep(1.0)  # several routing ticks
    assert current(stack, team, extra[2]["id"])["assignee_id"] is None, "nobody had room"
    # Ana resolves one: the waiting conversation goes to her at once.
    mine = current(stack, team, first["id"])
    r = team["ana"].request("PATCH", f"/v1/conversations/{first['id']}",
                            {"status": "resolved", "case_type": "incident.claim", "expected_version": mine["version"]})
    assert r.status_code == 200
    wait_for(lambda: current(stack, team, extra[2]["id"])["assignee_id"] == team["ana"].id,
             what="the queued conversation handed out when room appeared")
    trail = _trail(stack, team, extra[2]["id"])
    assert [(t["kind"], t["to_agent_id"], t["actor_agent_id"]) for t in trail] == [("auto", team["ana"].id, None)]


def _trail(stack, team, conversation_id: int) -> list[dict]:
    return [a for a in _all_pages(stack, team, "assignments") if a["conversation_id"] == conversation_id]


def test_an_agent_who_answers_an_unassigned_conversation_takes_it(stack, team, quiet_team):
    set_rules(team, auto_assign=False)
    conv = conversation(stack, team)
    r = team["ana"].request("POST", f"/v1/conversations/{conv['id']}/messages", {"text": "¡Hola! Te ayudo."})
    assert r.status_code == 201
    after = current(stack, team, conv["id"])
    assert after["assignee_id"] == team["ana"].id and after["waiting_since"] is None
    assert [t["kind"] for t in _trail(stack, team, conv["id"])] == ["take"]
    refused = team["ben"].request("POST", f"/v1/conversations/{conv['id']}/messages", {"text": "yo también"})
    assert refused.status_code == 403 and "assigned to another agent" in refused.json()["detail"]


def test_a_stale_reassignment_gets_409_naming_who_moved_it_first(stack, team, quiet_team):
    set_rules(team, auto_assign=False)
    conv = conversation(stack, team, owner="ana")
    lead, admin = team["lead"], team["admin"]
    first = lead.request("PATCH", f"/v1/conversations/{conv['id']}",
                         {"set_assignee": True, "assignee_id": team["ben"].id, "expected_version": conv["version"],
                          "reason": "Ben speaks German"})
    assert first.status_code == 200
    stale = admin.request("PATCH", f"/v1/conversations/{conv['id']}",
                          {"set_assignee": True, "assignee_id": None, "expected_version": conv["version"]})
    assert stale.status_code == 409
    assert stale.json()["changed_by"] == lead.agent["name"]
    assert stale.json()["conversation"]["assignee_id"] == team["ben"].id
    trail = _trail(stack, team, conv["id"])
    assert [(t["kind"], t["from_agent_id"], t["to_agent_id"], t["actor_agent_id"], t["reason"]) for t in trail] == [
        ("manual", None, team["ana"].id, lead.id, ""),
        ("manual", team["ana"].id, team["ben"].id, lead.id, "Ben speaks German"),
    ]


def test_a_stale_write_after_automatic_distribution_says_so(stack, team, quiet_team):
    resolve_everything(stack, team)
    conv = conversation(stack, team)
    set_status(team, "ben", "available")
    wait_for(lambda: current(stack, team, conv["id"])["assignee_id"] == team["ben"].id, what="handed to Ben")
    stale = team["ana"].request("PATCH", f"/v1/conversations/{conv['id']}",
                                {"set_assignee": True, "assignee_id": team["ana"].id,
                                 "expected_version": conv["version"]})
    assert stale.status_code == 409 and stale.json()["changed_by"] == "automatic distribution"


def test_hand_off_to_the_queue_or_a_colleague(stack, team, quiet_team):
    set_rules(team, auto_assign=False)
    mine = [conversation(stack, team, owner="ana") for _ in range(2)]
    set_status(team, "ana", "available")
    r = team["ana"].request("POST", f"/v1/agents/{team['ana'].id}/handoff",
                            {"to_agent_id": team["ben"].id, "reason": "end of shift"})
    assert r.status_code == 200
    assert {c["id"] for c in mine} <= set(r.json()["moved"])
    assert r.json()["agent"]["status"] == "offline"
    assert not [c for c in _all_pages(stack, team, "conversations") if c["assignee_id"] == team["ana"].id
                and c["status"] != "resolved"], "nothing left with Ana"
    for c in mine:
        assert current(stack, team, c["id"])["assignee_id"] == team["ben"].id
        assert _trail(stack, team, c["id"])[-1]["kind"] == "handoff"
    # Ben's end of shift: back to the queue, staying available this time.
    r = team["ben"].request("POST", f"/v1/agents/{team['ben'].id}/handoff", {"go_offline": False})
    assert r.status_code == 200 and set(c["id"] for c in mine) <= set(r.json()["moved"])
    assert all(current(stack, team, c["id"])["assignee_id"] is None for c in mine)


def test_presence_reaches_the_other_agents_and_not_oneself(stack, team, quiet_team):
    conv = conversation(stack, team, owner="ana")
    heard: dict[str, list[dict]] = {"ana": [], "ben": []}
    stop = threading.Event()

    def listen(name: str) -> None:
        headers = {"Authorization": f"Bearer {team[name].token}"}
        with httpx.stream("GET", f"{stack.server_url}/v1/events", headers=headers,
                          timeout=httpx.Timeout(5.0, read=2.0)) as response:
            event = ""
            try:
                for line in response.iter_lines():
                    if stop.is_set():
                        return
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:") and event == "presence":
                        heard[name].append(json.loads(line[5:]))
            except httpx.ReadTimeout:
                return

    threads = [threading.Thread(target=listen, args=(n,), daemon=True) for n in heard]
    for t in threads:
        t.start()
    time.sleep(0.5)  # both streams open
    r = team["ana"].request("POST", f"/v1/conversations/{conv['id']}/presence", {"state": "typing"})
    assert r.status_code == 204
    wait_for(lambda: heard["ben"], what="Ben hears that Ana is typing")
    event = heard["ben"][0]
    assert (event["conversation_id"], event["agent_id"], event["agent_name"], event["state"]) == \
        (conv["id"], team["ana"].id, team["ana"].agent["name"], "typing")
    assert 0 < event["ttl"] <= 10
    time.sleep(0.3)
    assert heard["ana"] == [], "nobody is told about themselves"
    stop.set()
    missing = team["ana"].request("POST", "/v1/conversations/999999999/presence", {"state": "viewing"})
    assert missing.status_code == 404


def test_a_disconnected_agent_goes_offline_after_the_grace(stack, team, quiet_team):
    set_rules(team, offline_grace_seconds=5, auto_assign=False)
    set_status(team, "ana", "available")
    stop = threading.Event()

    def hold_stream() -> None:
        headers = {"Authorization": f"Bearer {team['ana'].token}"}
        with httpx.stream("GET", f"{stack.server_url}/v1/events", headers=headers,
                          timeout=httpx.Timeout(5.0, read=1.0)) as response:
            try:
                for _ in response.iter_lines():
                    if stop.is_set():
                        return
            except httpx.ReadTimeout:
                return

    def status() -> str:
        return next(a for a in _all_pages(stack, team, "agents") if a["id"] == team["ana"].id)["status"]

    holder = threading.Thread(target=hold_stream, daemon=True)
    holder.start()
    time.sleep(7.0)  # longer than the grace, connected all along
    assert status() == "available"
    stop.set()
    holder.join(timeout=5)
    closed = time.monotonic()
    wait_for(lambda: status() == "offline", timeout=15, what="offline after the grace")
    assert time.monotonic() - closed >= 3.0, "not before the grace has run"


def test_racing_takes_of_one_conversation_leave_exactly_one_winner(stack, team, quiet_team):
    """Agents and the router racing for the same conversations: every version is granted once."""
    set_rules(team, auto_assign=False)
    convs = [conversation(stack, team) for _ in range(4)]
    results: dict[int, list[tuple[str, int]]] = {c["id"]: [] for c in convs}
    barrier = threading.Barrier(len(convs) * 2)

    def take(name: str, conv: dict) -> None:
        barrier.wait()
        r = team[name].request("PATCH", f"/v1/conversations/{conv['id']}",
                               {"set_assignee": True, "assignee_id": team[name].id,
                                "expected_version": conv["version"]})
        results[conv["id"]].append((name, r.status_code))

    threads = [threading.Thread(target=take, args=(name, c)) for c in convs for name in ("ana", "ben")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for c in convs:
        codes = sorted(code for _, code in results[c["id"]])
        assert codes == [200, 409], f"conversation {c['id']}: {results[c['id']]}"
        winner = next(name for name, code in results[c["id"]] if code == 200)
        after = current(stack, team, c["id"])
        assert after["assignee_id"] == team[winner].id and after["version"] == c["version"] + 1
        assert [t["to_agent_id"] for t in _trail(stack, team, c["id"])] == [team[winner].id]
