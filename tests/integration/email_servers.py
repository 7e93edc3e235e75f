"""Real mail servers on loopback for the email tests: aiosmtpd (SMTP, in a thread) and pymap's in-memory
dict backend (IMAP, a child process)."""

from __future__ import annotations

import email
import email.policy
import imaplib
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)


@dataclass
class SmtpRecorder:
    """aiosmtpd handler: keeps every mail; `refuse_rcpt` / `refuse_data` answer those lines instead."""

    received: list[Received] = field(default_factory=list)
    refuse_rcpt: dict[str, str] = field(default_factory=dict)
    refuse_data: str | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse_rcpt:
            return self.refuse_rcpt[address.lower()]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_data:
            return self.refuse_data
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on 127.0.0.1; with `user`/`password` it checks AUTH (over plain text: loopback only)."""

    def __init__(self, *, user: str | None = None, password: str | None = None) -> None:
        self.handler = SmtpRecorder()
        self.port = free_port()
        kwargs = {}
        if user is not None:
            def authenticator(server, session, envelope, mechanism, auth_data):
                ok = auth_data.login.decode() == user and auth_data.password.decode() == password
                return AuthResult(success=ok, handled=False)

            # Offered, not required: aiosmtpd warns about requiring AUTH without TLS (fine on loopback).
            kwargs = {"authenticator": authenticator, "auth_require_tls": False}
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **kwargs)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    @property
    def received(self) -> list[Received]:
        return self.handler.received


class ImapServer:
    """pymap (dict backend) as a child process; one user, the support mailbox. Each start is a new mailbox
    with a new UIDVALIDITY."""

    def __init__(self, *, user: str, password: str, log_dir: Path) -> None:
        self.user, self.password = user, password
        self.port = free_port()
        self.log_path = log_dir / f"pymap-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> ImapServer:
        args = [sys.executable, "-c", "import sys; from pymap.main import main; sys.argv[0] = 'pymap'; main()",
                "--host", "127.0.0.1", "--port", str(self.port), "--no-tls",
                "dict", "--demo-user", self.user, "--demo-password", self.password]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"pymap did not start: {self.log_path.read_text()[-2000:]}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        """A fresh mailbox on the same port (what a rebuilt mailbox looks like: a new UIDVALIDITY)."""
        self.stop()
        self.start()

    def __enter__(self) -> ImapServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def append(self, raw: bytes, mailbox: str = "INBOX") -> int:
        """Delivers a mail into the mailbox; returns its UID."""
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            conn.login(self.user, self.password)
            typ, data = conn.append(mailbox, None, None, raw)
            assert typ == "OK", data
            return int(data[0].split(b"]")[0].split()[-1])  # [APPENDUID <validity> <uid>]
        finally:
            conn.logout()

    def flags(self, uid: int, mailbox: str = "INBOX") -> bytes:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            conn.login(self.user, self.password)
            conn.select(mailbox, readonly=True)
            typ, data = conn.uid("FETCH", str(uid), "(FLAGS)")
            assert typ == "OK", data
            return b" ".join(d for d in data if isinstance(d, bytes))
        finally:
            conn.logout()

    def uidvalidity(self, mailbox: str = "INBOX") -> int:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            conn.login(self.user, self.password)
            conn.select(mailbox, readonly=True)
            return int(conn.response("UIDVALIDITY")[1][0])
        finally:
            conn.logout()
