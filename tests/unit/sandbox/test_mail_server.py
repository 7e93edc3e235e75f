"""Tests for the email provider emulator (services/sandbox/mail_server.py): its IMAP4rev1 and SMTP servers against
Python's imaplib and smtplib and raw sockets (logins, the control routes' customer mail searched and fetched, IDLE
woken by new mail, DATA with dot-stuffing undone), the real EmailConnector polling and answering through it, and
the traffic generator's customers writing by email."""

from __future__ import annotations

import asyncio
import email
import email.policy
import imaplib
import json
import smtplib
import socket
import time
from email.message import EmailMessage

import httpx
import pytest

from services.channels.base import ChannelError, ErrorKind, OutboundText
from services.channels.email import EmailConnector, parse_mail
from services.sandbox import mail_server
from services.sandbox.mail_server import MailSandbox, MailSandboxConfig, parse_set, tokenize
from services.sandbox.traffic import PERSONAS, SURVEY_QUESTION, TrafficGenerator, email_subject

OURS = "soporte@tienda.test"
IMAP_PASSWORD = 'imap "Pa55" \\ secret'  # quotes and a backslash: imaplib quotes it, the server unquotes it
SMTP_USER, SMTP_PASSWORD = "mailer", "smtp-Pa55"


@pytest.fixture
def base(serve) -> str:
    config = MailSandboxConfig(address=OURS, imap_user=OURS, imap_password=IMAP_PASSWORD, smtp_user=SMTP_USER,
                               smtp_password=SMTP_PASSWORD, uidvalidity=4242)
    app = mail_server.create_app(config)
    url = serve(app)
    url_state = httpx.get(f"{url}/_sandbox/email/state").json()
    assert url_state["uidvalidity"] == 4242
    return url


def state(base: str) -> dict:
    return httpx.get(f"{base}/_sandbox/email/state").json()


def customer_writes(base: str, text: str = "¿Dónde está mi pedido? 📦", **extra) -> dict:
    body = {"from_name": "Lucía Fernández", "from_address": "lucia@example.com", "subject": "Pedido 1234",
            "text": text, **extra}
    r = httpx.post(f"{base}/_sandbox/email/inbound", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def imap(base: str, login: bool = True) -> imaplib.IMAP4:
    conn = imaplib.IMAP4("127.0.0.1", state(base)["imap_port"], timeout=5)
    if login:
        conn.login(OURS, IMAP_PASSWORD)
    return conn


def connector(base: str, **overrides) -> EmailConnector:
    ports = state(base)
    settings = dict(address=OURS, imap_host="127.0.0.1", imap_port=ports["imap_port"], imap_tls=False,
                    imap_user=OURS, imap_password=IMAP_PASSWORD, smtp_host="127.0.0.1", smtp_port=ports["smtp_port"],
                    smtp_tls="none", smtp_user=SMTP_USER, smtp_password=SMTP_PASSWORD, timeout=5.0,
                    poll_interval=0.2, idle_seconds=0)
    settings.update(overrides)
    return EmailConnector(**settings)


def sent(base: str) -> list[dict]:
    return httpx.get(f"{base}/_sandbox/email/sent").json()


# -- IMAP ----------------------------------------------------------------------------------------------------------

def test_imap_login_is_refused_with_wrong_credentials_and_idle_is_offered_after_login(base):
    conn = imap(base, login=False)
    try:
        assert conn.capabilities == ("IMAP4REV1", "AUTH=PLAIN")  # imaplib upper-cases them
        with pytest.raises(imaplib.IMAP4.error, match=r"\[AUTHENTICATIONFAILED\]"):
            conn.login(OURS, "wrong")
        with pytest.raises(imaplib.IMAP4.error, match=r"\[AUTHENTICATIONFAILED\]"):
            conn.login("someone@else.test", IMAP_PASSWORD)
        typ, _ = conn.login(OURS, IMAP_PASSWORD)
        assert typ == "OK"
        typ, data = conn.capability()
        assert typ == "OK" and b"IDLE" in data[-1].split()
        assert conn.noop()[0] == "OK"
    finally:
        assert conn.logout()[0] == "BYE"


def test_authenticate_plain_logs_in_too(base):
    conn = imap(base, login=False)
    try:
        with pytest.raises(imaplib.IMAP4.error, match=r"\[AUTHENTICATIONFAILED\]"):
            conn.authenticate("PLAIN", lambda _: f"\0{OURS}\0wrong".encode())
        assert conn.authenticate("PLAIN", lambda _: f"\0{OURS}\0{IMAP_PASSWORD}".encode())[0] == "OK"
        assert conn.select("INBOX")[0] == "OK"
    finally:
        conn.logout()


def test_the_one_mailbox_is_inbox(base):
    conn = imap(base)
    try:
        typ, data = conn.select("Archive")
        assert typ == "NO" and data[0].startswith(b"[NONEXISTENT]")
        assert conn.list() == ("OK", [b'(\\HasNoChildren) "/" INBOX'])
        typ, data = conn.status("INBOX", "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN)")
        assert typ == "OK" and data == [b"INBOX (MESSAGES 0 UIDNEXT 1 UIDVALIDITY 4242 UNSEEN 0)"]
    finally:
        conn.logout()


def test_a_customer_mail_from_the_control_route_is_examined_searched_and_fetched(base):
    first = customer_writes(base)
    second = customer_writes(base, text="¿Hola?\n.una línea con punto", from_address="ben@example.org",
                             from_name="Ben Carter", subject="Otra cosa")
    assert (first["uid"], second["uid"]) == (1, 2) and first["uidvalidity"] == 4242
    conn = imap(base)
    try:
        typ, exists = conn.select('"INBOX"', readonly=True)
        assert typ == "OK" and exists == [b"2"]
        assert conn.response("UIDVALIDITY")[1] == [b"4242"]
        assert conn.response("UIDNEXT")[1] == [b"3"]
        assert conn.response("READ-ONLY")[1] == [b""]
        assert conn.uid("SEARCH", None, "ALL") == ("OK", [b"1 2"])
        assert conn.uid("SEARCH", None, "UID 2:*") == ("OK", [b"2"])
        # RFC 3501: "*" is the largest UID, and 3:* is 2:3; the connector drops what is not above its last UID.
        assert conn.uid("SEARCH", None, "UID 3:*") == ("OK", [b"2"])
        assert conn.uid("SEARCH", None, f'HEADER Message-ID "{second["message_id"]}"') == ("OK", [b"2"])
        assert conn.uid("SEARCH", None, 'FROM "lucia@example.com"') == ("OK", [b"1"])
        assert conn.uid("SEARCH", None, 'SUBJECT "otra"') == ("OK", [b"2"])
        assert conn.uid("SEARCH", None, 'NOT FROM "lucia"') == ("OK", [b"2"])
        assert conn.uid("SEARCH", None, 'OR FROM "ben" UNSEEN') == ("OK", [b"1 2"])
        assert conn.search(None, "ALL") == ("OK", [b"1 2"])

        typ, data = conn.uid("FETCH", "1,2", "(UID BODY.PEEK[]<0.2000000>)")
        assert typ == "OK"
        fetched = [item for item in data if isinstance(item, tuple)]
        assert [item[0] for item in fetched] == [b"1 (UID 1 BODY[]<0> {%d}" % len(fetched[0][1]),
                                                 b"2 (UID 2 BODY[]<0> {%d}" % len(fetched[1][1])]
        msg = email.message_from_bytes(fetched[0][1], policy=email.policy.default)
        assert msg["Message-ID"] == first["message_id"] and msg["To"] == OURS
        assert msg["From"].addresses[0].display_name == "Lucía Fernández"
        assert msg["Subject"] == "Pedido 1234" and msg["Date"] and "In-Reply-To" not in msg
        assert msg.get_content() == "¿Dónde está mi pedido? 📦\r\n"  # IMAP serves CRLF lines
        assert b"\r\n.una l" in fetched[1][1]  # a line starting with a dot comes back as written
        # A partial: the origin in the answer, only the octets asked for.
        typ, data = conn.uid("FETCH", "1", "(BODY.PEEK[]<5.10>)")
        assert data[0][0].endswith(b"BODY[]<5> {10}") and data[0][1] == fetched[0][1][5:15]
        typ, data = conn.uid("FETCH", "2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])")
        assert data[0][1] == b"From: Ben Carter <ben@example.org>\r\nSubject: Otra cosa\r\n\r\n"
        typ, data = conn.fetch("1", "(UID FLAGS RFC822.SIZE INTERNALDATE)")
        assert b"UID 1" in data[0] and b"RFC822.SIZE %d" % len(fetched[0][1]) in data[0]
        # Read-only: nothing gets \Seen, and STORE is refused.
        assert b"\\Seen" not in data[0]
        assert conn.uid("STORE", "1", "+FLAGS", "(\\Seen)")[0] == "NO"
    finally:
        conn.logout()

    rw = imap(base)
    try:
        assert rw.select("INBOX")[0] == "OK" and rw.response("READ-WRITE")[1] == [b""]
        typ, data = rw.uid("FETCH", "1", "(BODY[TEXT])")  # not PEEK: the mail is now read
        assert data[0][1].startswith("¿Dónde".encode())
        typ, data = rw.uid("FETCH", "1", "(FLAGS)")
        assert b"\\Seen" in data[0]
        assert rw.uid("SEARCH", None, "UNSEEN") == ("OK", [b"2"])
        assert rw.uid("STORE", "2", "+FLAGS", "(\\Flagged)")[0] == "OK"
        assert rw.uid("SEARCH", None, "FLAGGED") == ("OK", [b"2"])
    finally:
        rw.logout()


def test_append_takes_a_literal_and_a_reply_is_threaded(base):
    conn = imap(base)
    try:
        raw = (b"From: a@example.com\r\nTo: soporte@tienda.test\r\nSubject: Hi\r\n"
               b"Message-ID: <x1@example.com>\r\n\r\nhi\r\n")
        typ, data = conn.append("INBOX", None, None, raw)
        assert typ == "OK" and data[0].startswith(b"[APPENDUID 4242 1]")
        answer = customer_writes(base, text="Sigo esperando", in_reply_to="<x1@example.com>",
                                 subject="Re: Hi")
        conn.select("INBOX", readonly=True)
        typ, data = conn.uid("FETCH", str(answer["uid"]), "(BODY.PEEK[])")
        msg = email.message_from_bytes(data[0][1], policy=email.policy.default)
        assert msg["In-Reply-To"] == "<x1@example.com>" and msg["References"] == "<x1@example.com>"
    finally:
        conn.logout()
    r = httpx.post(f"{base}/_sandbox/email/inbound", json={"from_address": "not an address", "text": "x"})
    assert r.status_code == 422
    r = httpx.post(f"{base}/_sandbox/email/inbound",
                   json={"from_address": "a@example.com", "text": "x", "subject": "a\r\nBcc: evil@example.com"})
    assert r.status_code == 422


def test_idle_is_woken_by_a_new_mail_and_ends_with_done(base):
    conn = imap(base)
    try:
        conn.select("INBOX", readonly=True)
        conn.send(b"I1 IDLE\r\n")
        assert conn.readline().startswith(b"+ ")
        conn.sock.settimeout(5)
        started = time.monotonic()
        customer_writes(base)
        lines = [conn.readline()]
        while not lines[-1].startswith(b"* 1 EXISTS"):
            lines.append(conn.readline())
        assert time.monotonic() - started < 2
        conn.send(b"DONE\r\n")
        line = conn.readline()
        while not line.startswith(b"I1 "):
            line = conn.readline()
        assert line.startswith(b"I1 OK")
        assert conn.uid("SEARCH", None, "ALL") == ("OK", [b"1"])
    finally:
        conn.logout()


def test_a_selected_session_hears_of_new_mail_on_its_next_command(base):
    conn = imap(base)
    try:
        conn.select("INBOX", readonly=True)
        customer_writes(base)
        conn.noop()
        assert conn.response("EXISTS")[1][-1] == b"1"  # after the 0 of the EXAMINE
    finally:
        conn.logout()


def test_raw_imap_syntax_errors_answer_bad_and_keep_the_connection(base):
    with socket.create_connection(("127.0.0.1", state(base)["imap_port"]), timeout=5) as sock:
        f = sock.makefile("rwb")
        assert f.readline().startswith(b"* OK [CAPABILITY IMAP4rev1")
        for line, expected in ((b"a1 FROB", b"a1 BAD"), (b"a2 SELECT INBOX", b"a2 BAD"),
                               (b'a3 LOGIN "unterminated', b"a3 BAD"), (b"a4 LOGIN {3}", b"+ "),
                               (b'xyz "x"', b"a4 NO [AUTHENTICATIONFAILED]"), (b"a5 LOGOUT", b"* BYE")):
            f.write(line + b"\r\n")
            f.flush()
            assert f.readline().startswith(expected), line


def test_sequence_sets_and_tokens():
    assert parse_set("1:3,5,7:*", 8) == {1, 2, 3, 5, 7, 8}
    assert parse_set("5:*", 3) == {3} and parse_set("*", 0) == set() and parse_set("0", 3) is None
    assert tokenize([b'(UID BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100>) "a \\"b\\"" {3}', mail_server.Literal(b"xyz"),
                     b""]) == [["UID", "BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100>"], b'a "b"', b"xyz"]


def test_uidvalidity_is_fixed_for_a_run():
    first = MailSandbox(MailSandboxConfig(address=OURS, imap_user=OURS, imap_password="p"))
    assert first.mailbox.uidvalidity > 0
    first.inbound(from_address="a@example.com", text="x")
    assert first.mailbox.uidvalidity == first.state()["uidvalidity"] and first.mailbox.uidnext == 2


# -- SMTP ----------------------------------------------------------------------------------------------------------

def test_smtp_login_is_required_and_refused_with_wrong_credentials(base):
    port = state(base)["smtp_port"]
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
        code, text = smtp.ehlo("client.test")
        assert code == 250 and smtp.has_extn("auth") and "PLAIN" in smtp.esmtp_features["auth"]
        assert not smtp.has_extn("starttls")
        assert smtp.noop()[0] == 250
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            smtp.sendmail(OURS, ["lucia@example.com"], b"Subject: x\r\n\r\nx\r\n")
        assert refused.value.smtp_code == 530
        with pytest.raises(smtplib.SMTPAuthenticationError) as wrong:
            smtp.login(SMTP_USER, "wrong")
        assert wrong.value.smtp_code == 535
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
        smtp.ehlo()
        smtp.user, smtp.password = SMTP_USER, SMTP_PASSWORD
        assert smtp.auth("LOGIN", smtp.auth_login, initial_response_ok=False)[0] == 235
        assert smtp.rset()[0] == 250


def test_smtp_data_is_recorded_with_the_dot_stuffing_undone(base):
    port = state(base)["smtp_port"]
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = OURS, "lucia@example.com", "Re: Pedido 1234"
    msg["Message-ID"], msg["In-Reply-To"] = "<r1@tienda.test>", "<c1@example.com>"
    msg["References"] = "<c1@example.com>"
    msg.set_content(".una línea con punto\n..y dos\n.\nfin ñ")
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
        smtp.login(SMTP_USER, SMTP_PASSWORD)
        assert smtp.send_message(msg) == {}
    [record] = sent(base)
    assert record["mail_from"] == OURS and record["rcpt_to"] == ["lucia@example.com"]
    assert record["message_id"] == "<r1@tienda.test>" and record["in_reply_to"] == "<c1@example.com>"
    assert record["references"] == ["<c1@example.com>"] and record["subject"] == "Re: Pedido 1234"
    assert record["text"] == ".una línea con punto\n..y dos\n.\nfin ñ\n"

    # The same by hand: a stuffed line loses its first dot, and the lone dot ends DATA.
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        f = sock.makefile("rwb")

        def say(line: bytes) -> bytes:
            f.write(line + b"\r\n")
            f.flush()
            answer = f.readline()
            while answer[3:4] == b"-":
                answer = f.readline()
            return answer

        assert f.readline().startswith(b"220 ")
        assert say(b"EHLO client.test").startswith(b"250 ")
        assert say(b"AUTH PLAIN AG1haWxlcgBzbXRwLVBhNTU=").startswith(b"235")  # \0mailer\0smtp-Pa55
        assert say(b"RCPT TO:<a@example.com>").startswith(b"503")
        assert say(b"MAIL FROM:<soporte@tienda.test> SIZE=100 BODY=8BITMIME").startswith(b"250")
        assert say(b"MAIL FROM:<soporte@tienda.test>").startswith(b"503")
        assert say(b"RCPT TO:<not an address>").startswith(b"553")  # mailbox name not allowed
        assert say(b"RCPT TO:<a@example.com>").startswith(b"250")
        assert say(b"DATA").startswith(b"354")
        f.write(b"Subject: hand\r\nMessage-ID: <h1@tienda.test>\r\n\r\n..dot\r\n...two\r\nend\r\n.\r\n")
        f.flush()
        assert f.readline().startswith(b"250")
        assert say(b"DATA").startswith(b"503")  # a new transaction needs MAIL again
        assert say(b"QUIT").startswith(b"221")
    record = sent(base)[-1]
    assert record["message_id"] == "<h1@tienda.test>" and record["text"] == ".dot\n..two\nend\n"
    assert record["raw"].endswith("\r\n.dot\r\n..two\r\nend\r\n")


def test_a_rejected_recipient_is_refused_at_rcpt(base):
    httpx.post(f"{base}/_sandbox/email/reject", json={"address": "gone@example.com"}).raise_for_status()
    with smtplib.SMTP("127.0.0.1", state(base)["smtp_port"], timeout=5) as smtp:
        smtp.login(SMTP_USER, SMTP_PASSWORD)
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            smtp.sendmail(OURS, ["gone@example.com"], b"Subject: x\r\n\r\nx\r\n")
    assert refused.value.recipients["gone@example.com"][0] == 550


# -- the real connector --------------------------------------------------------------------------------------------

def test_the_connector_polls_and_answers_threaded_through_the_emulator(base):
    posted = customer_writes(base)
    c = connector(base)
    result = asyncio.run(c.poll(None))
    [message] = result.batch.messages
    assert message.provider_message_id == posted["message_id"] and message.sender_handle == "lucia@example.com"
    assert message.sender_name == "Lucía Fernández" and message.text == "Pedido 1234\n\n¿Dónde está mi pedido? 📦"
    assert json.loads(result.cursor) == {"uidvalidity": 4242, "last_uid": posted["uid"]}
    assert asyncio.run(c.poll(result.cursor)).batch.messages == []

    sent_result = asyncio.run(c.send(OutboundText(recipient_handle="lucia@example.com", text="Sale hoy",
                                                  reply_to_provider_id=posted["message_id"])))
    [record] = sent(base)
    assert record["message_id"] == sent_result.provider_message_id
    assert record["in_reply_to"] == posted["message_id"] and record["subject"] == "Re: Pedido 1234"
    assert record["rcpt_to"] == ["lucia@example.com"] and record["text"].strip() == "Sale hoy"

    # After a restart the thread is found in the mailbox (UID SEARCH HEADER Message-ID, then FETCH).
    fresh = connector(base)
    asyncio.run(fresh.send(OutboundText(recipient_handle="lucia@example.com", text="¿Algo más?",
                                        reply_to_provider_id=posted["message_id"])))
    assert sent(base)[-1]["in_reply_to"] == posted["message_id"]
    asyncio.run(connector(base).send(OutboundText(recipient_handle="lucia@example.com", text="Hola de nuevo")))
    assert sent(base)[-1]["in_reply_to"] == posted["message_id"]  # by the customer's address (SEARCH FROM)

    # The customer answers our reply: threaded to our Message-ID.
    answer = customer_writes(base, text="Gracias", subject="Re: Pedido 1234", in_reply_to=record["message_id"])
    newer = asyncio.run(c.poll(result.cursor))
    [got] = newer.batch.messages
    assert got.provider_message_id == answer["message_id"] and got.reply_to_provider_id == record["message_id"]
    raw_refs = parse_mail(_fetch_raw(base, answer["uid"]), account_id=OURS).references
    assert raw_refs == (posted["message_id"], record["message_id"])


def _fetch_raw(base: str, uid: int) -> bytes:
    conn = imap(base)
    try:
        conn.select("INBOX", readonly=True)
        return conn.uid("FETCH", str(uid), "(BODY.PEEK[])")[1][0][1]
    finally:
        conn.logout()


def test_the_connector_waits_in_idle_and_new_mail_ends_the_wait(base):
    c = connector(base, idle_seconds=15)
    cursor = asyncio.run(c.poll(None)).cursor

    async def poll_while_mail_arrives():
        started = time.monotonic()
        polled = asyncio.ensure_future(c.poll(cursor))
        while c._idling is None:  # noqa: SLF001 - the connector is in IDLE
            await asyncio.sleep(0.02)
            assert time.monotonic() - started < 5
        await asyncio.sleep(0.3)
        posted = await asyncio.to_thread(customer_writes, base)
        return await polled, posted, time.monotonic() - started

    result, posted, took = asyncio.run(poll_while_mail_arrives())
    assert [m.provider_message_id for m in result.batch.messages] == [posted["message_id"]]
    assert took < 5 and json.loads(result.cursor)["last_uid"] == posted["uid"]


def test_the_connector_check_passes_and_a_wrong_password_is_auth_expired(base):
    c = connector(base)
    assert asyncio.run(c.check()).account_id == OURS
    with pytest.raises(ChannelError) as refused:
        asyncio.run(connector(base, imap_password="wrong").poll(None))
    assert refused.value.kind == ErrorKind.AUTH_EXPIRED
    with pytest.raises(ChannelError) as smtp_refused:
        asyncio.run(connector(base, smtp_password="wrong").send(OutboundText(recipient_handle="a@example.com",
                                                                             text="x")))
    assert smtp_refused.value.kind == ErrorKind.AUTH_EXPIRED


# -- the traffic generator writes by email -------------------------------------------------------------------------

def test_email_personas_write_one_mail_per_turn_and_answer_in_the_thread():
    mails: list[tuple[str, str, str, str, str | None]] = []
    others: list[tuple[str, str, str]] = []

    async def send_email(address, name, subject, text, in_reply_to):
        mails.append((address, name, subject, text, in_reply_to))
        return {"message_id": f"<c{len(mails)}@example.com>"}

    async def whatsapp(wa_id, name, text):
        others.append((wa_id, name, text))

    by_email = {p.email_address: p for p in PERSONAS if p.email_address}
    assert len(by_email) >= 3 and {p.language for p in by_email.values()} == {"es", "en"}
    generator = TrafficGenerator(whatsapp, seed=5, initial_conversations=len(PERSONAS), burst_gap=(0, 0),
                                 send_email=send_email, email_thread_rate=1.0, survey_answer_rate=1.0,
                                 survey_delay=(0, 0))
    asyncio.run(generator.initial_burst())
    assert {m[0] for m in mails} == set(by_email)  # one mail each in the burst
    assert not {wa for wa, _, _ in others} & {p.wa_id for p in by_email.values()}
    for address, name, subject, text, in_reply_to in mails:
        persona = by_email[address]
        assert name == persona.name and in_reply_to is None and subject and "\n" not in subject
        assert text.endswith(persona.name.split()[0])

    persona = next(iter(by_email.values()))
    generator.email_received(persona.email_address, "<ours-1@tienda.test>", "Re: Pedido", "Sale hoy.\nSaludos",
                             "Soporte <soporte@tienda.test>")
    asyncio.run(generator.send_turn(persona))
    address, _, subject, text, in_reply_to = mails[-1]
    assert in_reply_to == "<ours-1@tienda.test>" and subject == "Re: Pedido"
    assert "> Sale hoy." in text and "Soporte <soporte@tienda.test>" in text
    # The connector shows only their new words: the quote goes.
    parsed_text = text.split("\n\n" + ("El " if persona.language == "es" else "On "))[0]
    from services.channels.email import trim_quoted
    assert trim_quoted(text) == parsed_text.strip()

    survey = ("¿Cómo valorarías la atención que has recibido? Responde con un número del 1 (muy mal) al 5 "
              "(excelente).")
    assert SURVEY_QUESTION.search(survey)
    generator.email_received(persona.email_address, "<ours-2@tienda.test>", "Re: Pedido", survey)
    answer = asyncio.run(generator.answer_survey(persona.email_address, survey))
    assert answer is not None and mails[-1][4] == "<ours-2@tienda.test>" and mails[-1][3].startswith(answer)


def test_without_the_mail_emulator_email_personas_write_on_whatsapp_as_before():
    calls: list[tuple[str, str, str]] = []

    async def whatsapp(wa_id, name, text):
        calls.append((wa_id, name, text))

    generator = TrafficGenerator(whatsapp, seed=5, initial_conversations=len(PERSONAS), burst_gap=(0, 0))
    asyncio.run(generator.initial_burst())
    assert {wa for wa, _, _ in calls} == {p.wa_id for p in PERSONAS}


def test_a_subject_comes_from_the_first_message():
    assert email_subject("Hola, ¿a qué hora abrís la tienda del centro los sábados?") == \
        "¿A qué hora abrís la tienda del centro los sábados?"
    assert email_subject("Hi, can you tell me where my order #A12345 is?") == \
        "Can you tell me where my order #A12345 is?"
    long = email_subject("Really disappointed, the Montaña 30 L backpack arrived with the box smashed 😡")
    assert len(long) <= 61 and long.endswith("…")


def test_mounted_beside_whatsapp_the_traffic_writes_by_email_and_reads_the_replies(serve, receiver):
    from services.sandbox.whatsapp_api import SandboxConfig, create_app

    app = create_app(SandboxConfig(app_secret="s", access_token="EAAGx", phone_number_id="1",
                                   webhook_url=serve(receiver.app) + receiver.path, traffic=True,
                                   traffic_interval=(3600.0, 3600.0), initial_conversations=0,
                                   survey_answer_rate=1.0, survey_delay=(0.0, 0.0)))
    mail = mail_server.mount(app, MailSandboxConfig(address=OURS, imap_user=OURS, imap_password=IMAP_PASSWORD,
                                                    smtp_user=SMTP_USER, smtp_password=SMTP_PASSWORD))
    base = serve(app)
    generator = app.state.sandbox.traffic
    assert generator is not None and generator.send_email == mail.send_inbound
    persona = next(p for p in PERSONAS if p.email_address)
    posted = customer_writes(base, from_address=persona.email_address, from_name=persona.name)
    c = connector(base)
    asyncio.run(c.poll(None))
    asyncio.run(c.send(OutboundText(recipient_handle=persona.email_address, reply_to_provider_id=posted["message_id"],
                                    text="Rate us: reply with a number from 1 (very poor) to 5 (excellent).")))
    deadline = time.monotonic() + 5
    while state(base)["exists"] < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert state(base)["exists"] == 2  # the customer answered the survey by mail
    [answer] = asyncio.run(c.poll(json.dumps({"uidvalidity": state(base)["uidvalidity"], "last_uid": 1}))
                           ).batch.messages
    assert answer.reply_to_provider_id == sent(base)[-1]["message_id"] and answer.sender_handle == persona.email_address
