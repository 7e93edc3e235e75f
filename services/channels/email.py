"""Email connector: IMAP in (polled by UIDVALIDITY and last UID), SMTP out with Message-ID, In-Reply-To and
References, and SMTP/IMAP errors mapped onto our error kinds.

Inbound: each poll logs in, selects the mailbox and fetches the messages whose UID is above the cursor's
`last_uid` (BODY.PEEK, so nothing is marked read). The cursor is JSON `{"uidvalidity", "last_uid"}`. When the
server's UIDVALIDITY differs from the cursor's (the mailbox was rebuilt and every UID means something else),
and on the very first poll, only the newest `backlog` messages are fetched: the rest is history nobody is
waiting on, and what was stored before is skipped by ingest, which dedupes on the Message-ID.

Push: when the server offers IDLE (RFC 2177) and nothing new was found, the poll waits in IDLE for up to
`idle_seconds` (default 120, well under the 29 minutes after which servers may drop an idle client); new mail
ends the wait and is fetched at once, and a quiet IDLE simply ends the poll so the next one starts (a new
connection, a new IDLE). Without IDLE (or with `idle_seconds` 0) the poller polls every `poll_interval`
seconds. Stopping the poller shuts an IDLE connection down at once rather than waiting it out.

Outbound: a reply to a customer threads to their newest mail: `outbound.reply_to_provider_id` when the
dispatcher gives it (its Message-ID), else the newest mail this connector has polled from that address, else
the newest mail from that address found in the mailbox (so a restart loses nothing). From that mail come the
"Re:" subject, In-Reply-To and References. SMTP and IMAP passwords never reach a log or an exception.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
import codecs
import email
import email.policy
import hashlib
import imaplib
import itertools
import json
import logging
import re
import smtplib
import socket
import ssl
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from email.utils import format_datetime, getaddresses, make_msgid, parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any, Mapping

from services.channels.base import (
    AccountCheck,
    ChannelError,
    ErrorKind,
    InboundMessage,
    OutboundText,
    SendResult,
    WebhookBatch,
    WebhookError,
)
from services.teamserver.hygiene import clean_text
from services.teamserver.pollers import PollResult

logger = logging.getLogger(__name__)

CHANNEL = "email"
MAX_ID_CHARS = 256
MAX_NAME_CHARS = 256
MAX_TEXT_CHARS = 20_000
MAX_REFERENCES = 20
DEFAULT_BACKLOG = 20
DEFAULT_BATCH = 50
DEFAULT_POLL_INTERVAL = 5.0
DEFAULT_IDLE_SECONDS = 120.0
# Only the first bytes of each mail are fetched: enough for the headers, the text and the attachments' names
# (a 40 MB video attachment is described, never downloaded whole).
MAX_FETCH_BYTES = 2_000_000
# How many customers' newest mails are remembered for threading replies (the mailbox is asked beyond that).
THREAD_CACHE = 2000

_MSGID = re.compile(r"<[^<>\s]+>")
_UID = re.compile(rb"UID (\d+)")
_NEWS = re.compile(rb"\* \d+ (EXISTS|RECENT)\b", re.IGNORECASE)
_IDLE_TAGS = itertools.count(1)
_QUOTE_HEADERS = (
    re.compile(r"^\s*On\b.*\bwrote:\s*$", re.IGNORECASE),
    re.compile(r"^\s*El\b.*\bescribi[óo]:\s*$", re.IGNORECASE),
    re.compile(r"^\s*-{2,}\s*(Original Message|Mensaje original)\s*-{2,}\s*$", re.IGNORECASE),
)
_RE_PREFIX = re.compile(r"^\s*((re|aw|rv|fw|fwd)\s*:\s*)+", re.IGNORECASE)
_BLOCK_TAGS = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote",
                         "ul", "ol", "pre", "hr"})
_SKIP_TAGS = frozenset({"script", "style", "head", "title"})


# -- parsing ----------------------------------------------------------------------------------------------------

class _HtmlText(HTMLParser):
    """Text of an HTML body: tags dropped, entities decoded, scripts and styles skipped; never rendered."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in _SKIP_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - hostile markup: whatever text was gathered is still shown
        logger.debug("HTML body could not be parsed to the end")
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _decode(payload: bytes, charset: str | None) -> str:
    """Bytes in the declared charset; an unknown charset falls back to UTF-8, invalid bytes become U+FFFD."""
    name = (charset or "utf-8").strip().strip('"') or "utf-8"
    try:
        codecs.lookup(name)
    except LookupError:
        logger.debug("unknown charset %r; decoding as UTF-8", name[:40])
        name = "utf-8"
    try:
        return payload.decode(name, errors="replace")
    except Exception:  # noqa: BLE001 - a codec that fails anyway (some refuse errors="replace")
        return payload.decode("utf-8", errors="replace")


def _part_text(part: Message) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - broken transfer encoding
        payload = None
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        payload = raw.encode("utf-8", errors="replace") if isinstance(raw, str) else b""
    try:
        charset = part.get_content_charset()
    except Exception:  # noqa: BLE001
        charset = None
    return _decode(payload, charset)


def _header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001 - a header the policy cannot parse: its raw text is still usable
        value = None
        for key, raw in msg.raw_items():
            if key.lower() == name.lower():
                value = raw
                break
    return " ".join(str(value).split()) if value is not None else ""


def _msgids(value: str) -> list[str]:
    return [m for m in _MSGID.findall(value or "") if len(m) <= MAX_ID_CHARS]


def trim_quoted(body: str) -> str:
    """The customer's new words: drops a quoted history introduced by "On … wrote:" / "El … escribió:" or an
    "Original Message" line, and trailing ">" lines. When nothing would be left, the body is kept whole."""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = len(lines)
    for i, line in enumerate(lines):
        previous = lines[i - 1] if i else ""
        joined = previous + " " + line if i else line
        if any(p.match(line) for p in _QUOTE_HEADERS):
            cut = i
            break
        # Mail clients wrap a long "On <date>, <name> wrote:" over two lines.
        if previous.strip() and any(p.match(joined) for p in _QUOTE_HEADERS[:2]) \
                and not line.lstrip().startswith(">"):
            cut = i - 1
            break
    kept = lines[:cut]
    while kept and (not kept[-1].strip() or kept[-1].lstrip().startswith(">")):
        kept.pop()
    text = "\n".join(kept).strip()
    return text or body.strip()


@dataclass(frozen=True)
class ParsedMail:
    message: InboundMessage
    subject: str
    references: tuple[str, ...]
    auto: bool  # an auto-reply or bulk mail
    from_address: str


def _body_and_attachments(msg: Message) -> tuple[str, list[str]]:
    plain: str | None = None
    html: str | None = None
    attachments: list[str] = []
    parts = msg.walk() if msg.is_multipart() else [msg]
    for part in parts:
        if part.is_multipart():
            continue
        try:
            disposition = (part.get_content_disposition() or "").lower()
            filename = part.get_filename()
        except Exception:  # noqa: BLE001
            disposition, filename = "", None
        ctype = part.get_content_type()
        if disposition == "attachment" or (filename and disposition != "inline") or \
                (not ctype.startswith("text/") and ctype != "message/rfc822"):
            attachments.append(" ".join(str(filename or ctype).split())[:200])
            continue
        if ctype == "text/plain" and plain is None:
            plain = _part_text(part)
        elif ctype == "text/html" and html is None:
            html = _part_text(part)
    if plain is not None and plain.strip():
        body = plain
    elif html is not None:
        body = html_to_text(html)
    else:
        body = plain or ""
    return body, attachments


def parse_mail(raw: bytes, *, account_id: str) -> ParsedMail | None:
    """One mail as we show it, or None when it has no usable sender (logged why)."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    from_value = _header(msg, "From")
    try:
        name, address = next(((n, a) for n, a in getaddresses([from_value]) if "@" in a), ("", ""))
    except Exception:  # noqa: BLE001
        name, address = "", ""
    address = address.strip().lower()
    if not address or len(address) > MAX_ID_CHARS:
        logger.warning("skipping a mail without a usable From address")
        return None
    ids = _msgids(_header(msg, "Message-ID"))
    # Without a Message-ID, one made from the mail's bytes: the same mail polled again gets the same one.
    message_id = ids[0] if ids else f"<{hashlib.sha256(raw).hexdigest()[:40]}@generated.invalid>"
    in_reply_to = _msgids(_header(msg, "In-Reply-To"))
    references = tuple(_msgids(_header(msg, "References")))
    reply_to = in_reply_to[0] if in_reply_to else (references[-1] if references else None)
    subject = _header(msg, "Subject")
    try:
        sent_at = parsedate_to_datetime(_header(msg, "Date"))
        if sent_at.tzinfo is None:
            sent_at = sent_at.replace(tzinfo=UTC)
    except (TypeError, ValueError, IndexError):
        sent_at = datetime.now(UTC)
    body, attachments = _body_and_attachments(msg)
    body = trim_quoted(body)
    shown = "\n\n".join(p for p in (subject, body) if p)
    if attachments:
        shown = "\n".join([shown] + [f"[attachment] {a}" for a in attachments]).strip()
    auto_submitted = _header(msg, "Auto-Submitted").lower()
    precedence = _header(msg, "Precedence").lower()
    auto = (bool(auto_submitted) and auto_submitted != "no") or precedence in ("bulk", "auto_reply", "junk", "list")
    message = InboundMessage(
        channel=CHANNEL,
        account_id=clean_text(account_id),
        provider_message_id=clean_text(message_id),
        sender_handle=clean_text(address),
        sender_name=clean_text((" ".join(name.split()) or address)[:MAX_NAME_CHARS]),
        kind="email",
        text=clean_text(shown[:MAX_TEXT_CHARS]),
        sent_at=sent_at,
        reply_to_provider_id=clean_text(reply_to) if reply_to else None,
    )
    return ParsedMail(message=message, subject=clean_text(subject), references=references, auto=auto,
                      from_address=address)


# -- cursor -----------------------------------------------------------------------------------------------------

def encode_cursor(uidvalidity: int, last_uid: int) -> str:
    return json.dumps({"uidvalidity": uidvalidity, "last_uid": last_uid}, separators=(",", ":"))


def decode_cursor(cursor: str | None) -> tuple[int, int] | None:
    """(uidvalidity, last_uid), or None for no cursor or one we cannot read (then we start from the newest)."""
    if not cursor:
        return None
    try:
        data = json.loads(cursor)
        validity, last = data["uidvalidity"], data["last_uid"]
    except (ValueError, TypeError, KeyError):
        logger.warning("unreadable email cursor; starting from the newest messages")
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (validity, last)):
        return None
    return validity, last


# -- errors -----------------------------------------------------------------------------------------------------

def smtp_error_kind(code: int | None) -> ErrorKind:
    if code is None:
        return ErrorKind.RETRYABLE
    if code in (530, 534, 535):
        return ErrorKind.AUTH_EXPIRED
    if code in (550, 551, 553):
        return ErrorKind.UNDELIVERABLE
    if 400 <= code < 500:
        return ErrorKind.RETRYABLE
    if 500 <= code < 600:
        return ErrorKind.BAD_REQUEST
    return ErrorKind.UNKNOWN


_SMTP_TITLES = {
    ErrorKind.AUTH_EXPIRED: "The mail server refused our login",
    ErrorKind.UNDELIVERABLE: "The customer's mailbox does not exist",
    ErrorKind.RETRYABLE: "The mail server is not accepting mail right now",
    ErrorKind.BAD_REQUEST: "The mail server refused the message",
    ErrorKind.UNKNOWN: "The mail server answered something unexpected",
}


def _server_text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return " ".join(str(value).split())[:300]


# -- the connector ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Thread:
    message_id: str
    references: tuple[str, ...]
    subject: str


class EmailConnector:
    """One support mailbox: polls it over IMAP, answers over SMTP."""

    channel = CHANNEL

    def __init__(
        self,
        *,
        address: str,
        imap_host: str,
        imap_user: str,
        imap_password: str,
        smtp_host: str,
        imap_port: int | None = None,
        imap_tls: bool = True,
        smtp_port: int | None = None,
        smtp_user: str = "",
        smtp_password: str = "",
        smtp_tls: str = "starttls",  # "ssl", "starttls" or "none"
        mailbox: str = "INBOX",
        timeout: float = 20.0,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        idle_seconds: float = DEFAULT_IDLE_SECONDS,
        backlog: int = DEFAULT_BACKLOG,
        batch: int = DEFAULT_BATCH,
    ) -> None:
        if "@" not in address:
            raise ValueError("our email address is needed")
        self.address = address.strip().lower()
        self.domain = self.address.rpartition("@")[2]
        self.imap_host, self.imap_tls = imap_host, imap_tls
        self.imap_port = imap_port or (993 if imap_tls else 143)
        self.imap_user = imap_user
        self._imap_password = imap_password
        self.smtp_host = smtp_host
        self.smtp_tls = smtp_tls if smtp_tls in ("ssl", "starttls", "none") else "starttls"
        self.smtp_port = smtp_port or {"ssl": 465, "starttls": 587, "none": 25}[self.smtp_tls]
        self.smtp_user = smtp_user
        self._smtp_password = smtp_password
        self.mailbox = mailbox
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.idle_seconds = max(0.0, idle_seconds)
        self._idling: imaplib.IMAP4 | None = None
        self.backlog = max(1, backlog)
        self.batch = max(1, batch)
        self._threads: OrderedDict[str, _Thread] = OrderedDict()
        self._by_id: OrderedDict[str, _Thread] = OrderedDict()
        # Polling waits in IDLE for up to idle_seconds: on a thread of its own, not one of the event loop's
        # shared pool (6 threads on 2 cores), which every request's database work needs.
        self._poll_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imap-poll")

    def __repr__(self) -> str:
        return f"EmailConnector(address={self.address!r}, imap={self.imap_host}:{self.imap_port}, " \
               f"smtp={self.smtp_host}:{self.smtp_port})"

    @property
    def account_id(self) -> str:
        return self.address

    # Email has no webhooks: mail comes in over IMAP.
    def verify_signature(self, raw_body: bytes, headers: Mapping[str, str]) -> bool:
        return False

    def parse_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> WebhookBatch:
        raise WebhookError(404, "email has no webhooks")

    # -- inbound --------------------------------------------------------------------------------------------

    async def poll(self, cursor: str | None) -> PollResult:
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._poll_thread, self._poll_sync, cursor)
        except asyncio.CancelledError:
            # The thread cannot be cancelled: ending its IDLE connection ends it.
            self._interrupt()
            raise

    def _interrupt(self) -> None:
        conn = self._idling
        if conn is not None:
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                logger.debug("IDLE connection was already closed")

    def _redact(self, text: str) -> str:
        for secret in (self._imap_password, self._smtp_password):
            if secret and secret in text:
                text = text.replace(secret, "[REDACTED]")
        return text

    def _imap(self) -> imaplib.IMAP4:
        failure: ChannelError | None = None
        try:
            if self.imap_tls:
                conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(self.imap_host, self.imap_port, timeout=self.timeout,
                                                       ssl_context=ssl.create_default_context())
            else:
                conn = imaplib.IMAP4(self.imap_host, self.imap_port, timeout=self.timeout)
        except (OSError, imaplib.IMAP4.error) as exc:
            logger.warning("IMAP connection to %s:%s failed (%s)", self.imap_host, self.imap_port,
                           type(exc).__name__)
            failure = ChannelError(ErrorKind.RETRYABLE, "Could not reach the IMAP server")
        if failure is not None:
            raise failure
        try:
            conn.login(self.imap_user, self._imap_password)
        except imaplib.IMAP4.error:
            # The server's answer is dropped on purpose: some echo the login line.
            logger.warning("IMAP login as %s refused", self.imap_user)
            failure = ChannelError(ErrorKind.AUTH_EXPIRED, "The IMAP server refused our login")
        except OSError as exc:
            logger.warning("IMAP login to %s failed (%s)", self.imap_host, type(exc).__name__)
            failure = ChannelError(ErrorKind.RETRYABLE, "Connection to the IMAP server failed")
        if failure is not None:
            _close(conn)
            raise failure
        return conn

    def _poll_sync(self, cursor: str | None) -> PollResult:
        conn = self._imap()
        failure: ChannelError | None = None
        try:
            return self._poll_mailbox(conn, cursor)
        except (OSError, imaplib.IMAP4.abort) as exc:
            logger.warning("IMAP poll of %s failed (%s)", self.mailbox, type(exc).__name__)
            failure = ChannelError(ErrorKind.RETRYABLE, "Connection to the IMAP server failed")
        except imaplib.IMAP4.error as exc:
            logger.warning("IMAP refused a command: %s", self._redact(_server_text(exc)))
            failure = ChannelError(ErrorKind.UNKNOWN, "The IMAP server refused a command")
        finally:
            _close(conn)
        raise failure

    def _select(self, conn: imaplib.IMAP4) -> int:
        typ, _ = conn.select(_quote(self.mailbox), readonly=True)
        if typ != "OK":
            raise imaplib.IMAP4.error(f"cannot select {self.mailbox[:80]}")
        _, data = conn.response("UIDVALIDITY")
        try:
            return int(data[0])
        except (TypeError, ValueError, IndexError):
            return 0

    def _poll_mailbox(self, conn: imaplib.IMAP4, cursor: str | None) -> PollResult:
        validity = self._select(conn)
        known = decode_cursor(cursor)
        if known is not None and known[0] == validity:
            last_uid = known[1]
            uids = [u for u in _uids(conn, f"UID {last_uid + 1}:*") if u > last_uid]
            if not uids and self.idle_seconds > 0 and _offers_idle(conn):
                if not self._idle(conn):
                    # A quiet IDLE: poll again at once (a new connection, a new IDLE).
                    return PollResult(WebhookBatch(), cursor=encode_cursor(validity, last_uid), wait=0.0)
                uids = [u for u in _uids(conn, f"UID {last_uid + 1}:*") if u > last_uid]
        else:
            if known is not None:
                logger.warning("mailbox %s: UIDVALIDITY changed (%s → %s); fetching only the newest %s",
                               self.mailbox, known[0], validity, self.backlog)
            last_uid = 0
            uids = _uids(conn, "ALL")[-self.backlog:]
        uids.sort()
        more = len(uids) > self.batch
        uids = uids[: self.batch]
        batch = WebhookBatch()
        for uid, raw in self._fetch(conn, uids):
            last_uid = max(last_uid, uid)
            parsed = self._parse(raw, uid)
            if parsed is not None:
                batch.messages.append(parsed)
        if uids:
            last_uid = max(last_uid, uids[-1])
        return PollResult(batch, cursor=encode_cursor(validity, last_uid), wait=0.0 if more else self.poll_interval)

    def _idle(self, conn: imaplib.IMAP4) -> bool:
        """Waits in IDLE until the server tells of new mail (True) or `idle_seconds` pass (False; the
        connection is then unusable and is closed). imaplib has no IDLE before Python 3.14: the few lines of
        RFC 2177 are spoken here with imaplib's own send and readline."""
        tag = b"WSIDLE%d" % next(_IDLE_TAGS)
        deadline = time.monotonic() + self.idle_seconds
        self._idling = conn
        try:
            conn.send(tag + b" IDLE\r\n")
            if not conn.readline().startswith(b"+"):
                raise imaplib.IMAP4.error("IDLE refused")
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    conn.shutdown()
                    return False
                conn.sock.settimeout(remaining)
                try:
                    line = conn.readline()
                except TimeoutError:
                    conn.shutdown()
                    return False
                if not line or line.upper().startswith(b"* BYE"):
                    raise imaplib.IMAP4.abort("the IMAP server ended the IDLE connection")
                if _NEWS.match(line):
                    break
            conn.sock.settimeout(self.timeout)
            conn.send(b"DONE\r\n")
            while True:
                line = conn.readline()
                if not line:
                    raise imaplib.IMAP4.abort("the IMAP server ended the IDLE connection")
                if line.startswith(tag + b" "):
                    if not line[len(tag) + 1:].upper().startswith(b"OK"):
                        raise imaplib.IMAP4.error("IDLE ended with an error")
                    return True
        finally:
            self._idling = None

    def _fetch(self, conn: imaplib.IMAP4, uids: list[int]) -> list[tuple[int, bytes]]:
        if not uids:
            return []
        typ, data = conn.uid("FETCH", ",".join(map(str, uids)), f"(UID BODY.PEEK[]<0.{MAX_FETCH_BYTES}>)")
        if typ != "OK":
            raise imaplib.IMAP4.error("FETCH refused")
        found = []
        for item in data or []:
            if isinstance(item, tuple) and len(item) >= 2:
                match = _UID.search(item[0])
                if match and isinstance(item[1], bytes):
                    found.append((int(match.group(1)), item[1]))
        return sorted(found)

    def _parse(self, raw: bytes, uid: int) -> InboundMessage | None:
        try:
            parsed = parse_mail(raw, account_id=self.address)
        except Exception:  # one unreadable mail must not stop the mailbox
            logger.exception("mail UID %s could not be parsed; skipped", uid)
            return None
        if parsed is None:
            return None
        if parsed.from_address == self.address:
            logger.debug("mail UID %s is our own; skipped", uid)
            return None
        if parsed.auto:
            logger.debug("mail UID %s is an auto-reply or bulk mail; skipped", uid)
            return None
        self._remember(parsed.from_address, _Thread(parsed.message.provider_message_id, parsed.references,
                                                    parsed.subject))
        return parsed.message

    def _remember(self, address: str, thread: _Thread) -> None:
        for cache, key in ((self._threads, address), (self._by_id, thread.message_id)):
            cache[key] = thread
            cache.move_to_end(key)
            while len(cache) > THREAD_CACHE:
                cache.popitem(last=False)

    # -- outbound -------------------------------------------------------------------------------------------

    def _thread_from_mailbox(self, address: str, message_id: str | None) -> _Thread | None:
        """The customer's mail to answer, looked up in the mailbox (after a restart, or an old thread). A
        mailbox we cannot reach raises (the reply waits and goes out threaded); one that has no such mail
        answers None (the reply starts a new thread)."""
        conn = self._imap()
        try:
            self._select(conn)
            if message_id:
                uids = _uids(conn, f"HEADER Message-ID {_quote(message_id)}")
            else:
                uids = _uids(conn, f"FROM {_quote(address)}")
            for uid, raw in reversed(self._fetch(conn, sorted(uids)[-5:])):
                parsed = parse_mail(raw, account_id=self.address)
                if parsed and (parsed.message.provider_message_id == message_id
                               or (not message_id and parsed.from_address == address)):
                    return _Thread(parsed.message.provider_message_id, parsed.references, parsed.subject)
        except (OSError, imaplib.IMAP4.abort) as exc:
            logger.warning("looking up the thread in the mailbox failed (%s)", type(exc).__name__)
            failure = ChannelError(ErrorKind.RETRYABLE, "Connection to the IMAP server failed")
        except Exception as exc:  # noqa: BLE001 - a refused search or an odd mail: answer unthreaded
            logger.warning("looking up the thread in the mailbox failed (%s)", type(exc).__name__)
            return None
        else:
            return None
        finally:
            _close(conn)
        raise failure

    async def _thread_for(self, address: str, message_id: str | None) -> _Thread | None:
        thread = self._by_id.get(message_id) if message_id else self._threads.get(address)
        if thread is not None:
            return thread
        thread = await asyncio.to_thread(self._thread_from_mailbox, address, message_id)
        if thread is not None:
            self._remember(address, thread)
        return thread

    def compose(self, outbound: OutboundText, thread: _Thread | None) -> EmailMessage:
        msg = EmailMessage(policy=email.policy.SMTP)
        msg["From"] = self.address
        msg["To"] = outbound.recipient_handle
        subject = _RE_PREFIX.sub("", thread.subject) if thread else ""
        msg["Subject"] = f"Re: {subject}" if thread else (subject or "Re:")
        msg["Date"] = format_datetime(datetime.now(UTC))
        msg["Message-ID"] = make_msgid(domain=self.domain)
        if thread is not None:
            msg["In-Reply-To"] = thread.message_id
            references = [r for r in thread.references if r != thread.message_id][-(MAX_REFERENCES - 1):]
            msg["References"] = " ".join(references + [thread.message_id])
        msg.set_content(outbound.text)
        return msg

    async def send(self, outbound: OutboundText) -> SendResult:
        if outbound.template is not None:
            raise ChannelError(ErrorKind.BAD_REQUEST, "Email has no message templates")
        if not outbound.text.strip():
            raise ChannelError(ErrorKind.BAD_REQUEST, "Empty message")
        to = (outbound.recipient_handle or "").strip().lower()
        if "@" not in to or any(c in to for c in "\r\n<>, ") or len(to) > MAX_ID_CHARS:
            raise ChannelError(ErrorKind.BAD_REQUEST, "Not an email address", details=to[:80])
        thread = await self._thread_for(to, outbound.reply_to_provider_id)
        if thread is None:
            logger.info("reply to %s starts a new thread (no mail of theirs found)", to)
        try:
            msg = self.compose(OutboundText(recipient_handle=to, text=outbound.text), thread)
        except (ValueError, TypeError) as exc:
            logger.warning("reply to %s could not be composed (%s)", to, type(exc).__name__)
            raise ChannelError(ErrorKind.BAD_REQUEST, "The reply could not be written as a mail") from None
        await asyncio.to_thread(self._smtp_send, msg, to)
        return SendResult(provider_message_id=str(msg["Message-ID"]), recipient_handle=to)

    def _smtp_open(self) -> smtplib.SMTP:
        """A connection to the SMTP server, secured as configured (SSL or STARTTLS) and logged in when a user
        is set; smtplib's and the socket's errors propagate as they come (the caller maps them)."""
        if self.smtp_tls == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.smtp_host, self.smtp_port, timeout=self.timeout,
                                                 context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=self.timeout)
        try:
            if self.smtp_tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if self.smtp_user:
                smtp.login(self.smtp_user, self._smtp_password)
        except BaseException:
            _smtp_quit(smtp)
            raise
        return smtp

    def _smtp_send(self, msg: EmailMessage, to: str) -> None:
        failure: ChannelError | None = None
        try:
            smtp = self._smtp_open()
            try:
                smtp.send_message(msg, from_addr=self.address, to_addrs=[to])
            finally:
                _smtp_quit(smtp)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()), (None, b""))
            failure = self._smtp_failure(code, text)
        except smtplib.SMTPResponseException as exc:
            failure = self._smtp_failure(exc.smtp_code, exc.smtp_error)
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError) as exc:
            # OSError covers refused connections, timeouts and TLS failures.
            logger.warning("SMTP to %s:%s failed (%s)", self.smtp_host, self.smtp_port, type(exc).__name__)
            failure = ChannelError(ErrorKind.RETRYABLE, "Could not reach the mail server")
        except smtplib.SMTPException as exc:
            logger.warning("SMTP send failed (%s)", type(exc).__name__)
            failure = ChannelError(ErrorKind.UNKNOWN, "The mail server answered something unexpected")
        if failure is not None:
            raise failure

    def _smtp_failure(self, code: int | None, text: Any) -> ChannelError:
        kind = smtp_error_kind(code)
        details = self._redact(_server_text(text))
        logger.warning("SMTP refused the reply: code=%s kind=%s", code, kind)
        return ChannelError(kind, _SMTP_TITLES[kind], code=code, details=details)

    # -- the credentials check ------------------------------------------------------------------------------

    async def check(self) -> AccountCheck:
        """A live credentials check ("Test connection"): IMAP connect, login and EXAMINE of the mailbox, then
        SMTP connect (SSL or STARTTLS as configured) and login when a user is set, then quit; nothing is sent
        nor marked read. A refused login is AUTH_EXPIRED, titled with the server that refused it; an unreachable
        server RETRYABLE; a missing mailbox BAD_REQUEST."""
        await asyncio.to_thread(self._check_imap)
        await asyncio.to_thread(self._check_smtp)
        return AccountCheck(account_id=self.address, name=self.address)

    def _check_imap(self) -> None:
        conn = self._imap()  # its refusals already say "The IMAP server refused our login" / "Could not reach"
        failure: ChannelError | None = None
        try:
            self._select(conn)
        except (OSError, imaplib.IMAP4.abort) as exc:
            logger.warning("IMAP check of %s failed (%s)", self.mailbox, type(exc).__name__)
            failure = ChannelError(ErrorKind.RETRYABLE, "Connection to the IMAP server failed")
        except imaplib.IMAP4.error as exc:
            logger.warning("IMAP check: mailbox %s refused: %s", self.mailbox[:80], self._redact(_server_text(exc)))
            failure = ChannelError(ErrorKind.BAD_REQUEST, "The IMAP server has no such mailbox",
                                   details=self.mailbox[:80])
        finally:
            _close(conn)
        if failure is not None:
            raise failure

    def _check_smtp(self) -> None:
        failure: ChannelError | None = None
        try:
            _smtp_quit(self._smtp_open())
        except smtplib.SMTPAuthenticationError as exc:
            logger.warning("SMTP login as %s refused: code=%s", self.smtp_user, exc.smtp_code)
            failure = ChannelError(ErrorKind.AUTH_EXPIRED, "The SMTP server refused our login", code=exc.smtp_code,
                                   details=self._redact(_server_text(exc.smtp_error)))
        except smtplib.SMTPResponseException as exc:
            kind = smtp_error_kind(exc.smtp_code)
            kind = ErrorKind.PERMISSION if kind in (ErrorKind.BAD_REQUEST, ErrorKind.UNDELIVERABLE) else kind
            logger.warning("SMTP check refused: code=%s kind=%s", exc.smtp_code, kind)
            failure = ChannelError(kind, "The SMTP server refused the connection", code=exc.smtp_code,
                                   details=self._redact(_server_text(exc.smtp_error)))
        except smtplib.SMTPNotSupportedError as exc:
            # No STARTTLS or no AUTH offered: the settings do not match the server.
            logger.warning("SMTP check: %s", _server_text(exc))
            failure = ChannelError(ErrorKind.BAD_REQUEST, "The SMTP server does not offer what the settings ask",
                                   details=_server_text(exc)[:200])
        except smtplib.SMTPServerDisconnected:
            logger.warning("SMTP check: %s:%s hung up", self.smtp_host, self.smtp_port)
            failure = ChannelError(ErrorKind.RETRYABLE, "Could not reach the SMTP server")
        except smtplib.SMTPException as exc:  # before OSError, of which it is a subclass
            logger.warning("SMTP check failed (%s)", type(exc).__name__)
            failure = ChannelError(ErrorKind.UNKNOWN, "The SMTP server answered something unexpected")
        except OSError as exc:
            # Refused connections, timeouts and TLS failures.
            logger.warning("SMTP check of %s:%s failed (%s)", self.smtp_host, self.smtp_port, type(exc).__name__)
            failure = ChannelError(ErrorKind.RETRYABLE, "Could not reach the SMTP server")
        if failure is not None:
            raise failure

    async def aclose(self) -> None:
        self._interrupt()
        self._poll_thread.shutdown(wait=False)


def _smtp_quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _uids(conn: imaplib.IMAP4, criteria: str) -> list[int]:
    typ, data = conn.uid("SEARCH", None, criteria)
    if typ != "OK":
        raise imaplib.IMAP4.error("SEARCH refused")
    return [int(u) for chunk in data or [] if chunk for u in chunk.split() if u.isdigit()]


def _offers_idle(conn: imaplib.IMAP4) -> bool:
    # Asked after login: servers (pymap, Dovecot) list IDLE only to a logged-in client.
    typ, data = conn.capability()
    return typ == "OK" and any(b"IDLE" in (chunk or b"").upper().split() for chunk in data or [])


def _close(conn: imaplib.IMAP4) -> None:
    try:
        conn.logout()
    except Exception:  # noqa: BLE001 - closing a broken connection
        try:
            conn.shutdown()
        except Exception:  # noqa: BLE001 - already gone
            logger.debug("IMAP connection was already closed")


def _flag(value: str | None, default: bool) -> bool:
    if value is None or not value.strip():
        return default
    return value.strip().lower() in ("1", "true", "yes", "on", "ssl", "tls", "starttls")


def from_env(env: Mapping[str, str], client: Any = None) -> EmailConnector | None:
    """The connector when WORKSTATION_EMAIL_ADDRESS, _IMAP_HOST, _IMAP_USER, _IMAP_PASSWORD and _SMTP_HOST are
    set, else None. WORKSTATION_EMAIL_SMTP_TLS is "ssl", "starttls" (default) or "none"; _IMAP_TLS is true
    (default, port 993) or false (port 143). The SMTP login defaults to the IMAP one. _POLL_INTERVAL (seconds,
    default 5) paces polling without IDLE; _IDLE_SECONDS (default 120; 0: never IDLE) bounds one IDLE wait."""
    def get(name: str, default: str = "") -> str:
        return (env.get(f"WORKSTATION_EMAIL_{name}") or default).strip()

    address, imap_host, smtp_host = get("ADDRESS"), get("IMAP_HOST"), get("SMTP_HOST")
    imap_user, imap_password = get("IMAP_USER"), env.get("WORKSTATION_EMAIL_IMAP_PASSWORD", "")
    if not (address and imap_host and smtp_host and imap_user and imap_password):
        return None
    smtp_tls = get("SMTP_TLS", "starttls").lower()
    if smtp_tls in ("0", "false", "no", "off"):
        smtp_tls = "none"
    elif smtp_tls in ("1", "true", "yes", "on", "tls"):
        smtp_tls = "ssl"

    def number(name: str, default: float | None) -> float | None:
        try:
            return float(get(name)) if get(name) else default
        except ValueError:
            logger.warning("WORKSTATION_EMAIL_%s is not a number; using the default", name)
            return default

    imap_port, smtp_port = number("IMAP_PORT", None), number("SMTP_PORT", None)
    return EmailConnector(
        address=address,
        imap_host=imap_host,
        imap_port=int(imap_port) if imap_port else None,
        imap_tls=_flag(env.get("WORKSTATION_EMAIL_IMAP_TLS"), True),
        imap_user=imap_user,
        imap_password=imap_password,
        smtp_host=smtp_host,
        smtp_port=int(smtp_port) if smtp_port else None,
        smtp_tls=smtp_tls,
        smtp_user=get("SMTP_USER", imap_user if env.get("WORKSTATION_EMAIL_SMTP_PASSWORD") else ""),
        smtp_password=env.get("WORKSTATION_EMAIL_SMTP_PASSWORD", ""),
        mailbox=get("MAILBOX", "INBOX"),
        poll_interval=number("POLL_INTERVAL", DEFAULT_POLL_INTERVAL) or DEFAULT_POLL_INTERVAL,
        idle_seconds=number("IDLE_SECONDS", DEFAULT_IDLE_SECONDS) or 0.0,
    )
