"""Outside WhatsApp's 24-hour window an agent sends an approved template: it reaches the emulator in the Cloud
API's exact template format and is accepted, while free text is refused as window_closed."""

from __future__ import annotations

import time
import uuid

import httpx

from tests.integration.helpers import inbound, sign_in, sync_all, wait_for
from tests.integration.test_whatsapp_flow import find_message, unique_wa_id


def _template(stack, token, conversation_id, body):
    return httpx.post(f"{stack.server_url}/v1/conversations/{conversation_id}/template", json=body,
                      headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())})


def _templates_sent(stack, wa_id: str) -> list[dict]:
    sent = httpx.get(f"{stack.sandbox_url}/_sandbox/sent").json()
    return [s["json"] for s in sent if s["json"].get("type") == "template" and s["json"].get("to") == wa_id]


def test_a_template_goes_out_after_the_window_closed(stack):
    token, _ = sign_in(stack)
    wa_id = unique_wa_id()
    inbound(stack, wa_id=wa_id, name="Olga", text="old " + wa_id, timestamp=int(time.time()) - 30 * 3600)
    conversation_id = find_message(sync_all(stack, token), "old " + wa_id)["conversation_id"]
    r = _template(stack, token, conversation_id,
                  {"name": "actualizacion_pedido", "language": "es", "parameters": ["Olga", "A-77"]})
    assert r.status_code == 201, r.text
    message = r.json()
    assert message["text"] == "Hola Olga, hay novedades sobre tu pedido A-77. Responde a este mensaje para verlas."
    wait_for(lambda: _templates_sent(stack, wa_id))
    assert _templates_sent(stack, wa_id) == [{
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": wa_id, "type": "template",
        "template": {"name": "actualizacion_pedido", "language": {"code": "es"},
                     "components": [{"type": "body", "parameters": [{"type": "text", "text": "Olga"},
                                                                     {"type": "text", "text": "A-77"}]}]},
    }]

    def accepted():
        m = next(m for m in sync_all(stack, token)["messages"] if m["id"] == message["id"])
        return m if m["delivery_state"] not in ("pending", "failed") else None

    assert wait_for(accepted)["provider_id"].startswith("wamid.")


def test_unknown_templates_wrong_parameters_and_other_channels_are_refused(stack):
    token, _ = sign_in(stack)
    wa_id = unique_wa_id()
    inbound(stack, wa_id=wa_id, name="Pau", text="hola " + wa_id)
    conversation_id = find_message(sync_all(stack, token), "hola " + wa_id)["conversation_id"]
    r = _template(stack, token, conversation_id, {"name": "no_such_template", "language": "es", "parameters": []})
    assert r.status_code == 422 and "no approved template" in r.text
    r = _template(stack, token, conversation_id, {"name": "actualizacion_pedido", "language": "es",
                                                  "parameters": ["Pau"]})
    assert r.status_code == 422 and "takes 2 parameter(s), not 1" in r.text
    r = _template(stack, token, conversation_id, {"name": "Bad Name", "language": "es", "parameters": []})
    assert r.status_code == 422
    assert _templates_sent(stack, wa_id) == []
