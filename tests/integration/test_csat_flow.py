"""The satisfaction survey end to end on real processes: resolving sends it through the WhatsApp emulator, the
customer's answer comes back through the signed webhook and is recorded against the conversation and agent."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import sqlalchemy as sa

from services.teamserver.db import make_engine
from tests.integration.helpers import inbound, sign_in, sync_all, wait_for
from workstation import protocol
from workstation.demo import DEMO_AGENTS, DEMO_PHONE_NUMBER_ID

ANA = next(email for email, _, role in DEMO_AGENTS if role == "agent")
QUESTION = protocol.CsatSettings().question
THANKS = protocol.CsatSettings().thanks


@pytest.fixture(scope="module")
def lead(stack) -> str:
    return sign_in(stack)[0]


@pytest.fixture(scope="module")
def ana(stack) -> dict:
    return sign_in(stack, ANA)[1]


def call(stack, token: str, method: str, path: str, body: dict | None = None) -> httpx.Response:
    return httpx.request(method, f"{stack.server_url}{path}", json=body, timeout=15,
                         headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())})


def set_csat(stack, token: str, **values) -> None:
    settings = call(stack, token, "GET", "/v1/care").json()["settings"]
    settings["csat"].update(values)
    r = call(stack, token, "PUT", "/v1/care", settings)
    assert r.status_code == 200, r.text
    assert {k: r.json()["settings"]["csat"][k] for k in values} == values


def new_customer(stack, token: str, text: str = "hola", *, timestamp: int | None = None) -> tuple[str, dict]:
    """A customer writes from a new number; returns the number and their conversation."""
    wa_id = "3467" + str(uuid.uuid4().int)[:7]
    inbound(stack, wa_id=wa_id, name="Cliente " + wa_id[-3:], text=f"{text} {wa_id}", timestamp=timestamp)
    return wa_id, conversation(stack, token, wa_id)


def conversation(stack, token: str, wa_id: str) -> dict:
    state = sync_all(stack, token)
    identity = next(i for i in state["identities"] if i["handle"] == wa_id)
    return max((c for c in state["conversations"] if c["customer_id"] == identity["customer_id"]),
               key=lambda c: c["id"])


def thread(stack, token: str, conversation_id: int) -> list[dict]:
    return sorted((m for m in sync_all(stack, token)["messages"] if m["conversation_id"] == conversation_id),
                  key=lambda m: m["id"])


def patch(stack, token: str, conv: dict, **body) -> dict:
    r = call(stack, token, "PATCH", f"/v1/conversations/{conv['id']}", {"expected_version": conv["version"], **body})
    assert r.status_code == 200, r.text
    return r.json()


def resolve(stack, token: str, conv: dict) -> dict:
    return patch(stack, token, conv, status="resolved", case_type="information.query")


def sent_to(stack, wa_id: str) -> list[dict]:
    """Every send attempt the emulator got for this customer, in order."""
    sent = httpx.get(f"{stack.sandbox_url}/_sandbox/sent", timeout=15).json()
    return [s for s in sent if isinstance(s["json"], dict) and s["json"].get("to") == wa_id]


def texts_sent(stack, wa_id: str) -> list[str]:
    return [s["json"]["text"]["body"] for s in sent_to(stack, wa_id) if s["json"].get("type") == "text"]


def after_marker(stack, token: str, conv: dict, wa_id: str) -> list[str]:
    """An agent reply sent now goes out after anything queued earlier in the conversation: once it reached the
    emulator, whatever was sent before it has too. Returns the texts the emulator got for this customer."""
    marker = f"marker {uuid.uuid4().hex[:8]}"
    assert call(stack, token, "POST", f"/v1/conversations/{conv['id']}/messages", {"text": marker}).status_code == 201
    wait_for(lambda: marker in texts_sent(stack, wa_id), what="the marker reply at the emulator")
    return texts_sent(stack, wa_id)


def surveys(stack, conversation_id: int) -> list[dict]:
    engine = make_engine(stack.db_url)
    try:
        with engine.connect() as conn:
            return [dict(row) for row in conn.execute(
                sa.text("SELECT * FROM csat_survey WHERE conversation_id = :c ORDER BY id"), {"c": conversation_id}
            ).mappings()]
    finally:
        engine.dispose()


def execute(stack, sql: str, **params) -> None:
    engine = make_engine(stack.db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(sql), params)
    finally:
        engine.dispose()


def test_the_survey_goes_out_on_resolve_and_an_answer_is_recorded_against_conversation_and_agent(stack, lead, ana):
    set_csat(stack, lead, enabled=True)
    wa_id, conv = new_customer(stack, lead, "¿Dónde está mi pedido?")
    conv = patch(stack, lead, conv, set_assignee=True, assignee_id=ana["id"])
    conv = resolve(stack, lead, conv)
    assert conv["status"] == "resolved"

    requests = wait_for(lambda: sent_to(stack, wa_id), what="the survey at the emulator")
    assert len(requests) == 1
    assert requests[0]["path"] == f"/v21.0/{DEMO_PHONE_NUMBER_ID}/messages" and requests[0]["authorization_ok"]
    assert requests[0]["json"] == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": wa_id,
        "type": "text", "text": {"body": QUESTION["es"], "preview_url": False},
    }
    assert requests[0]["status_code"] == 200
    survey_message = next(m for m in thread(stack, lead, conv["id"]) if m["kind"] == "csat_survey")
    assert survey_message["direction"] == "out" and survey_message["author_agent_id"] is None
    [row] = surveys(stack, conv["id"])
    assert row["score"] is None and row["agent_id"] == ana["id"] and row["message_id"] == survey_message["id"]

    inbound(stack, wa_id=wa_id, name="Cliente", text="4")
    [row] = surveys(stack, conv["id"])
    assert row["score"] == 4 and row["answered_at"] is not None and row["agent_id"] == ana["id"]
    assert row["customer_id"] == conv["customer_id"] and row["channel"] == "whatsapp"
    wait_for(lambda: texts_sent(stack, wa_id) == [QUESTION["es"], THANKS["es"]], what="the thanks at the emulator")
    after = conversation(stack, lead, wa_id)
    assert after["id"] == conv["id"] and after["status"] == "resolved" and after["reopened_count"] == 0
    # No response clock started (a customer message would start one), the wait left as resolving left it.
    assert after["sla_kind"] is None and after["waiting_since"] == conv["waiting_since"]
    assert after["last_message_preview"] == "4"
    answer = next(m for m in thread(stack, lead, conv["id"]) if m["text"] == "4")
    assert answer["direction"] == "in" and answer["kind"] == "csat_answer"


def test_anything_else_reopens_and_the_survey_speaks_the_customers_language(stack, lead):
    set_csat(stack, lead, enabled=True)
    wa_id, conv = new_customer(stack, lead, "hello")
    r = call(stack, lead, "PATCH", f"/v1/customers/{conv['customer_id']}", {"language": "en"})
    assert r.status_code == 200
    resolve(stack, lead, conv)
    wait_for(lambda: texts_sent(stack, wa_id) == [QUESTION["en"]], what="the English survey at the emulator")

    inbound(stack, wa_id=wa_id, name="Cliente", text="One more thing: do you ship to Ireland?")
    after = conversation(stack, lead, wa_id)
    assert after["id"] == conv["id"] and after["status"] == "open" and after["reopened_count"] == 1
    assert after["waiting_since"] is not None
    assert surveys(stack, conv["id"])[0]["score"] is None
    assert THANKS["en"] not in after_marker(stack, lead, after, wa_id)


def test_nothing_is_sent_while_the_survey_is_off(stack, lead):
    set_csat(stack, lead, enabled=False)
    wa_id, conv = new_customer(stack, lead)
    conv = resolve(stack, lead, conv)
    assert QUESTION["es"] not in after_marker(stack, lead, conv, wa_id)
    assert surveys(stack, conv["id"]) == []
    assert not [m for m in thread(stack, lead, conv["id"]) if m["kind"] == "csat_survey"]


def test_a_public_conversation_gets_no_survey(stack, lead):
    set_csat(stack, lead, enabled=True)
    wa_id, conv = new_customer(stack, lead)
    execute(stack, "UPDATE conversation SET public = :yes WHERE id = :id", yes=True, id=conv["id"])
    conv = resolve(stack, lead, conv)
    assert QUESTION["es"] not in after_marker(stack, lead, conv, wa_id)
    assert surveys(stack, conv["id"]) == []


def test_no_survey_when_the_reply_window_has_closed(stack, lead):
    set_csat(stack, lead, enabled=True)
    wa_id, conv = new_customer(stack, lead, timestamp=int(time.time()) - 25 * 3600)
    conv = resolve(stack, lead, conv)
    # The marker itself is refused (window closed); its attempt is what we wait for.
    marker = "too late " + wa_id
    assert call(stack, lead, "POST", f"/v1/conversations/{conv['id']}/messages", {"text": marker}).status_code == 201
    wait_for(lambda: marker in texts_sent(stack, wa_id), what="the marker's attempt")
    assert texts_sent(stack, wa_id) == [marker]
    assert surveys(stack, conv["id"]) == []


def test_one_survey_per_resolution_even_when_resolved_again(stack, lead):
    set_csat(stack, lead, enabled=True)
    wa_id, conv = new_customer(stack, lead)
    conv = resolve(stack, lead, conv)
    wait_for(lambda: QUESTION["es"] in texts_sent(stack, wa_id), what="the survey at the emulator")
    conv = resolve(stack, lead, conv)  # resolved already: nothing changes
    conv = patch(stack, lead, conv, status="open")
    conv = resolve(stack, lead, conv)  # resolved again, the first survey still unanswered: not asked twice
    assert texts_sent(stack, wa_id).count(QUESTION["es"]) == 1
    assert after_marker(stack, lead, conv, wa_id).count(QUESTION["es"]) == 1
    assert len(surveys(stack, conv["id"])) == 1


def test_an_answer_after_the_window_is_a_normal_message(stack, lead):
    set_csat(stack, lead, enabled=True)
    wa_id, conv = new_customer(stack, lead)
    resolve(stack, lead, conv)
    wait_for(lambda: QUESTION["es"] in texts_sent(stack, wa_id), what="the survey at the emulator")
    [row] = surveys(stack, conv["id"])
    # Time passes: the survey went out just over the answer window ago (stored as naive UTC).
    sent_at = datetime.now(timezone.utc) - timedelta(hours=protocol.CsatSettings().answer_hours + 1)
    execute(stack, "UPDATE csat_survey SET sent_at = :at WHERE id = :id", at=sent_at.replace(tzinfo=None),
            id=row["id"])
    inbound(stack, wa_id=wa_id, name="Cliente", text="5")
    after = conversation(stack, lead, wa_id)
    assert after["id"] == conv["id"] and after["status"] == "open" and after["reopened_count"] == 1
    assert surveys(stack, conv["id"])[0]["score"] is None
    assert next(m for m in thread(stack, lead, conv["id"]) if m["text"] == "5")["kind"] == "text"
