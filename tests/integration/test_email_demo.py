"""Email in the demo, end to end on real processes: the sandbox's own IMAP and SMTP servers (services/sandbox/
mail_server.py) hold the brand's support mailbox; a customer mail posted to the sandbox is polled by the team
server into /v1/sync as an email conversation, and an agent's reply leaves by SMTP, threaded to the customer's
Message-ID, to the emulator's sent list."""

from __future__ import annotations

import uuid

import httpx

from tests.integration.helpers import sign_in, sync_all, wait_for
from workstation.demo import DEMO_EMAIL_ADDRESS


def customer_mails(stack, **body) -> dict:
    r = httpx.post(f"{stack.sandbox_url}/_sandbox/email/inbound", json=body, timeout=10)
    r.raise_for_status()
    return r.json()


def emulator(stack, what: str) -> list | dict:
    r = httpx.get(f"{stack.sandbox_url}/_sandbox/email/{what}", timeout=10)
    r.raise_for_status()
    return r.json()


def stored(stack, token: str, text: str) -> dict | None:
    return next((m for m in sync_all(stack, token)["messages"] if m["text"] == text), None)


def reply(stack, token: str, conversation_id: int, text: str) -> dict:
    r = httpx.post(f"{stack.server_url}/v1/conversations/{conversation_id}/messages", json={"text": text},
                   headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 201, r.text
    return r.json()


def test_the_demo_runs_the_mail_servers_with_the_run_credentials(stack):
    state = emulator(stack, "state")
    assert state["address"] == DEMO_EMAIL_ADDRESS == stack.env["WORKSTATION_EMAIL_ADDRESS"]
    assert str(state["imap_port"]) == stack.env["WORKSTATION_EMAIL_IMAP_PORT"]
    assert str(state["smtp_port"]) == stack.env["WORKSTATION_EMAIL_SMTP_PORT"]
    assert stack.env["WORKSTATION_EMAIL_IMAP_TLS"] == "false" and stack.env["WORKSTATION_EMAIL_SMTP_TLS"] == "none"
    # Fresh per run, and secrets: the colleagues child never gets them, the logs never show them.
    assert {"WORKSTATION_EMAIL_IMAP_PASSWORD", "WORKSTATION_EMAIL_SMTP_PASSWORD"} <= set(stack.secrets)
    logged = (stack.data_dir / "children.log").read_text()
    assert stack.secrets["WORKSTATION_EMAIL_IMAP_PASSWORD"] not in logged
    assert stack.secrets["WORKSTATION_EMAIL_SMTP_PASSWORD"] not in logged


def test_a_customer_mail_shows_in_sync_and_the_agent_reply_is_threaded_to_it(stack):
    token, _ = sign_in(stack)
    tag = uuid.uuid4().hex[:8]
    sender = f"marta-{tag}@example.com"
    posted = customer_mails(stack, from_name="Marta Ruiz", from_address=sender, subject=f"Pedido {tag}",
                            text=f"Hola, no me llega el pedido {tag} 📦")
    assert posted["message_id"].startswith("<") and posted["uid"] >= 1

    shown = f"Pedido {tag}\n\nHola, no me llega el pedido {tag} 📦"
    message = wait_for(lambda: stored(stack, token, shown), timeout=30, what="the mail in sync")
    assert message["direction"] == "in" and message["provider_id"] == posted["message_id"]
    state = sync_all(stack, token)
    conversation = next(c for c in state["conversations"] if c["id"] == message["conversation_id"])
    assert conversation["channel"] == "email"
    identity = next(i for i in state["identities"] if i["handle"] == sender)
    assert identity["channel"] == "email" and conversation["customer_id"] == identity["customer_id"]
    assert next(c for c in state["customers"] if c["id"] == identity["customer_id"])["display_name"] == "Marta Ruiz"

    text = f"Hola Marta, tu pedido {tag} sale hoy"
    sent_reply = reply(stack, token, conversation["id"], text)
    [mail] = wait_for(lambda: [s for s in emulator(stack, "sent") if s["rcpt_to"] == [sender]], timeout=30,
                      what="the reply at the emulator's SMTP server")
    assert mail["in_reply_to"] == posted["message_id"] and mail["references"] == [posted["message_id"]]
    assert mail["subject"] == f"Re: Pedido {tag}" and mail["text"].strip() == text
    assert mail["mail_from"] == DEMO_EMAIL_ADDRESS and mail["message_id"].startswith("<")

    def accepted() -> dict | None:
        m = next(m for m in sync_all(stack, token)["messages"] if m["id"] == sent_reply["id"])
        return m if m["delivery_state"] == "accepted" else None

    assert wait_for(accepted, timeout=30, what="the reply accepted")["provider_id"] == mail["message_id"]

    # The customer answers in the thread: the same conversation.
    answer = customer_mails(stack, from_name="Marta Ruiz", from_address=sender, subject=f"Re: Pedido {tag}",
                            text=f"¡Gracias! {tag}", in_reply_to=mail["message_id"])
    again = wait_for(lambda: stored(stack, token, f"Re: Pedido {tag}\n\n¡Gracias! {tag}"), timeout=30,
                     what="the customer's answer in sync")
    assert again["conversation_id"] == conversation["id"] and again["provider_id"] == answer["message_id"]
