"""Tests for the email connector's pure parts: parsing mails (plain, HTML-only, attachments, broken charsets,
missing Message-ID, quoted history), what is skipped, the cursor, composing a threaded reply, the SMTP error
table, and passwords kept out of exceptions and logs when the servers cannot be reached."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.channels.base import ChannelError, ErrorKind, OutboundText
from services.channels.email import (
    EmailConnector,
    _Thread,
    decode_cursor,
    encode_cursor,
    from_env,
    html_to_text,
    parse_mail,
    smtp_error_kind,
    trim_quoted,
)

OURS = "soporte@tienda.test"
PASSWORD = "s3cr3t-Pa55word!"


def mail(body: str = "Hola, mi pedido no llegó.", *, subtype: str = "plain", **headers: str) -> bytes:
    msg = EmailMessage()
    defaults = {"From": "Lucía Fernández <Lucia@Example.COM>", "To": OURS, "Subject": "Pedido 1234",
                "Message-ID": "<abc123@example.com>", "Date": "Tue, 24 Nov 2026 10:00:00 +0100"}
    for name, value in {**defaults, **{k.replace("_", "-"): v for k, v in headers.items()}}.items():
        if value is not None:
            msg[name] = value
    msg.set_content(body, subtype=subtype)
    return msg.as_bytes()


def connector(**kw) -> EmailConnector:
    return EmailConnector(address=OURS, imap_host="127.0.0.1", imap_user=OURS, imap_password=PASSWORD,
                          smtp_host="127.0.0.1", **kw)


def test_a_plain_mail_becomes_an_inbound_message_with_every_field():
    parsed = parse_mail(mail(In_Reply_To="<ours-1@tienda.test>", References="<old@x.test> <ours-1@tienda.test>"),
                        account_id=OURS)
    m = parsed.message
    assert m.channel == "email" and m.account_id == OURS and m.kind == "email"
    assert m.sender_handle == "lucia@example.com"  # lowercased: one identity however the customer types it
    assert m.sender_name == "Lucía Fernández"
    assert m.provider_message_id == "<abc123@example.com>"
    assert m.reply_to_provider_id == "<ours-1@tienda.test>"
    assert m.text == "Pedido 1234\n\nHola, mi pedido no llegó."
    assert m.sent_at == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert parsed.subject == "Pedido 1234"
    assert parsed.references == ("<old@x.test>", "<ours-1@tienda.test>")
    assert parsed.auto is False


def test_a_sender_without_a_name_is_shown_by_address_and_a_bad_date_is_now():
    before = datetime.now(UTC)
    m = parse_mail(mail(From="ANA@example.com", Date="not a date"), account_id=OURS).message
    assert m.sender_name == "ana@example.com" and m.sender_handle == "ana@example.com"
    assert m.sent_at >= before


def test_an_html_only_mail_is_shown_as_text_without_tags_or_scripts():
    html = ("<html><head><style>p{color:red}</style></head><body><p>Hola <b>equipo</b>,</p>"
            "<script>alert('x')</script><p>el paquete llegó roto &amp; abierto.</p><br>"
            "<a href='http://evil.test'>mirad</a></body></html>")
    m = parse_mail(mail(html, subtype="html"), account_id=OURS).message
    assert m.text == "Pedido 1234\n\nHola equipo,\n\nel paquete llegó roto & abierto.\n\nmirad"
    assert "<" not in m.text and "alert" not in m.text and "color" not in m.text


def test_html_to_text_survives_broken_markup():
    assert html_to_text("<p>uno<div>dos</p><<<>>") == "uno\ndos\n<<<>>"
    assert html_to_text("<p>uno<div>dos") == "uno\ndos"


def test_a_multipart_mail_shows_its_plain_part_and_describes_attachments():
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = "ana@example.com", OURS, "Factura", "<m2@example.com>"
    msg.set_content("Os adjunto la factura.")
    msg.add_alternative("<p>Os adjunto <b>la factura</b>.</p>", subtype="html")
    msg.add_attachment(b"%PDF-1.4 ...", maintype="application", subtype="pdf", filename="factura.pdf")
    msg.add_attachment(b"\x89PNG...", maintype="image", subtype="png", filename="foto caja.png")
    m = parse_mail(msg.as_bytes(), account_id=OURS).message
    assert m.text == "Factura\n\nOs adjunto la factura.\n[attachment] factura.pdf\n[attachment] foto caja.png"


def test_a_broken_charset_is_decoded_with_replacements_and_never_crashes():
    raw = (b"From: ana@example.com\r\nTo: soporte@tienda.test\r\nSubject: =?x-unknown?q?Hola?=\r\n"
           b"Message-ID: <cs@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n\r\nCaf\xe9 con le\xffche \xf0\x9f\x93\xa6\r\n")
    m = parse_mail(raw, account_id=OURS).message
    assert "Caf\ufffd con le\ufffdche 📦" in m.text
    unknown = raw.replace(b"charset=utf-8", b"charset=no-such-charset")
    assert "Caf\ufffd con le\ufffdche 📦" in parse_mail(unknown, account_id=OURS).message.text
    latin1 = raw.replace(b"charset=utf-8", b"charset=iso-8859-1").replace(b"\xff", b"")
    assert "Café con leche" in parse_mail(latin1, account_id=OURS).message.text


def test_a_mail_without_message_id_gets_a_stable_made_up_one():
    raw = mail(Message_ID=None)
    first = parse_mail(raw, account_id=OURS).message.provider_message_id
    assert first.startswith("<") and first.endswith("@generated.invalid>")
    assert parse_mail(raw, account_id=OURS).message.provider_message_id == first  # polled again: same id
    other = parse_mail(mail("otra cosa", Message_ID=None), account_id=OURS).message.provider_message_id
    assert other != first


def test_a_mail_without_a_from_address_is_skipped():
    assert parse_mail(mail(From="nobody"), account_id=OURS) is None


@pytest.mark.parametrize("body, shown", [
    (("Sigue sin llegar.\n\nOn Mon, 23 Nov 2026 at 10:00, Soporte <soporte@tienda.test> wrote:\n> ¿Nos das el "
      "número?\n> Gracias"), "Sigue sin llegar."),
    ("Vale, gracias.\n\nEl lun, 23 nov 2026 a las 10:00, Soporte <soporte@tienda.test> escribió:\n> Hola",
     "Vale, gracias."),
    ("Es el 1234.\n\nOn Mon, 23 Nov 2026 at 10:00, Soporte de la tienda\n<soporte@tienda.test> wrote:\n> hola",
     "Es el 1234."),
    ("Es el 1234.\n> Soporte dijo\n> que esperara\n\n", "Es el 1234."),
    ("> como dije\nno llegó\n> ya", "> como dije\nno llegó"),  # only the trailing quote goes
    ("Mira:\n-----Original Message-----\nFrom: x", "Mira:"),
    ("> todo citado\n> nada nuevo", "> todo citado\n> nada nuevo"),  # nothing left: kept whole
])
def test_quoted_history_is_trimmed(body, shown):
    assert trim_quoted(body) == shown


def test_quoted_history_is_trimmed_in_parsed_mails():
    m = parse_mail(mail("Gracias!\n\nEl mar, 24 nov 2026, Soporte escribió:\n> Ya sale"), account_id=OURS).message
    assert m.text == "Pedido 1234\n\nGracias!"


@pytest.mark.parametrize("header, value, auto", [
    ("Auto-Submitted", "auto-replied", True),
    ("Auto-Submitted", "auto-generated", True),
    ("Auto-Submitted", "no", False),
    ("Precedence", "bulk", True),
    ("Precedence", "auto_reply", True),
    ("Precedence", "first-class", False),
])
def test_auto_replies_and_bulk_mail_are_recognised(header, value, auto):
    assert parse_mail(mail(**{header.replace("-", "_"): value}), account_id=OURS).auto is auto


def test_the_connector_skips_auto_replies_and_our_own_mail_with_a_debug_log(caplog):
    c = connector()
    with caplog.at_level(logging.DEBUG, logger="services.channels.email"):
        assert c._parse(mail(Auto_Submitted="auto-replied"), 7) is None
        assert c._parse(mail(From=f"Soporte <{OURS.upper()}>"), 8) is None
        kept = c._parse(mail(), 9)
    assert kept is not None and kept.sender_handle == "lucia@example.com"
    assert "UID 7 is an auto-reply" in caplog.text and "UID 8 is our own" in caplog.text


def test_the_cursor_round_trips_and_bad_cursors_start_over():
    cursor = encode_cursor(3857529045, 4711)
    assert json.loads(cursor) == {"uidvalidity": 3857529045, "last_uid": 4711}
    assert decode_cursor(cursor) == (3857529045, 4711)
    for bad in (None, "", "12", "{}", '{"uidvalidity": "x", "last_uid": 1}', '{"uidvalidity": 1, "last_uid": -1}',
                "not json"):
        assert decode_cursor(bad) is None


def test_a_reply_threads_to_the_customers_mail_with_re_subject_and_references():
    c = connector()
    thread = _Thread("<c2@example.com>", ("<c1@example.com>", "<ours-1@tienda.test>"), "RE: Re: Pedido 1234")
    msg = c.compose(OutboundText(recipient_handle="lucia@example.com", text="Sale hoy. <b>no</b>"), thread)
    assert msg["From"] == OURS and msg["To"] == "lucia@example.com"
    assert msg["Subject"] == "Re: Pedido 1234"
    assert msg["In-Reply-To"] == "<c2@example.com>"
    assert msg["References"] == "<c1@example.com> <ours-1@tienda.test> <c2@example.com>"
    assert msg["Message-ID"].endswith("@tienda.test>")
    assert msg.get_content_type() == "text/plain" and msg.get_content().strip() == "Sale hoy. <b>no</b>"
    other = c.compose(OutboundText(recipient_handle="lucia@example.com", text="x"), thread)
    assert other["Message-ID"] != msg["Message-ID"]
    fresh = c.compose(OutboundText(recipient_handle="new@example.com", text="x"), None)
    assert fresh["In-Reply-To"] is None and fresh["References"] is None


def test_references_are_capped():
    c = connector()
    thread = _Thread("<last@x>", tuple(f"<r{i}@x>" for i in range(50)), "s")
    refs = c.compose(OutboundText(recipient_handle="a@x.test", text="x"), thread)["References"].split()
    assert len(refs) == 20 and refs[-1] == "<last@x>" and refs[0] == "<r31@x>"


@pytest.mark.parametrize("code, kind", [
    (421, ErrorKind.RETRYABLE), (450, ErrorKind.RETRYABLE), (451, ErrorKind.RETRYABLE), (452, ErrorKind.RETRYABLE),
    (535, ErrorKind.AUTH_EXPIRED), (530, ErrorKind.AUTH_EXPIRED),
    (550, ErrorKind.UNDELIVERABLE), (551, ErrorKind.UNDELIVERABLE), (553, ErrorKind.UNDELIVERABLE),
    (552, ErrorKind.BAD_REQUEST), (554, ErrorKind.BAD_REQUEST), (500, ErrorKind.BAD_REQUEST),
    (None, ErrorKind.RETRYABLE),
])
def test_smtp_codes_map_to_our_error_kinds(code, kind):
    assert smtp_error_kind(code) == kind


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again on return: connecting is refused


def test_unreachable_servers_are_retryable_and_the_password_never_shows(caplog):
    port = closed_port()
    c = connector(imap_port=port, imap_tls=False, smtp_port=port, smtp_tls="none", smtp_user=OURS,
                  smtp_password=PASSWORD, timeout=2)
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(ChannelError) as polled:
            asyncio.run(c.poll(None))
        # No mail of the customer's known and the mailbox unreachable: the reply waits (it must go threaded).
        with pytest.raises(ChannelError) as unthreaded:
            asyncio.run(c.send(OutboundText(recipient_handle="lucia@example.com", text="hola")))
        assert "IMAP connection to 127.0.0.1" in caplog.text and "SMTP to" not in caplog.text
        c._parse(mail(), 1)  # her mail was polled: the thread is known, so SMTP is tried
        with pytest.raises(ChannelError) as sent:
            asyncio.run(c.send(OutboundText(recipient_handle="lucia@example.com", text="hola")))
    assert {polled.value.kind, unthreaded.value.kind, sent.value.kind} == {ErrorKind.RETRYABLE}
    for exc in (polled.value, unthreaded.value, sent.value):
        assert PASSWORD not in f"{exc} {exc.title} {exc.details} {exc!r}"
        assert exc.__cause__ is None and exc.__context__ is None
    assert "SMTP to 127.0.0.1" in caplog.text and PASSWORD not in caplog.text
    assert PASSWORD not in repr(c)


def test_bad_recipients_and_templates_are_refused_before_any_connection():
    c = connector(smtp_port=closed_port(), smtp_tls="none", imap_port=closed_port(), imap_tls=False)
    for handle in ("not-an-address", "a@b.test\r\nBcc: x@y.test", "a@b.test, c@d.test"):
        with pytest.raises(ChannelError) as refused:
            asyncio.run(c.send(OutboundText(recipient_handle=handle, text="hola")))
        assert refused.value.kind == ErrorKind.BAD_REQUEST
    with pytest.raises(ChannelError) as empty:
        asyncio.run(c.send(OutboundText(recipient_handle="a@b.test", text="  ")))
    assert empty.value.kind == ErrorKind.BAD_REQUEST


def test_from_env_needs_the_addresses_hosts_and_login():
    env = {"WORKSTATION_EMAIL_ADDRESS": OURS, "WORKSTATION_EMAIL_IMAP_HOST": "imap.tienda.test",
           "WORKSTATION_EMAIL_IMAP_USER": OURS, "WORKSTATION_EMAIL_IMAP_PASSWORD": PASSWORD,
           "WORKSTATION_EMAIL_SMTP_HOST": "smtp.tienda.test"}
    for missing in env:
        assert from_env({k: v for k, v in env.items() if k != missing}, None) is None
    c = from_env(env, None)
    assert c.channel == "email" and c.address == OURS and c.mailbox == "INBOX"
    assert (c.imap_port, c.imap_tls, c.smtp_port, c.smtp_tls, c.smtp_user) == (993, True, 587, "starttls", "")
    c = from_env({**env, "WORKSTATION_EMAIL_IMAP_PORT": "1143", "WORKSTATION_EMAIL_IMAP_TLS": "false",
                  "WORKSTATION_EMAIL_SMTP_PORT": "2525", "WORKSTATION_EMAIL_SMTP_TLS": "none",
                  "WORKSTATION_EMAIL_SMTP_PASSWORD": "x", "WORKSTATION_EMAIL_MAILBOX": "Soporte",
                  "WORKSTATION_EMAIL_POLL_INTERVAL": "0.5"}, None)
    assert (c.imap_port, c.imap_tls, c.smtp_port, c.smtp_tls, c.smtp_user) == (1143, False, 2525, "none", OURS)
    assert c.mailbox == "Soporte" and c.poll_interval == 0.5


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_parsing_arbitrary_bytes_never_crashes(raw):
    parsed = parse_mail(b"From: a@b.test\r\n" + raw, account_id=OURS)
    if parsed is not None:
        m = parsed.message
        assert m.sender_handle and m.provider_message_id.startswith("<")
        assert "\x00" not in m.text and len(m.text) <= 20_000


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=500))
def test_trimming_never_loses_a_non_blank_body(body):
    assert trim_quoted(body) or not body.strip()
