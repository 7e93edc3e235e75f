"""Tests for the email connector's live credentials check (`check()`, the admin's "Test connection") against real
servers on loopback: pymap (IMAP) and aiosmtpd (SMTP with AUTH). A good setup names the address and sends nothing;
a refused login says which server refused it; a missing mailbox and unreachable servers map to their kinds; the
passwords never reach an exception or a log line."""

from __future__ import annotations

import asyncio
import logging
import socket
import traceback
import uuid

import pytest

from services.channels.base import AccountCheck, ChannelError, ErrorKind
from services.channels.email import EmailConnector
from tests.integration.email_servers import ImapServer, SmtpServer

OURS = "soporte@tienda.test"
IMAP_PASSWORD = "imap-Pa55-" + uuid.uuid4().hex[:8]
SMTP_USER, SMTP_PASSWORD = "mailer", "smtp-Pa55-" + uuid.uuid4().hex[:8]
WRONG_PASSWORD = "wrong-Pa55-" + uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def imap(tmp_path_factory):
    with ImapServer(user=OURS, password=IMAP_PASSWORD, log_dir=tmp_path_factory.mktemp("pymap")) as server:
        yield server


@pytest.fixture
def smtp():
    with SmtpServer(user=SMTP_USER, password=SMTP_PASSWORD) as server:
        yield server


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again on return: connecting is refused


def connector(imap_port: int, smtp_port: int, **overrides) -> EmailConnector:
    options = dict(address=OURS, imap_host="127.0.0.1", imap_port=imap_port, imap_tls=False, imap_user=OURS,
                   imap_password=IMAP_PASSWORD, smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_tls="none",
                   smtp_user=SMTP_USER, smtp_password=SMTP_PASSWORD, timeout=5.0)
    return EmailConnector(**{**options, **overrides})


def refused(c: EmailConnector) -> ChannelError:
    with pytest.raises(ChannelError) as caught:
        asyncio.run(c.check())
    return caught.value


def assert_no_password(exc: ChannelError, caplog: pytest.LogCaptureFixture) -> None:
    text = " ".join([str(exc), repr(exc), exc.title, exc.details, "".join(traceback.format_exception(exc))])
    for secret in (IMAP_PASSWORD, SMTP_PASSWORD, WRONG_PASSWORD):
        assert secret not in text and secret not in caplog.text
    assert exc.__cause__ is None and exc.__context__ is None


def test_a_good_setup_names_the_address_and_sends_nothing(imap, smtp, caplog):
    with caplog.at_level(logging.DEBUG):
        check = asyncio.run(connector(imap.port, smtp.port).check())
    assert check == AccountCheck(account_id=OURS, name=OURS, token_expires_at=None)
    assert smtp.received == []
    for secret in (IMAP_PASSWORD, SMTP_PASSWORD):
        assert secret not in caplog.text


def test_without_an_smtp_login_only_the_connection_is_tried(imap, smtp):
    check = asyncio.run(connector(imap.port, smtp.port, smtp_user="", smtp_password="").check())
    assert check.account_id == OURS


def test_a_refused_imap_login_says_the_imap_server_refused_it(imap, smtp, caplog):
    with caplog.at_level(logging.DEBUG):
        exc = refused(connector(imap.port, smtp.port, imap_password=WRONG_PASSWORD))
    assert exc.kind == ErrorKind.AUTH_EXPIRED and exc.title == "The IMAP server refused our login"
    assert_no_password(exc, caplog)


def test_a_refused_smtp_login_says_the_smtp_server_refused_it(imap, smtp, caplog):
    with caplog.at_level(logging.DEBUG):
        exc = refused(connector(imap.port, smtp.port, smtp_password=WRONG_PASSWORD))
    assert exc.kind == ErrorKind.AUTH_EXPIRED and exc.title == "The SMTP server refused our login"
    assert exc.code == 535
    assert_no_password(exc, caplog)
    assert smtp.received == []


def test_a_mailbox_that_does_not_exist_is_a_bad_request(imap, smtp, caplog):
    with caplog.at_level(logging.DEBUG):
        exc = refused(connector(imap.port, smtp.port, mailbox="Soporte/NoSuchFolder"))
    assert exc.kind == ErrorKind.BAD_REQUEST and exc.details == "Soporte/NoSuchFolder"
    assert_no_password(exc, caplog)


def test_unreachable_servers_are_retryable(imap, caplog):
    with caplog.at_level(logging.DEBUG):
        no_imap = refused(connector(closed_port(), closed_port()))
        no_smtp = refused(connector(imap.port, closed_port()))
    assert no_imap.kind == ErrorKind.RETRYABLE and "IMAP" in no_imap.title
    assert no_smtp.kind == ErrorKind.RETRYABLE and no_smtp.title == "Could not reach the SMTP server"
    assert_no_password(no_imap, caplog)
    assert_no_password(no_smtp, caplog)


def test_starttls_against_a_server_without_it_is_a_settings_error(imap, smtp, caplog):
    with caplog.at_level(logging.DEBUG):
        exc = refused(connector(imap.port, smtp.port, smtp_tls="starttls"))
    assert exc.kind == ErrorKind.BAD_REQUEST and "STARTTLS" in exc.details
    assert_no_password(exc, caplog)
