"""One customer across channels through the real team server over HTTP (SQLite and PostgreSQL): merge and split
by an agent, the automatic link on a CRM phone, and what /v1/sync then shows."""

from __future__ import annotations

import uuid

import httpx

from tests.integration.helpers import inbound, sign_in, sync_all, wait_for

ANA = "ana@demo.workstation.test"


def post(stack, token: str | None, path: str, body: dict | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{stack.server_url}{path}", json=body, headers=headers, timeout=30)


def new_number() -> str:
    return "3469" + str(uuid.uuid4().int)[:8]


def arrived(stack, token: str, wa_id: str) -> dict:
    """Waits for the customer's message; returns their identity (as sync shows it)."""
    def find():
        return next((i for i in sync_all(stack, token)["identities"] if i["handle"] == wa_id), None)
    return wait_for(find, what=f"the identity of {wa_id}")


def by_id(items: list[dict]) -> dict[int, dict]:
    return {item["id"]: item for item in items}


def test_merge_and_split_through_the_api_and_what_sync_shows(stack):
    token, agent = sign_in(stack, ANA)
    first_number, second_number = new_number(), new_number()
    inbound(stack, wa_id=first_number, name="Lucía Gómez", text="Hola, mi pedido no llega")
    inbound(stack, wa_id=second_number, name="Lu", text="Escribo desde el móvil del trabajo")
    first, second = arrived(stack, token, first_number), arrived(stack, token, second_number)
    keep, other = first["customer_id"], second["customer_id"]
    assert keep != other
    tagged = httpx.patch(f"{stack.server_url}/v1/customers/{other}",
                         json={"tags": ["VIP"], "notes": "Trabaja de noche"},
                         headers={"Authorization": f"Bearer {token}"})
    assert tagged.status_code == 200
    before = sync_all(stack, token)
    cursor = before["next_after"]
    second_conversation = next(c for c in before["conversations"] if c["customer_id"] == other)

    merged = post(stack, token, f"/v1/customers/{keep}/merge", {"other_customer_id": other})
    assert merged.status_code == 200, merged.text
    assert merged.json()["id"] == keep and merged.json()["tags"] == ["VIP"]
    assert merged.json()["notes"] == "Trabaja de noche"
    # What a desktop pulls after its cursor: both identities and both conversations under one customer.
    delta = sync_all(stack, token, after=cursor)
    moved = by_id(delta["identities"])
    assert moved[second["id"]]["customer_id"] == keep
    everything = sync_all(stack, token)
    identities = [i for i in everything["identities"] if i["customer_id"] == keep]
    assert sorted(i["handle"] for i in identities) == sorted([first_number, second_number])
    conversations = [c for c in everything["conversations"] if c["customer_id"] == keep]
    assert len(conversations) == 2
    assert not [c for c in everything["conversations"] if c["customer_id"] == other]
    shell = by_id(everything["customers"])[other]
    assert shell["fields"] == {"merged_into": str(keep)} and shell["tags"] == []
    notes = [n for n in delta["notes"] if n["conversation_id"] == second_conversation["id"]]
    assert [(n["author_agent_id"], n["text"]) for n in notes] == [
        (agent["id"], f"Merged with Lucía Gómez (#{keep}) by {agent['name']}: was customer Lu (#{other}).")]
    # Repeated: nothing more happens; the other way round: refused, the shell is merged already.
    cursor = sync_all(stack, token)["next_after"]
    assert post(stack, token, f"/v1/customers/{keep}/merge", {"other_customer_id": other}).status_code == 200
    assert sync_all(stack, token, after=cursor)["next_after"] == cursor
    assert post(stack, token, f"/v1/customers/{other}/merge", {"other_customer_id": keep}).status_code == 409

    split = post(stack, token, f"/v1/identities/{second['id']}/split")
    assert split.status_code == 201, split.text
    new = split.json()
    assert new["display_name"] == "Lu" and new["id"] not in (keep, other)
    after_split = sync_all(stack, token)
    assert by_id(after_split["identities"])[second["id"]]["customer_id"] == new["id"]
    assert by_id(after_split["conversations"])[second_conversation["id"]]["customer_id"] == new["id"]
    assert [i["handle"] for i in after_split["identities"] if i["customer_id"] == keep] == [first_number]
    # Now each is alone: nothing to split from.
    alone = post(stack, token, f"/v1/identities/{first['id']}/split")
    assert alone.status_code == 409 and "only" in alone.json()["detail"]


def test_a_new_number_joins_the_customer_whose_crm_phone_it_is(stack):
    token, _ = sign_in(stack, ANA)
    known_number, new_phone = new_number(), new_number()
    inbound(stack, wa_id=known_number, name="Marta", text="Hola")
    known = arrived(stack, token, known_number)
    spaced = f"+{new_phone[:2]} {new_phone[2:5]} {new_phone[5:8]} {new_phone[8:]}"
    saved = httpx.patch(f"{stack.server_url}/v1/customers/{known['customer_id']}",
                        json={"fields": {"phone": spaced}}, headers={"Authorization": f"Bearer {token}"})
    assert saved.status_code == 200
    inbound(stack, wa_id=new_phone, name="Marta (nuevo móvil)", text="Os escribo desde otro número")
    assert arrived(stack, token, new_phone)["customer_id"] == known["customer_id"]
    # One digit off: a customer of its own.
    near = new_phone[:-1] + str((int(new_phone[-1]) + 1) % 10)
    inbound(stack, wa_id=near, name="Otra", text="Hola")
    assert arrived(stack, token, near)["customer_id"] != known["customer_id"]


def test_refusals(stack):
    token, _ = sign_in(stack, ANA)
    number = new_number()
    inbound(stack, wa_id=number, name="Pedro", text="Hola")
    identity = arrived(stack, token, number)
    assert post(stack, None, f"/v1/customers/{identity['customer_id']}/merge",
                {"other_customer_id": identity["customer_id"]}).status_code == 401
    assert post(stack, token, f"/v1/customers/{identity['customer_id']}/merge",
                {"other_customer_id": identity["customer_id"]}).status_code == 422
    assert post(stack, token, f"/v1/customers/{identity['customer_id']}/merge",
                {"other_customer_id": 2**31 - 1}).status_code == 404
    # Past the id columns: refused as invalid, not a server error (PostgreSQL's integer is 32-bit).
    assert post(stack, token, f"/v1/customers/{identity['customer_id']}/merge",
                {"other_customer_id": 2**62}).status_code == 422
    assert post(stack, token, f"/v1/customers/{2**62}/merge", {"other_customer_id": 1}).status_code == 422
    assert post(stack, token, f"/v1/identities/{2**31}/split").status_code == 422
    assert post(stack, token, f"/v1/customers/{identity['customer_id']}/merge", {}).status_code == 422
    assert post(stack, token, "/v1/identities/999999999/split").status_code == 404
