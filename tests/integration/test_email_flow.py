"""Email on real servers on loopback: pymap (IMAP, dict backend) holds the support mailbox, aiosmtpd takes our
replies. The real connector polls by UIDVALIDITY and UID, replies threaded (Message-ID, In-Reply-To,
References, "Re:" subject), maps SMTP and IMAP refusals onto our error kinds, and never shows a password; and,
end to end, a real team server polls the mailbox into /v1/sync and sends an agent's reply by SMTP."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from email.message import EmailMessage

import httpx
import pytest

from services.channels.base import ChannelError, ErrorKind, OutboundText
from services.channels.email import EmailConnector, from_env
from tests.integration.email_servers import ImapServer, SmtpServer
from tests.integration.helpers import sign_in, sync_all, wait_for

OURS = "soporte@tienda.test"
IMAP_PASSWORD = "imap-Pa55-" + uuid.uuid4().hex[:8]
SMTP_USER, SMTP_PASSWORD = "mailer", "smtp-Pa55-" + uuid.uuid4().hex[:8]


def customer_mail(text: str, *, sender: str = "Lucía Fernández <lucia@example.com>", subject: str = "Pedido 1234",
                  message_id: str | None = None, **headers: str) -> tuple[bytes, str]:
    msg = EmailMessage()
    message_id = message_id or f"<{uuid.uuid4().hex}@example.com>"
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = sender, OURS, subject, message_id
    msg["Date"] = "Tue, 24 Nov 2026 10:00:00 +0000"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(text)
    return msg.as_bytes(), message_id


@pytest.fixture
def imap(tmp_path):
    with ImapServer(user=OURS, password=IMAP_PASSWORD, log_dir=tmp_path) as server:
        yield server


@pytest.fixture
def smtp():
    with SmtpServer(user=SMTP_USER, password=SMTP_PASSWORD) as server:
        yield server


def env_for(imap: ImapServer, smtp: SmtpServer, **overrides: str) -> dict[str, str]:
    return {
        "WORKSTATION_EMAIL_ADDRESS": OURS,
        "WORKSTATION_EMAIL_IMAP_HOST": "127.0.0.1", "WORKSTATION_EMAIL_IMAP_PORT": str(imap.port),
        "WORKSTATION_EMAIL_IMAP_TLS": "false", "WORKSTATION_EMAIL_IMAP_USER": OURS,
        "WORKSTATION_EMAIL_IMAP_PASSWORD": IMAP_PASSWORD,
        "WORKSTATION_EMAIL_SMTP_HOST": "127.0.0.1", "WORKSTATION_EMAIL_SMTP_PORT": str(smtp.port),
        "WORKSTATION_EMAIL_SMTP_TLS": "none", "WORKSTATION_EMAIL_SMTP_USER": SMTP_USER,
        "WORKSTATION_EMAIL_SMTP_PASSWORD": SMTP_PASSWORD, "WORKSTATION_EMAIL_POLL_INTERVAL": "0.3",
        "WORKSTATION_EMAIL_IDLE_SECONDS": "0", **overrides,
    }


@pytest.fixture
def connector(imap, smtp) -> EmailConnector:
    return from_env(env_for(imap, smtp), None)


def test_a_mail_in_the_mailbox_is_polled_once_with_the_right_fields(imap, connector):
    raw, message_id = customer_mail("Hola, ¿dónde está mi pedido? 📦", In_Reply_To="<ours-1@tienda.test>")
    uid = imap.append(raw)
    result = asyncio.run(connector.poll(None))
    [message] = result.batch.messages
    assert message.channel == "email" and message.account_id == OURS
    assert message.provider_message_id == message_id
    assert message.sender_handle == "lucia@example.com" and message.sender_name == "Lucía Fernández"
    assert message.reply_to_provider_id == "<ours-1@tienda.test>"
    assert message.text == "Pedido 1234\n\nHola, ¿dónde está mi pedido? 📦"
    assert json.loads(result.cursor) == {"uidvalidity": imap.uidvalidity(), "last_uid": uid}
    assert result.wait == connector.poll_interval

    again = asyncio.run(connector.poll(result.cursor))
    assert again.batch.messages == [] and again.cursor == result.cursor
    # Polling does not mark the customer's mail read in the agents' own mail client.
    assert b"FLAGS" in imap.flags(uid) and b"\\Seen" not in imap.flags(uid)

    raw2, id2 = customer_mail("¿Hola?")
    uid2 = imap.append(raw2)
    newer = asyncio.run(connector.poll(result.cursor))
    assert [m.provider_message_id for m in newer.batch.messages] == [id2]
    assert json.loads(newer.cursor)["last_uid"] == uid2


def test_idle_brings_new_mail_at_once_and_a_quiet_idle_ends_the_poll(imap, smtp):
    connector = from_env(env_for(imap, smtp, WORKSTATION_EMAIL_IDLE_SECONDS="15"), None)
    cursor = asyncio.run(connector.poll(None)).cursor
    raw, message_id = customer_mail("¿Me oís?")

    async def poll_while_mail_arrives():
        started = time.monotonic()
        polled = asyncio.ensure_future(connector.poll(cursor))
        await asyncio.to_thread(wait_for, lambda: connector._idling is not None, 5, "IDLE started")
        await asyncio.sleep(0.5)
        uid = await asyncio.to_thread(imap.append, raw)
        return await polled, uid, time.monotonic() - started

    result, uid, took = asyncio.run(poll_while_mail_arrives())
    assert [m.provider_message_id for m in result.batch.messages] == [message_id]
    assert took < 5 and json.loads(result.cursor)["last_uid"] == uid and result.wait == connector.poll_interval

    quiet = from_env(env_for(imap, smtp, WORKSTATION_EMAIL_IDLE_SECONDS="1"), None)
    started = time.monotonic()
    idle = asyncio.run(quiet.poll(result.cursor))
    assert 0.9 < time.monotonic() - started < 4
    assert idle.batch.messages == [] and idle.cursor == result.cursor and idle.wait == 0.0


def test_stopping_the_poller_ends_an_idle_at_once(imap, smtp):
    connector = from_env(env_for(imap, smtp, WORKSTATION_EMAIL_IDLE_SECONDS="60"), None)
    cursor = asyncio.run(connector.poll(None)).cursor

    async def cancel_while_idle():
        polled = asyncio.ensure_future(connector.poll(cursor))
        await asyncio.to_thread(wait_for, lambda: connector._idling is not None, 5, "IDLE started")
        polled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await polled
        # The thread that was in IDLE is done within moments, not after 60 s.
        await asyncio.to_thread(wait_for, lambda: connector._idling is None, 3, "IDLE ended")

    asyncio.run(cancel_while_idle())


def test_a_huge_attachment_is_described_without_fetching_it_whole(imap, connector, monkeypatch):
    monkeypatch.setattr("services.channels.email.MAX_FETCH_BYTES", 20_000)
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = "ana@example.com", OURS, "Vídeo", "<big@example.com>"
    msg.set_content("Mirad el vídeo de la caja.")
    msg.add_attachment(b"\0" * 300_000, maintype="video", subtype="mp4", filename="caja.mp4")
    uid = imap.append(msg.as_bytes())
    conn = connector._imap()
    try:
        connector._select(conn)
        [(fetched_uid, raw)] = connector._fetch(conn, [uid])
    finally:
        conn.logout()
    assert fetched_uid == uid and len(raw) == 20_000 < len(msg.as_bytes())
    [message] = asyncio.run(connector.poll(None)).batch.messages
    assert message.provider_message_id == "<big@example.com>"
    assert message.text == "Vídeo\n\nMirad el vídeo de la caja.\n[attachment] caja.mp4"


def test_auto_replies_and_our_own_mail_are_skipped_but_the_cursor_moves_past_them(imap, connector):
    first = asyncio.run(connector.poll(None))
    imap.append(customer_mail("Estoy de vacaciones", Auto_Submitted="auto-replied")[0])
    imap.append(customer_mail("copia", sender=f"Soporte <{OURS}>")[0])
    raw, message_id = customer_mail("Sigo esperando")
    last = imap.append(raw)
    result = asyncio.run(connector.poll(first.cursor))
    assert [m.provider_message_id for m in result.batch.messages] == [message_id]
    assert json.loads(result.cursor)["last_uid"] == last


def test_a_big_backlog_comes_in_batches(imap, smtp):
    c = EmailConnector(address=OURS, imap_host="127.0.0.1", imap_port=imap.port, imap_tls=False, imap_user=OURS,
                       imap_password=IMAP_PASSWORD, smtp_host="127.0.0.1", batch=2, poll_interval=3, idle_seconds=0)
    cursor = asyncio.run(c.poll(None)).cursor
    ids = [customer_mail(f"mail {i}") for i in range(3)]
    for raw, _ in ids:
        imap.append(raw)
    first = asyncio.run(c.poll(cursor))
    assert [m.provider_message_id for m in first.batch.messages] == [i for _, i in ids[:2]]
    assert first.wait == 0.0  # more waiting: poll again at once
    second = asyncio.run(c.poll(first.cursor))
    assert [m.provider_message_id for m in second.batch.messages] == [ids[2][1]] and second.wait == 3


def test_a_new_uidvalidity_starts_over_from_the_newest_mails_only(imap, smtp):
    c = EmailConnector(address=OURS, imap_host="127.0.0.1", imap_port=imap.port, imap_tls=False, imap_user=OURS,
                       imap_password=IMAP_PASSWORD, smtp_host="127.0.0.1", backlog=2, idle_seconds=0)
    imap.append(customer_mail("antes")[0])
    old = asyncio.run(c.poll(None)).cursor
    old_validity = json.loads(old)["uidvalidity"]
    imap.restart()  # the mailbox is rebuilt: every UID means something else now
    assert imap.uidvalidity() != old_validity
    ids = [customer_mail(f"después {i}") for i in range(4)]
    uids = [imap.append(raw) for raw, _ in ids]
    result = asyncio.run(c.poll(old))
    assert [m.provider_message_id for m in result.batch.messages] == [i for _, i in ids[2:]]
    assert json.loads(result.cursor) == {"uidvalidity": imap.uidvalidity(), "last_uid": uids[-1]}
    assert asyncio.run(c.poll(result.cursor)).batch.messages == []


def test_a_reply_goes_out_by_smtp_threaded_to_the_customers_mail(imap, smtp, connector):
    raw, message_id = customer_mail("Sigue sin llegar", subject="Re: Pedido 1234",
                                    References="<ours-1@tienda.test>", In_Reply_To="<ours-1@tienda.test>")
    imap.append(raw)
    asyncio.run(connector.poll(None))
    # What the dispatcher hands a private conversation today: no reply-to id; the connector threads it.
    result = asyncio.run(connector.send(OutboundText(recipient_handle="lucia@example.com",
                                                     text="Hola Lucía, sale hoy. <b>texto</b>")))
    [got] = smtp.received
    assert got.mail_from == OURS and got.rcpt_tos == ["lucia@example.com"]
    mail = got.message
    assert mail["From"] == OURS and mail["To"] == "lucia@example.com"
    assert mail["Subject"] == "Re: Pedido 1234"
    assert mail["In-Reply-To"] == message_id
    assert mail["References"].split() == ["<ours-1@tienda.test>", message_id]
    assert mail["Message-ID"].endswith("@tienda.test>") and result.provider_message_id == mail["Message-ID"]
    assert result.recipient_handle == "lucia@example.com"
    assert mail.get_content().strip() == "Hola Lucía, sale hoy. <b>texto</b>"


def test_after_a_restart_the_thread_is_found_in_the_mailbox(imap, smtp):
    older, older_id = customer_mail("primero", subject="Devolución")
    newer, newer_id = customer_mail("segundo", subject="Otra cosa")
    imap.append(older)
    imap.append(newer)
    fresh = from_env(env_for(imap, smtp), None)  # nothing polled: an empty memory
    asyncio.run(fresh.send(OutboundText(recipient_handle="lucia@example.com", text="a")))
    # Given the message to answer (the dispatcher's reply_to_provider_id), that one, even if older.
    fresh = from_env(env_for(imap, smtp), None)
    asyncio.run(fresh.send(OutboundText(recipient_handle="lucia@example.com", text="b",
                                        reply_to_provider_id=older_id)))
    first, second = (r.message for r in smtp.received)
    assert (first["In-Reply-To"], first["Subject"]) == (newer_id, "Re: Otra cosa")
    assert (second["In-Reply-To"], second["Subject"]) == (older_id, "Re: Devolución")
    # A customer we never had mail from: a new thread, no In-Reply-To.
    asyncio.run(fresh.send(OutboundText(recipient_handle="nuevo@example.com", text="c")))
    assert smtp.received[2].message["In-Reply-To"] is None


def send_error(connector: EmailConnector, to: str = "lucia@example.com") -> ChannelError:
    with pytest.raises(ChannelError) as refused:
        asyncio.run(connector.send(OutboundText(recipient_handle=to, text="hola")))
    return refused.value


def test_smtp_refusals_map_to_our_error_kinds_without_passwords(imap, smtp, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = from_env(env_for(imap, smtp, WORKSTATION_EMAIL_SMTP_PASSWORD="wrong-" + SMTP_PASSWORD), None)
    auth = send_error(wrong)
    assert (auth.kind, auth.code) == (ErrorKind.AUTH_EXPIRED, 535)

    connector = from_env(env_for(imap, smtp), None)
    smtp.handler.refuse_rcpt["nadie@example.com"] = "550 5.1.1 No such user here"
    unknown = send_error(connector, "nadie@example.com")
    assert (unknown.kind, unknown.code) == (ErrorKind.UNDELIVERABLE, 550)
    assert "No such user" in unknown.details

    smtp.handler.refuse_data = "451 4.3.0 Try again later"
    busy = send_error(connector)
    assert (busy.kind, busy.code) == (ErrorKind.RETRYABLE, 451)
    smtp.handler.refuse_data = "554 5.6.0 Message content rejected"
    rejected = send_error(connector)
    assert (rejected.kind, rejected.code) == (ErrorKind.BAD_REQUEST, 554)
    assert smtp.received == []

    for exc in (auth, unknown, busy, rejected):
        assert SMTP_PASSWORD not in f"{exc} {exc.title} {exc.details} {exc!r}"
    assert "SMTP refused the reply: code=535" in caplog.text
    assert SMTP_PASSWORD not in caplog.text and IMAP_PASSWORD not in caplog.text


def test_an_imap_login_refused_is_auth_expired_without_the_password(imap, smtp, caplog):
    caplog.set_level(logging.DEBUG)
    bad = "wrong-" + IMAP_PASSWORD
    connector = from_env(env_for(imap, smtp, WORKSTATION_EMAIL_IMAP_PASSWORD=bad), None)
    with pytest.raises(ChannelError) as refused:
        asyncio.run(connector.poll(None))
    assert refused.value.kind == ErrorKind.AUTH_EXPIRED
    assert bad not in f"{refused.value} {refused.value.details} {refused.value!r}"
    assert refused.value.__context__ is None
    assert "IMAP login as soporte@tienda.test refused" in caplog.text and bad not in caplog.text


def test_the_poller_stores_mail_once_even_when_the_mailbox_is_rebuilt(imap, smtp, tmp_path):
    """The real poller and ingest writer: a rebuilt mailbox (new UIDVALIDITY) delivers the same mails again
    under new UIDs; the newest are fetched again and ingest skips them by Message-ID."""
    from sqlmodel import Session, select

    from services.teamserver import pollers
    from services.teamserver.db import init_db, make_engine
    from services.teamserver.events import Broadcaster
    from services.teamserver.ingestor import Ingestor
    from services.teamserver.models import Message
    from tests.support import team_database

    mails = [customer_mail(f"hola {i}") for i in range(3)]
    for raw, _ in mails:
        imap.append(raw)
    connector = from_env(env_for(imap, smtp), None)

    with team_database("sqlite", tmp_path) as url:
        engine = make_engine(url)
        init_db(engine)

        async def poll_twice() -> list[float]:
            ingestor = Ingestor(engine, Broadcaster(0))
            ingestor.start()
            try:
                poller = pollers.Poller(engine, connector, ingestor.submit, name="email")
                return [await poller.poll_once(), await poller.poll_once()]
            finally:
                await asyncio.to_thread(ingestor.stop)

        def stored() -> list[str]:
            with Session(engine) as s:
                return sorted(s.exec(select(Message.provider_id).where(Message.channel == "email")).all())

        try:
            assert asyncio.run(poll_twice()) == [0.3, 0.3]
            assert stored() == sorted(i for _, i in mails)
            before = json.loads(pollers.load_cursor(engine, "email"))
            imap.restart()
            for raw, _ in mails:
                imap.append(raw)
            asyncio.run(poll_twice())
            assert stored() == sorted(i for _, i in mails)  # nothing twice
            after = json.loads(pollers.load_cursor(engine, "email"))
            assert after["uidvalidity"] == imap.uidvalidity() != before["uidvalidity"]
        finally:
            engine.dispose()


# -- end to end through a real team server ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mail_servers(tmp_path_factory):
    with ImapServer(user=OURS, password=IMAP_PASSWORD, log_dir=tmp_path_factory.mktemp("pymap")) as imap, \
            SmtpServer(user=SMTP_USER, password=SMTP_PASSWORD) as smtp:
        yield imap, smtp


@pytest.fixture(scope="module")
def email_stack(tmp_path_factory, team_db, mail_servers):
    from workstation.demo import start_demo_stack

    imap, smtp = mail_servers
    s = start_demo_stack(data_dir=tmp_path_factory.mktemp("stack"), traffic=False, db_url=team_db,
                         extra_env=env_for(imap, smtp, WORKSTATION_EMAIL_IDLE_SECONDS="10"))  # push by IDLE
    yield s
    s.stop()


def test_mail_shows_in_sync_and_an_agent_reply_reaches_the_smtp_server(email_stack, mail_servers):
    imap, smtp = mail_servers
    stack = email_stack
    token, _ = sign_in(stack)
    tag = uuid.uuid4().hex[:8]
    sender = f"cliente-{tag}@example.com"
    raw, message_id = customer_mail(f"No me llega el pedido {tag}", sender=f"Marta Ruiz <{sender}>")
    imap.append(raw)

    def stored(text: str):
        return next((m for m in sync_all(stack, token)["messages"] if m["text"] == text), None)

    message = wait_for(lambda: stored(f"Pedido 1234\n\nNo me llega el pedido {tag}"), timeout=20,
                       what="the mail in sync")
    state = sync_all(stack, token)
    assert message["direction"] == "in" and message["provider_id"] == message_id
    conversation = next(c for c in state["conversations"] if c["id"] == message["conversation_id"])
    assert conversation["channel"] == "email"
    identity = next(i for i in state["identities"] if i["handle"] == sender)
    assert identity["channel"] == "email" and conversation["customer_id"] == identity["customer_id"]
    assert next(c for c in state["customers"] if c["id"] == identity["customer_id"])["display_name"] == "Marta Ruiz"

    text = f"Hola Marta, sale hoy {tag}"
    r = httpx.post(f"{stack.server_url}/v1/conversations/{conversation['id']}/messages", json={"text": text},
                   headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 201, r.text
    [got] = wait_for(lambda: [g for g in smtp.received if g.rcpt_tos == [sender]], timeout=20,
                     what="the reply at the SMTP server")
    mail = got.message
    assert mail["Subject"] == "Re: Pedido 1234" and mail["In-Reply-To"] == message_id
    assert mail["References"].split() == [message_id] and mail.get_content().strip() == text

    def accepted():
        m = next(m for m in sync_all(stack, token)["messages"] if m["id"] == r.json()["id"])
        return m if m["delivery_state"] == "accepted" else None

    assert wait_for(accepted, timeout=20, what="the reply accepted")["provider_id"] == mail["Message-ID"]

    # The customer answers our reply: it joins the same conversation, threaded to our Message-ID.
    answer, _ = customer_mail(f"Gracias {tag}", sender=sender, subject="Re: Pedido 1234",
                              In_Reply_To=mail["Message-ID"], References=f"{message_id} {mail['Message-ID']}")
    imap.append(answer)
    again = wait_for(lambda: stored(f"Re: Pedido 1234\n\nGracias {tag}"), timeout=20, what="the answer in sync")
    assert again["conversation_id"] == conversation["id"]
    logged = (stack.data_dir / "children.log").read_text()
    assert "email: connected (from the environment)" in logged
    assert IMAP_PASSWORD not in logged and SMTP_PASSWORD not in logged
