"""The email provider emulator: a small IMAP4rev1 server (RFC 3501, with IDLE, RFC 2177) holding the brand's
support mailbox, and a small SMTP submission server (RFC 5321, AUTH PLAIN/LOGIN per RFC 4954) that records what
the team server sends; both stdlib-only asyncio on loopback, plain text (no TLS), for the demo and the tests.

One mailbox, INBOX, with a fixed UIDVALIDITY for the life of the emulator. Customer mail is appended through the
control route POST /_sandbox/email/inbound (a proper RFC 5322 message: Message-ID, Date, From, To, Subject, and
In-Reply-To/References when it answers a thread); sessions in IDLE are told at once (`* n EXISTS`), selected
sessions on their next command. Mail the SMTP server accepts is kept and listed at GET /_sandbox/email/sent.

What the IMAP server speaks: CAPABILITY, NOOP, LOGOUT; LOGIN and AUTHENTICATE PLAIN (wrong credentials: NO
[AUTHENTICATIONFAILED]); SELECT/EXAMINE (FLAGS, PERMANENTFLAGS, EXISTS, RECENT, UNSEEN, UIDVALIDITY, UIDNEXT,
READ-WRITE/READ-ONLY); LIST, LSUB, STATUS, APPEND (to INBOX); SEARCH and UID SEARCH (sequence and UID sets, ALL,
FROM/TO/CC/SUBJECT/BODY/TEXT, HEADER, flag keys, LARGER/SMALLER, SINCE/BEFORE/ON, NOT, OR, parentheses); FETCH and
UID FETCH (UID, FLAGS, INTERNALDATE, RFC822.SIZE, RFC822, RFC822.HEADER, RFC822.TEXT, the FAST macro, BODY[] and
BODY.PEEK[] with "", HEADER, TEXT and HEADER.FIELDS (.NOT) sections and <origin.count> partials); STORE and UID STORE
(FLAGS, +FLAGS, -FLAGS, .SILENT) in a read-write session; CHECK, CLOSE, UNSELECT; IDLE/DONE; synchronizing literals.
Not modelled: TLS/STARTTLS (so no LOGINDISABLED), SASL mechanisms but PLAIN, other mailboxes (CREATE, RENAME...),
EXPUNGE (mail is never removed), ENVELOPE and BODYSTRUCTURE, MIME part sections, COPY/MOVE, keywords.

The SMTP server speaks EHLO/HELO (SIZE, 8BITMIME, SMTPUTF8, PIPELINING, AUTH PLAIN LOGIN), AUTH (required before
MAIL when it has credentials: 530; wrong ones: 535), MAIL FROM (SIZE, BODY, SMTPUTF8), RCPT TO (550 for addresses
rejected through POST /_sandbox/email/reject), DATA with the dot-stuffing undone, RSET, NOOP, VRFY, HELP, QUIT.
Not modelled: STARTTLS, relaying or delivery anywhere, DSN, CHUNKING/BDAT, adding a Received: header.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email
import email.header
import email.policy
import itertools
import logging
import re
import secrets
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parsedate_to_datetime
from typing import Any, AsyncIterator, Awaitable, Callable

from fastapi import APIRouter, FastAPI, HTTPException
from pydantic import BaseModel, Field

logger = logging.getLogger(__name__)

SYSTEM_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")
MAX_LINE = 64 * 1024
MAX_LITERAL = 25 * 1024 * 1024
MAX_MESSAGE_BYTES = 25 * 1024 * 1024
AUTOLOGOUT_SECONDS = 30 * 60  # RFC 3501 5.4: at least 30 minutes
SMTP_IDLE_SECONDS = 5 * 60  # RFC 5321 4.5.3.2.7: a server SHOULD wait at least 5 minutes for a command
_ADDRESS = re.compile(r"^[^@\s<>(),;:\"\[\]\\]+@[^@\s<>(),;:\"\[\]\\]+\.[^@\s<>(),;:\"\[\]\\]+$")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class ImapError(Exception):
    """A command's tagged NO or BAD."""

    def __init__(self, status: str, text: str) -> None:
        super().__init__(text)
        self.status, self.text = status, text


def bad(text: str) -> ImapError:
    return ImapError("BAD", text)


def no(text: str) -> ImapError:
    return ImapError("NO", text)


# -- the mailbox ----------------------------------------------------------------------------------------------------

@dataclass
class StoredMail:
    uid: int
    raw: bytes
    internal_date: datetime
    flags: set[str] = field(default_factory=set)
    recent: bool = True  # until a read-write session has seen it
    _parsed: email.message.Message | None = field(default=None, repr=False)

    @property
    def message(self) -> email.message.Message:
        if self._parsed is None:
            self._parsed = email.message_from_bytes(self.raw, policy=email.policy.compat32)
        return self._parsed

    def header_text(self, name: str) -> str:
        values = self.message.get_all(name) or []
        out = []
        for value in values:
            try:
                out.append(str(email.header.make_header(email.header.decode_header(str(value)))))
            except Exception:  # noqa: BLE001 - a broken encoded word: the raw text still matches
                out.append(str(value))
        return " ".join(out)

    def body_text(self) -> str:
        parts = self.message.walk() if self.message.is_multipart() else [self.message]
        texts = []
        for part in parts:
            if part.is_multipart() or part.get_content_maintype() != "text":
                continue
            payload = part.get_payload(decode=True) or b""
            texts.append(payload.decode(part.get_content_charset() or "utf-8", errors="replace"))
        return "\n".join(texts)

    def header_bytes(self) -> bytes:
        end = self.raw.find(b"\r\n\r\n")
        if end < 0:
            end = self.raw.find(b"\n\n")
            return self.raw if end < 0 else self.raw[:end + 2]
        return self.raw[:end + 4]

    def text_bytes(self) -> bytes:
        return self.raw[len(self.header_bytes()):]


class Mailbox:
    """INBOX: mail in UID order (never expunged), a fixed UIDVALIDITY, and sessions to tell of new mail."""

    name = "INBOX"

    def __init__(self, uidvalidity: int) -> None:
        self.uidvalidity = uidvalidity
        self.uidnext = 1
        self.mails: list[StoredMail] = []
        self._listeners: set[asyncio.Event] = set()

    def append(self, raw: bytes, *, flags: set[str] | None = None, internal_date: datetime | None = None) -> int:
        mail = StoredMail(uid=self.uidnext, raw=_crlf(raw), internal_date=internal_date or datetime.now(UTC),
                          flags=set(flags or ()))
        self.uidnext += 1
        self.mails.append(mail)
        for event in self._listeners:
            event.set()
        return mail.uid

    def listen(self) -> asyncio.Event:
        event = asyncio.Event()
        self._listeners.add(event)
        return event

    def forget(self, event: asyncio.Event) -> None:
        self._listeners.discard(event)

    def unseen(self) -> int:
        return sum("\\Seen" not in m.flags for m in self.mails)

    def recent(self) -> int:
        return sum(m.recent for m in self.mails)


def _crlf(raw: bytes) -> bytes:
    """Line ends as CRLF, as IMAP serves a message (RFC 3501 2.3.4)."""
    return re.sub(rb"\r?\n", b"\r\n", raw)


# -- IMAP command parsing ------------------------------------------------------------------------------------------

class Literal(bytes):
    """A string that came as a literal ({n}): never an atom."""


def tokenize(pieces: list[bytes | Literal]) -> list[Any]:
    """A command's arguments as atoms (str), strings (bytes) and parenthesized lists; `pieces` alternates line text
    and the literals that followed `{n}`. Atoms keep their [...] sections whole (BODY[HEADER.FIELDS (A B)]<0.9>)."""
    stack: list[list[Any]] = [[]]
    for piece in pieces:
        if isinstance(piece, Literal):
            stack[-1].append(bytes(piece))
            continue
        text, i, n = piece, 0, len(piece)
        while i < n:
            c = text[i:i + 1]
            if c == b" ":
                i += 1
            elif c == b"(":
                stack.append([])
                i += 1
            elif c == b")":
                if len(stack) == 1:
                    raise bad("unbalanced parenthesis")
                done = stack.pop()
                stack[-1].append(done)
                i += 1
            elif c == b'"':
                i += 1
                out = bytearray()
                while True:
                    if i >= n:
                        raise bad("unterminated quoted string")
                    ch = text[i:i + 1]
                    if ch == b"\\" and i + 1 < n:
                        out += text[i + 1:i + 2]
                        i += 2
                    elif ch == b'"':
                        i += 1
                        break
                    else:
                        out += ch
                        i += 1
                stack[-1].append(bytes(out))
            else:
                start, depth = i, 0
                while i < n:
                    ch = text[i:i + 1]
                    if ch == b"[":
                        depth += 1
                    elif ch == b"]":
                        depth -= 1
                    elif depth <= 0 and ch in (b" ", b"(", b")"):
                        break
                    i += 1
                atom = text[start:i].decode("utf-8", errors="replace")
                if re.fullmatch(r"\{\d+\+?\}", atom):
                    continue  # the literal that follows stands for it
                stack[-1].append(atom)
    if len(stack) != 1:
        raise bad("unbalanced parenthesis")
    return stack[0]


def astring(token: Any) -> str:
    if isinstance(token, bytes):
        return token.decode("utf-8", errors="replace")
    if isinstance(token, str):
        return token
    raise bad("a string was expected")


def parse_set(text: str, largest: int) -> set[int] | None:
    """An IMAP sequence set (1:3,5,7:*) over numbers up to `largest` ("*" is `largest`); None when malformed.
    A range is symmetric (5:* with a largest of 3 is 3:5, RFC 3501 6.4.8)."""
    out: set[int] = set()
    for part in text.split(","):
        bounds = part.split(":")
        if len(bounds) not in (1, 2):
            return None
        values = []
        for bound in bounds:
            if bound == "*":
                if largest == 0:
                    values.append(0)
                    continue
                values.append(largest)
            elif bound.isdigit() and int(bound) > 0:
                values.append(int(bound))
            else:
                return None
        if 0 in values:
            continue  # "*" of an empty mailbox names nothing
        low, high = min(values), max(values)
        out.update(range(low, min(high, max(largest, low)) + 1) if high - low < 10_000_000 else ())
    return out


def imap_date(value: datetime) -> str:
    value = value.astimezone(UTC)
    return f'"{value.day:2d}-{_MONTHS[value.month - 1]}-{value.year:04d} {value:%H:%M:%S} +0000"'


def search_date(text: str) -> date:
    try:
        day, month, year = text.split("-")
        return datetime(int(year), _MONTHS.index(month.capitalize()) + 1, int(day)).date()
    except (ValueError, IndexError):
        raise bad("bad date in SEARCH") from None


def literal(data: bytes) -> bytes:
    return b"{%d}\r\n" % len(data) + data


# -- the IMAP server -----------------------------------------------------------------------------------------------

class ImapSession:
    """One client connection, in the states of RFC 3501 3: not authenticated, authenticated, selected, logout."""

    def __init__(self, server: "ImapServer", reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.server, self.reader, self.writer = server, reader, writer
        self.mailbox = server.mailbox
        self.user: str | None = None
        self.selected = False
        self.readonly = True
        self.known = 0  # how many messages this session has been told exist
        self.changed: asyncio.Event | None = None
        self.closing = False

    async def write(self, *lines: bytes) -> None:
        self.writer.write(b"".join(line if line.endswith(b"\r\n") else line + b"\r\n" for line in lines))
        await self.writer.drain()

    async def run(self) -> None:
        try:
            await self.write(b"* OK [CAPABILITY " + self.capabilities() + b"] Workstation sandbox IMAP4rev1 ready")
            while not self.closing:
                try:
                    command = await asyncio.wait_for(self.read_command(), AUTOLOGOUT_SECONDS)
                except TimeoutError:
                    await self.write(b"* BYE Autologout; idle for too long")
                    break
                if command is None:
                    break
                tag, pieces = command
                await self.dispatch(tag, pieces)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass  # gone, or a line beyond any limit (asyncio's ValueError): the connection ends
        finally:
            if self.changed is not None:
                self.mailbox.forget(self.changed)
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    async def read_line(self) -> bytes | None:
        line = await self.reader.readline()
        if not line:
            return None
        if len(line) > MAX_LINE:
            raise ConnectionError("line too long")
        return line.rstrip(b"\r\n")

    async def read_command(self) -> tuple[bytes, list[bytes | Literal]] | None:
        """A tag and the command's pieces (line text and literals), answering `+` to each synchronizing literal."""
        pieces: list[bytes | Literal] = []
        while True:
            line = await self.read_line()
            if line is None:
                return None
            match = re.search(rb"\{(\d+)(\+?)\}$", line)
            pieces.append(line)
            if not match:
                break
            size = int(match.group(1))
            if size > MAX_LITERAL:
                await self.write(b"* BAD literal too large")
                raise ConnectionError("literal too large")
            if not match.group(2):
                await self.write(b"+ Ready for literal data")
            pieces.append(Literal(await self.reader.readexactly(size)))
        first = pieces[0]
        tag, _, rest = first.partition(b" ")
        pieces[0] = rest
        return tag, pieces

    def capabilities(self) -> bytes:
        return b"IMAP4rev1 IDLE" if self.user else b"IMAP4rev1 AUTH=PLAIN"

    async def dispatch(self, tag: bytes, pieces: list[bytes | Literal]) -> None:
        if not tag or not re.fullmatch(rb"[\x21-\x7e]+", tag) or tag[:1] in b"*+":
            await self.write(b"* BAD missing or invalid tag")
            return
        name, _, rest = pieces[0].partition(b" ")
        command = name.decode("ascii", errors="replace").upper()
        uid = False
        if command == "UID":
            uid = True
            name, _, rest = rest.partition(b" ")
            command = name.decode("ascii", errors="replace").upper()
            if command not in ("FETCH", "SEARCH", "STORE"):
                await self.write(tag + b" BAD UID takes FETCH, SEARCH or STORE")
                return
        try:
            args = tokenize([rest, *pieces[1:]])
            handler = self.handler(command)
            if command != "IDLE":
                await self.flush_updates()  # mail that arrived since: visible to this command
            completion = await handler(tag, args, uid) if command != "IDLE" else await self.idle(tag, args)
            if completion is None:
                return
            await self.flush_updates()
            await self.write(tag + b" OK " + completion)
        except ImapError as exc:
            await self.flush_updates()
            await self.write(tag + b" " + exc.status.encode() + b" " + exc.text.encode())
        except (ConnectionError, asyncio.IncompleteReadError):
            raise
        except Exception:  # noqa: BLE001 - a bug here must not end the session silently
            logger.exception("IMAP command %s failed in the sandbox", command[:20])
            await self.write(tag + b" BAD internal error in the sandbox")

    def handler(self, command: str) -> Callable[..., Awaitable[bytes | None]]:
        anywhere = {"CAPABILITY": self.cmd_capability, "NOOP": self.cmd_noop, "LOGOUT": self.cmd_logout}
        unauthenticated = {"LOGIN": self.cmd_login, "AUTHENTICATE": self.cmd_authenticate,
                           "STARTTLS": self.cmd_starttls}
        authenticated = {"SELECT": self.cmd_select, "EXAMINE": self.cmd_examine, "LIST": self.cmd_list,
                         "LSUB": self.cmd_list, "STATUS": self.cmd_status, "APPEND": self.cmd_append,
                         "CREATE": self.cmd_refused, "DELETE": self.cmd_refused, "RENAME": self.cmd_refused,
                         "SUBSCRIBE": self.cmd_noop, "UNSUBSCRIBE": self.cmd_noop, "IDLE": self.cmd_noop}
        selected = {"FETCH": self.cmd_fetch, "SEARCH": self.cmd_search, "STORE": self.cmd_store,
                    "CHECK": self.cmd_noop, "CLOSE": self.cmd_close, "UNSELECT": self.cmd_close,
                    "EXPUNGE": self.cmd_expunge, "COPY": self.cmd_refused}
        if command in anywhere:
            return anywhere[command]
        if command in unauthenticated:
            if self.user:
                raise bad("already authenticated")
            return unauthenticated[command]
        if command in authenticated or command in selected:
            if not self.user:
                raise bad("log in first")
            if command in selected and not self.selected:
                raise bad("no mailbox selected")
            return authenticated.get(command) or selected[command]
        raise bad("unknown command")

    async def flush_updates(self) -> None:
        """Untagged EXISTS/RECENT for mail that arrived since this session last heard (RFC 3501 7.3.1)."""
        if not self.selected or len(self.mailbox.mails) == self.known:
            return
        self.known = len(self.mailbox.mails)
        if not self.readonly:
            for mail in self.mailbox.mails:
                mail.recent = False
        await self.write(b"* %d EXISTS" % self.known, b"* %d RECENT" % self.mailbox.recent())

    # any state

    async def cmd_capability(self, tag: bytes, args: list[Any], uid: bool) -> bytes:
        if args:
            raise bad("CAPABILITY takes no arguments")
        await self.write(b"* CAPABILITY " + self.capabilities())
        return b"CAPABILITY completed"

    async def cmd_noop(self, tag: bytes, args: list[Any], uid: bool) -> bytes:
        return b"completed"

    async def cmd_logout(self, tag: bytes, args: list[Any], uid: bool) -> None:
        await self.write(b"* BYE Workstation sandbox logging out", tag + b" OK LOGOUT completed")
        self.closing = True
        return None

    # not authenticated

    async def cmd_login(self, tag: bytes, args: list[Any], uid: bool) -> bytes:
        if len(args) != 2:
            raise bad("LOGIN takes a user name and a password")
        return self.log_in(astring(args[0]), astring(args[1]))

    async def cmd_authenticate(self, tag: bytes, args: list[Any], uid: bool) -> bytes:
        """AUTHENTICATE PLAIN (RFC 3501 6.2.2, RFC 4616): an empty challenge, one base64 answer, or "*" to cancel."""
        if len(args) != 1 or not isinstance(args[0], str):
            raise bad("AUTHENTICATE takes one mechanism")
        if args[0].upper() != "PLAIN":
            raise no("[CANNOT] Unsupported authentication mechanism")
        await self.write(b"+ ")
        answer = await self.read_line()
        if answer is None:
            raise ConnectionError("client went away during AUTHENTICATE")
        if answer.strip() == b"*":
            raise bad("AUTHENTICATE cancelled")
        try:
            parts = base64.b64decode(answer.strip(), validate=True).split(b"\0")
        except (binascii.Error, ValueError):
            raise bad("invalid base64 in AUTHENTICATE") from None
        if len(parts) != 3:
            raise bad("malformed PLAIN response")
        return self.log_in(parts[1].decode("utf-8", "replace"), parts[2].decode("utf-8", "replace"),
                           authzid=parts[0].decode("utf-8", "replace"))

    def log_in(self, user: str, password: str, *, authzid: str = "") -> bytes:
        config = self.server.config
        if not (secrets.compare_digest(user.encode(), config.imap_user.encode())
                and secrets.compare_digest(password.encode(), config.imap_password.encode())
                and authzid in ("", user)):
            logger.info("IMAP login refused")  # never the user's input: it may be a password typed in the wrong box
            raise no("[AUTHENTICATIONFAILED] Authentication failed")
        self.user = user
        return b"[CAPABILITY " + self.capabilities() + b"] Logged in"

    async def cmd_starttls(self, tag: bytes, args: list[Any], uid: bool) -> bytes:
        raise bad("STARTTLS is not offered by the sandbox (plain loopback only)")

    # authenticated

    def check_mailbox(self, token: Any) -> None:
        if astring(token).upper() != "INBOX":
            raise no("[NONEXISTENT] Mailbox doesn't exist")

    async def cmd_select(self, tag: bytes, args: list[Any], uid: bool) -> bytes:
        return await self.select(args, readonly=False)

    async def cmd_examine(self, tag: bytes, args: list[Any], uid: bool) -> bytes:
        return await self.select(args, readonly=True)

    async def cmd_list(self, tag: bytes, args: list[Any], uid: bool) -> bytes:
        if len(args) != 2:
            raise bad("LIST takes a reference and a mailbox pattern")
        pattern = astring(args[1])
        if pattern == "":
            await self.write(b'* LIST (\\Noselect) "/" ""')
        elif re.fullmatch(re.escape(pattern).replace(r"\*", ".*").replace("%", "[^/]*"), "INBOX", re.IGNORECASE):
            await self.write(b'* LIST (\\HasNoChildren) "/" INBOX')
        return b"LIST completed"

    async def cmd_status(self, tag: bytes, args: list[Any], uid: bool) -> bytes:
        if len(args) != 2 or not isinstance(args[1], list):
            raise bad("STATUS takes a mailbox and a list of items")
        self.check_mailbox(args[0])
        values = {"MESSAGES": len(self.mailbox.mails), "RECENT": self.mailbox.recent(),
                  "UIDNEXT": self.mailbox.uidnext, "UIDVALIDITY": self.mailbox.uidvalidity,
                  "UNSEEN": self.mailbox.unseen()}
        items = []
        for item in args[1]:
            name = astring(item).upper()
            if name not in values:
                raise bad(f"unknown STATUS item {name[:40]}")
            items.append(f"{name} {values[name]}")
        await self.write(b"* STATUS INBOX (" + " ".join(items).encode() + b")")
        return b"STATUS completed"

    async def cmd_append(self, tag: bytes, args: list[Any], uid: bool) -> bytes:
        if len(args) < 2 or not isinstance(args[-1], bytes):
            raise bad("APPEND takes a mailbox, optional flags and date, and a literal")
        self.check_mailbox(args[0])
        flags: set[str] = set()
        when = None
        for extra in args[1:-1]:
            if isinstance(extra, list):
                flags = self.parse_flags(extra)
            elif isinstance(extra, bytes):
                try:
                    when = datetime.strptime(extra.decode(), "%d-%b-%Y %H:%M:%S %z")
                except ValueError:
                    raise bad("bad APPEND date") from None
        if len(args[-1]) > MAX_MESSAGE_BYTES:
            raise no("[TOOBIG] message too large")
        new_uid = self.mailbox.append(args[-1], flags=flags, internal_date=when)
        return b"[APPENDUID %d %d] APPEND completed" % (self.mailbox.uidvalidity, new_uid)

    async def cmd_refused(self, tag: bytes, args: list[Any], uid: bool) -> bytes:
        raise no("[CANNOT] The sandbox has one mailbox, INBOX")

    # selected

    async def cmd_close(self, tag: bytes, args: list[Any], uid: bool) -> bytes:
        # Nothing is expunged: the sandbox never removes mail.
        self.selected = False
        if self.changed is not None:
            self.mailbox.forget(self.changed)
            self.changed = None
        return b"completed"

    async def cmd_expunge(self, tag: bytes, args: list[Any], uid: bool) -> bytes:
        if self.readonly:
            raise no("[READ-ONLY] Mailbox is read-only")
        raise no("[CANNOT] The sandbox never removes mail")

    def numbers(self, text: Any, uid: bool) -> list[StoredMail]:
        """The mails a sequence set (or a UID set) names, in mailbox order."""
        if not isinstance(text, str):
            raise bad("a sequence set was expected")
        mails = self.mailbox.mails[: self.known] if not uid else self.mailbox.mails
        largest = (mails[-1].uid if mails else 0) if uid else len(mails)
        wanted = parse_set(text, largest)
        if wanted is None:
            raise bad("invalid sequence set")
        if uid:
            return [m for m in mails if m.uid in wanted]
        if any(n > len(mails) for n in wanted):
            raise bad("no such message")
        return [mails[n - 1] for n in sorted(wanted)]

    def seq(self, mail: StoredMail) -> int:
        return self.mailbox.mails.index(mail) + 1

    async def cmd_search(self, tag: bytes, args: list[Any], uid: bool) -> bytes:
        if len(args) >= 2 and isinstance(args[0], str) and args[0].upper() == "CHARSET":
            if astring(args[1]).upper() not in ("UTF-8", "US-ASCII"):
                raise no("[BADCHARSET (UTF-8 US-ASCII)] unsupported charset")
            args = args[2:]
        if not args:
            raise bad("SEARCH needs criteria")
        visible = self.mailbox.mails[: self.known]
        keys = list(args)
        tests = []
        while keys:
            tests.append(self.search_key(keys, uid))
        found = [m for m in visible if all(t(m) for t in tests)]
        numbers = [m.uid if uid else self.seq(m) for m in found]
        await self.write(b"* SEARCH" + b"".join(b" %d" % n for n in numbers))
        return b"SEARCH completed"

    def search_key(self, keys: list[Any], uid: bool) -> Callable[[StoredMail], bool]:
        key = keys.pop(0)
        if isinstance(key, list):
            inner = list(key)
            tests = []
            while inner:
                tests.append(self.search_key(inner, uid))
            return lambda m: all(t(m) for t in tests)
        if not isinstance(key, str):
            raise bad("a search key was expected")
        name = key.upper()

        def arg() -> Any:
            if not keys:
                raise bad(f"{name} needs an argument")
            return keys.pop(0)

        flag_keys = {"ANSWERED": "\\Answered", "DELETED": "\\Deleted", "DRAFT": "\\Draft", "FLAGGED": "\\Flagged",
                     "SEEN": "\\Seen"}
        if name == "ALL":
            return lambda m: True
        if name in flag_keys:
            return lambda m, f=flag_keys[name]: f in m.flags
        if name.startswith("UN") and name[2:] in flag_keys:
            return lambda m, f=flag_keys[name[2:]]: f not in m.flags
        if name == "RECENT":
            return lambda m: m.recent
        if name == "OLD":
            return lambda m: not m.recent
        if name == "NEW":
            return lambda m: m.recent and "\\Seen" not in m.flags
        if name in ("FROM", "TO", "CC", "BCC", "SUBJECT"):
            needle = astring(arg()).lower()
            return lambda m, h=name: needle in m.header_text(h).lower()
        if name == "HEADER":
            header, needle = astring(arg()), astring(arg()).lower()
            return lambda m: m.message.get(header) is not None and needle in m.header_text(header).lower()
        if name == "BODY":
            needle = astring(arg()).lower()
            return lambda m: needle in m.body_text().lower()
        if name == "TEXT":
            needle = astring(arg()).lower()
            return lambda m: needle in m.raw.decode("utf-8", "replace").lower() or needle in m.body_text().lower()
        if name in ("LARGER", "SMALLER"):
            size = astring(arg())
            if not size.isdigit():
                raise bad(f"{name} takes a number")
            return (lambda m: len(m.raw) > int(size)) if name == "LARGER" else (lambda m: len(m.raw) < int(size))
        if name in ("SINCE", "BEFORE", "ON", "SENTSINCE", "SENTBEFORE", "SENTON"):
            day = search_date(astring(arg()))

            def date_of(m: StoredMail, sent: bool = name.startswith("SENT")) -> date:
                if sent:
                    try:
                        return parsedate_to_datetime(m.message.get("Date", "")).date()
                    except (TypeError, ValueError, IndexError):
                        return m.internal_date.date()
                return m.internal_date.date()

            compare = name.removeprefix("SENT")
            return {"SINCE": lambda m: date_of(m) >= day, "BEFORE": lambda m: date_of(m) < day,
                    "ON": lambda m: date_of(m) == day}[compare]
        if name == "NOT":
            inner = self.search_key(keys, uid)
            return lambda m: not inner(m)
        if name == "OR":
            left = self.search_key(keys, uid)
            right = self.search_key(keys, uid)
            return lambda m: left(m) or right(m)
        if name == "UID":
            chosen = {m.uid for m in self.numbers(arg(), uid=True)}
            return lambda m: m.uid in chosen
        if re.fullmatch(r"[\d:*,]+", key):
            chosen_seq = {id(m) for m in self.numbers(key, uid=False)}
            return lambda m: id(m) in chosen_seq
        raise bad(f"unknown search key {name[:40]}")

    async def cmd_fetch(self, tag: bytes, args: list[Any], uid: bool) -> bytes:
        if len(args) != 2:
            raise bad("FETCH takes a sequence set and items")
        mails = self.numbers(args[0], uid)
        items = args[1] if isinstance(args[1], list) else [args[1]]
        macros = {"FAST": ["FLAGS", "INTERNALDATE", "RFC822.SIZE"]}
        wanted: list[str] = []
        for item in items:
            if not isinstance(item, str):
                raise bad("a fetch item was expected")
            wanted += macros.get(item.upper(), [item])
        parsed = [self.fetch_item(item) for item in wanted]
        if uid and not any(p[0] == "UID" for p in parsed):
            parsed.insert(0, ("UID", None, None, False))
        parsed.sort(key=lambda p: p[0] != "UID")  # the UID first, then as asked
        for mail in mails:
            parts: list[bytes] = []
            seen_before = "\\Seen" in mail.flags
            for kind, section, partial, peek in parsed:
                parts.append(self.fetch_value(mail, kind, section, partial, peek))
            if not seen_before and "\\Seen" in mail.flags and not any(p[0] == "FLAGS" for p in parsed):
                parts.append(self.fetch_value(mail, "FLAGS", None, None, True))
            await self.write(b"* %d FETCH (" % self.seq(mail) + b" ".join(parts) + b")")
        return b"FETCH completed"

    def fetch_item(self, item: str) -> tuple[str, str | None, tuple[int, int] | None, bool]:
        upper = item.upper()
        if upper in ("UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "RFC822", "RFC822.HEADER", "RFC822.TEXT"):
            return upper, None, None, upper == "RFC822.HEADER"
        match = re.fullmatch(r"(BODY|BODY\.PEEK)\[([^\]]*)\](?:<(\d+)\.(\d+)>)?", item, re.IGNORECASE)
        if not match:
            raise bad(f"fetch item not supported by the sandbox: {item[:60]}")
        section = match.group(2).upper()
        if not (section in ("", "HEADER", "TEXT") or re.fullmatch(r"HEADER\.FIELDS(\.NOT)? \(.*\)", section)):
            raise bad(f"section not supported by the sandbox: {section[:60]}")
        partial = (int(match.group(3)), int(match.group(4))) if match.group(3) else None
        if partial is not None and partial[1] == 0:
            raise bad("a partial of zero octets")
        return "BODY", match.group(2), partial, match.group(1).upper() == "BODY.PEEK"

    def fetch_value(self, mail: StoredMail, kind: str, section: str | None, partial: tuple[int, int] | None,
                    peek: bool) -> bytes:
        if kind == "UID":
            return b"UID %d" % mail.uid
        if kind == "FLAGS":
            return b"FLAGS (" + " ".join(sorted(mail.flags) + (["\\Recent"] if mail.recent else [])).encode() + b")"
        if kind == "INTERNALDATE":
            return b"INTERNALDATE " + imap_date(mail.internal_date).encode()
        if kind == "RFC822.SIZE":
            return b"RFC822.SIZE %d" % len(mail.raw)
        if kind in ("RFC822", "RFC822.HEADER", "RFC822.TEXT"):
            data = {"RFC822": mail.raw, "RFC822.HEADER": mail.header_bytes(), "RFC822.TEXT": mail.text_bytes()}[kind]
            if kind != "RFC822.HEADER":
                self.mark_seen(mail)
            return kind.encode() + b" " + literal(data)
        assert section is not None
        upper = section.upper()
        if upper == "":
            data = mail.raw
        elif upper == "HEADER":
            data = mail.header_bytes()
        elif upper == "TEXT":
            data = mail.text_bytes()
        else:
            names = {n.lower() for n in re.findall(r"[^\s()]+", upper.split(" ", 1)[1])}
            keep_listed = not upper.startswith("HEADER.FIELDS.NOT")
            lines = re.split(rb"\r\n(?![ \t])", mail.header_bytes().rstrip(b"\r\n"))
            chosen = [ln for ln in lines if ln and
                      ((ln.split(b":", 1)[0].strip().decode("ascii", "replace").lower() in names) == keep_listed)]
            data = b"".join(ln + b"\r\n" for ln in chosen) + b"\r\n"
        if not peek:
            self.mark_seen(mail)
        name = b"BODY[" + section.encode() + b"]"
        if partial is not None:
            origin, count = partial
            data = data[origin:origin + count]
            name += b"<%d>" % origin
        return name + b" " + literal(data)

    def mark_seen(self, mail: StoredMail) -> None:
        if not self.readonly:
            mail.flags.add("\\Seen")

    def parse_flags(self, tokens: list[Any]) -> set[str]:
        flags = set()
        for token in tokens:
            value = astring(token)
            match = next((f for f in SYSTEM_FLAGS if f.lower() == value.lower()), None)
            if match is None:
                raise bad(f"flag not supported by the sandbox: {value[:40]}")
            flags.add(match)
        return flags

    async def cmd_store(self, tag: bytes, args: list[Any], uid: bool) -> bytes:
        if len(args) != 3:
            raise bad("STORE takes a sequence set, an item and flags")
        if self.readonly:
            raise no("[READ-ONLY] Mailbox is read-only")
        mails = self.numbers(args[0], uid)
        item = astring(args[1]).upper()
        match = re.fullmatch(r"([+-]?)FLAGS(\.SILENT)?", item)
        if not match:
            raise bad("STORE takes FLAGS, +FLAGS or -FLAGS")
        flags = self.parse_flags(args[2] if isinstance(args[2], list) else [args[2]])
        for mail in mails:
            if match.group(1) == "+":
                mail.flags |= flags
            elif match.group(1) == "-":
                mail.flags -= flags
            else:
                mail.flags = set(flags)
            if not match.group(2):
                values = [self.fetch_value(mail, "FLAGS", None, None, True)]
                if uid:
                    values.insert(0, b"UID %d" % mail.uid)
                await self.write(b"* %d FETCH (" % self.seq(mail) + b" ".join(values) + b")")
        return b"STORE completed"

    async def select(self, args: list[Any], *, readonly: bool) -> bytes:
        if len(args) != 1:
            raise bad("SELECT takes one mailbox")
        self.selected = False  # a failed SELECT leaves no mailbox selected
        if self.changed is not None:
            self.mailbox.forget(self.changed)
            self.changed = None
        self.check_mailbox(args[0])
        box = self.mailbox
        self.readonly = readonly
        self.known = len(box.mails)
        recent = box.recent()
        if not readonly:
            for mail in box.mails:
                mail.recent = False
        first_unseen = next((i + 1 for i, m in enumerate(box.mails) if "\\Seen" not in m.flags), None)
        lines = [b"* FLAGS (" + " ".join(SYSTEM_FLAGS).encode() + b")",
                 b"* OK [PERMANENTFLAGS (" + (b"" if readonly else " ".join(SYSTEM_FLAGS).encode()) + b")] Flags",
                 b"* %d EXISTS" % self.known, b"* %d RECENT" % recent]
        if first_unseen is not None:
            lines.append(b"* OK [UNSEEN %d] First unseen" % first_unseen)
        lines += [b"* OK [UIDVALIDITY %d] UIDs valid" % box.uidvalidity, b"* OK [UIDNEXT %d] Predicted next UID" %
                  box.uidnext]
        await self.write(*lines)
        self.selected = True
        self.changed = box.listen()
        self.changed.clear()
        return b"[READ-ONLY] EXAMINE completed" if readonly else b"[READ-WRITE] SELECT completed"

    async def idle(self, tag: bytes, args: list[Any]) -> bytes | None:
        """RFC 2177: `+ idling`, untagged EXISTS/RECENT as mail arrives, until the client's DONE."""
        if not self.user:
            raise bad("log in first")
        if args:
            raise bad("IDLE takes no arguments")
        await self.write(b"+ idling")
        await self.flush_updates()
        line_task = asyncio.ensure_future(self.read_line())
        try:
            while True:
                waits: set[asyncio.Future[Any]] = {line_task}
                change_task = None
                if self.changed is not None:
                    self.changed.clear()
                    await self.flush_updates()
                    change_task = asyncio.ensure_future(self.changed.wait())
                    waits.add(change_task)
                done, _ = await asyncio.wait(waits, timeout=AUTOLOGOUT_SECONDS, return_when=asyncio.FIRST_COMPLETED)
                if change_task is not None and not change_task.done():
                    change_task.cancel()
                if not done:
                    await self.write(b"* BYE Autologout; idle for too long")
                    self.closing = True
                    return None
                if line_task in done:
                    line = line_task.result()
                    if line is None:
                        self.closing = True
                        return None
                    if line.strip().upper() != b"DONE":
                        raise bad("expected DONE")
                    return b"IDLE terminated"
        finally:
            if not line_task.done():
                line_task.cancel()



class _LineServer:
    """A loopback TCP server whose connections each run one session; stopping ends them all."""

    port = 0

    def __init__(self, config: "MailSandboxConfig") -> None:
        self.config = config
        self.server: asyncio.base_events.Server | None = None
        self.sessions: set[asyncio.Task[Any]] = set()

    def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        raise NotImplementedError

    async def start(self) -> int:
        self.server = await asyncio.start_server(self.accept, self.config.host, self.port, limit=MAX_LINE + 2)
        return self.server.sockets[0].getsockname()[1]

    async def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.sessions.add(task)
        try:
            await self.session(reader, writer).run()
        finally:
            if task is not None:
                self.sessions.discard(task)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            for task in list(self.sessions):
                task.cancel()
            await asyncio.gather(*self.sessions, return_exceptions=True)
            self.server = None


class ImapServer(_LineServer):
    def __init__(self, config: "MailSandboxConfig", mailbox: Mailbox) -> None:
        super().__init__(config)
        self.mailbox = mailbox
        self.port = config.imap_port

    def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> "ImapSession":
        return ImapSession(self, reader, writer)


# -- the SMTP server -----------------------------------------------------------------------------------------------

@dataclass
class Envelope:
    mail_from: str | None = None
    rcpt_to: list[str] = field(default_factory=list)
    params: list[str] = field(default_factory=list)


class SmtpSession:
    """One SMTP client (RFC 5321 4.1), with AUTH PLAIN and LOGIN (RFC 4954) required before MAIL when the
    server has credentials; no STARTTLS (loopback only)."""

    def __init__(self, server: "SmtpServer", reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.server, self.reader, self.writer = server, reader, writer
        self.config = server.config
        self.greeted: str | None = None
        self.esmtp = False
        self.authenticated = not self.config.smtp_user
        self.envelope = Envelope()

    async def reply(self, code: int, *lines: str) -> None:
        lines = lines or ("",)
        out = b"".join(f"{code}{'-' if i < len(lines) - 1 else ' '}{line}\r\n".encode()
                       for i, line in enumerate(lines))
        self.writer.write(out)
        await self.writer.drain()

    async def read_line(self) -> bytes | None:
        try:
            line = await asyncio.wait_for(self.reader.readline(), SMTP_IDLE_SECONDS)
        except TimeoutError:
            await self.reply(421, f"{self.config.host} Timeout; closing the connection")
            return None
        except (asyncio.LimitOverrunError, ValueError):
            await self.reply(500, "Line too long")
            return None
        if not line or not line.endswith(b"\n"):
            return None
        return line.rstrip(b"\r\n")

    async def run(self) -> None:
        try:
            await self.reply(220, f"{self.server.hostname} ESMTP Workstation sandbox")
            while True:
                line = await self.read_line()
                if line is None:
                    break
                if len(line) > 2046:
                    await self.reply(500, "Line too long")
                    continue
                verb, _, rest = line.decode("utf-8", errors="replace").partition(" ")
                if not await self.dispatch(verb.upper(), rest.strip()):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass  # gone, or a line beyond asyncio's limit in DATA
        finally:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    async def dispatch(self, verb: str, rest: str) -> bool:
        if verb in ("EHLO", "HELO"):
            if not rest:
                await self.reply(501, f"Syntax: {verb} hostname")
                return True
            self.greeted, self.esmtp = rest, verb == "EHLO"
            self.envelope = Envelope()
            if verb == "HELO":
                await self.reply(250, self.server.hostname)
            else:
                lines = [f"{self.server.hostname} greets {rest[:100]}", f"SIZE {self.config.max_message_bytes}",
                         "8BITMIME", "SMTPUTF8", "PIPELINING"]
                if self.config.smtp_user:
                    lines.append("AUTH PLAIN LOGIN")
                await self.reply(250, *lines)
        elif verb == "QUIT":
            await self.reply(221, "Bye")
            return False
        elif verb == "NOOP":
            await self.reply(250, "OK")
        elif verb == "RSET":
            self.envelope = Envelope()
            await self.reply(250, "OK")
        elif verb == "VRFY":
            await self.reply(252, "Cannot VRFY user, but will accept message and attempt delivery")
        elif verb == "HELP":
            await self.reply(214, "Commands: EHLO HELO AUTH MAIL RCPT DATA RSET NOOP QUIT VRFY HELP")
        elif verb == "STARTTLS":
            await self.reply(502, "STARTTLS is not offered by the sandbox")
        elif verb == "AUTH":
            await self.auth(rest)
        elif verb == "MAIL":
            await self.mail(rest)
        elif verb == "RCPT":
            await self.rcpt(rest)
        elif verb == "DATA":
            return await self.data(rest)
        else:
            await self.reply(500, "Command not recognized")
        return True

    async def auth(self, rest: str) -> None:
        if not self.config.smtp_user or not self.esmtp:
            await self.reply(503, "AUTH not offered" if self.config.smtp_user else "Not needed")
            return
        if self.config.smtp_user and self.authenticated:
            await self.reply(503, "Already authenticated")
            return
        if self.envelope.mail_from is not None:
            await self.reply(503, "AUTH not allowed during a mail transaction")
            return
        mechanism, _, initial = rest.partition(" ")
        mechanism = mechanism.upper()
        try:
            if mechanism == "PLAIN":
                response = initial if initial else await self.challenge("")
                if response is None:
                    return
                decoded = b"" if response == "=" else base64.b64decode(response, validate=True)
                parts = decoded.split(b"\0")
                if len(parts) != 3:
                    await self.reply(501, "Malformed AUTH PLAIN response")
                    return
                user, password = parts[1], parts[2]
            elif mechanism == "LOGIN":
                if initial:
                    user = base64.b64decode(initial, validate=True)
                else:
                    answer = await self.challenge(base64.b64encode(b"Username:").decode())
                    if answer is None:
                        return
                    user = base64.b64decode(answer, validate=True)
                answer = await self.challenge(base64.b64encode(b"Password:").decode())
                if answer is None:
                    return
                password = base64.b64decode(answer, validate=True)
            else:
                await self.reply(504, "Unrecognized authentication mechanism")
                return
        except (binascii.Error, ValueError):
            await self.reply(501, "Cannot decode the response")
            return
        if secrets.compare_digest(user, self.config.smtp_user.encode()) and \
                secrets.compare_digest(password, self.config.smtp_password.encode()):
            self.authenticated = True
            await self.reply(235, "Authentication successful")
        else:
            logger.info("SMTP login refused")
            await self.reply(535, "Authentication credentials invalid")

    async def challenge(self, text: str) -> str | None:
        """A 334 challenge and the client's answer; None when it cancelled ("*", answered 501) or went away."""
        await self.reply(334, text)
        line = await self.read_line()
        if line is None:
            raise ConnectionError("client went away during AUTH")
        answer = line.decode("ascii", errors="replace").strip()
        if answer == "*":
            await self.reply(501, "Authentication cancelled")
            return None
        return answer

    @staticmethod
    def path(rest: str, keyword: str) -> tuple[str, list[str]] | None:
        match = re.fullmatch(keyword + r":\s*<([^<>]*)>((?:\s+\S+)*)\s*", rest, re.IGNORECASE)
        if not match:
            return None
        return match.group(1), match.group(2).split()

    async def mail(self, rest: str) -> None:
        if not self.greeted:
            await self.reply(503, "Send EHLO or HELO first")
            return
        if not self.authenticated:
            await self.reply(530, "Authentication required")
            return
        if self.envelope.mail_from is not None:
            await self.reply(503, "Nested MAIL command")
            return
        parsed = self.path(rest, "FROM")
        if parsed is None:
            await self.reply(501, "Syntax: MAIL FROM:<address>")
            return
        address, params = parsed
        if address and not _ADDRESS.match(address):
            await self.reply(553, "Sender address invalid")
            return
        for param in params:
            key, _, value = param.partition("=")
            key = key.upper()
            if not self.esmtp:
                await self.reply(555, "MAIL parameters need EHLO")
                return
            if key == "SIZE":
                if not value.isdigit():
                    await self.reply(501, "Bad SIZE")
                    return
                if int(value) > self.config.max_message_bytes:
                    await self.reply(552, "Message size exceeds fixed limit")
                    return
            elif key == "BODY" and value.upper() in ("7BIT", "8BITMIME"):
                pass
            elif key == "SMTPUTF8" and not value:
                pass
            else:
                await self.reply(555, "MAIL parameter not recognized")
                return
        self.envelope = Envelope(mail_from=address, params=params)
        await self.reply(250, "OK")

    async def rcpt(self, rest: str) -> None:
        if self.envelope.mail_from is None:
            await self.reply(503, "Need MAIL before RCPT")
            return
        parsed = self.path(rest, "TO")
        if parsed is None:
            await self.reply(501, "Syntax: RCPT TO:<address>")
            return
        address, params = parsed
        if params:
            await self.reply(555, "RCPT parameters not recognized")
            return
        if not _ADDRESS.match(address):
            await self.reply(553, "Recipient address invalid")
            return
        if address.lower() in self.server.rejected:
            await self.reply(550, "Mailbox unavailable")
            return
        if len(self.envelope.rcpt_to) >= 100:
            await self.reply(452, "Too many recipients")
            return
        self.envelope.rcpt_to.append(address)
        await self.reply(250, "OK")

    async def data(self, rest: str) -> bool:
        if rest:
            await self.reply(501, "DATA takes no arguments")
            return True
        if self.envelope.mail_from is None:
            await self.reply(503, "Need MAIL command")
            return True
        if not self.envelope.rcpt_to:
            await self.reply(554, "No valid recipients")
            return True
        await self.reply(354, "End data with <CR><LF>.<CR><LF>")
        lines: list[bytes] = []
        size, too_big = 0, False
        while True:
            line = await self.reader.readline()
            if not line:
                return False  # the client went away mid-message: nothing is kept
            body = line.rstrip(b"\r\n")
            if body == b".":
                break
            if body.startswith(b"."):
                body = body[1:]  # RFC 5321 4.5.2: the transparency dot
            size += len(body) + 2
            if size > self.config.max_message_bytes:
                too_big = True
            elif not too_big:
                lines.append(body)
        envelope, self.envelope = self.envelope, Envelope()
        if too_big:
            await self.reply(552, "Message size exceeds fixed limit")
            return True
        raw = b"".join(line + b"\r\n" for line in lines)
        record = self.server.record(envelope, raw)
        await self.reply(250, f"OK: queued as {record['id']}")
        self.server.delivered(record)
        return True


class SmtpServer(_LineServer):
    def __init__(self, config: "MailSandboxConfig", on_received: Callable[[Envelope, bytes], dict[str, Any]],
                 on_delivered: Callable[[dict[str, Any]], None]) -> None:
        super().__init__(config)
        self.port = config.smtp_port
        self.record, self.delivered = on_received, on_delivered
        self.hostname = config.address.rpartition("@")[2] or "sandbox.invalid"
        self.rejected: set[str] = set()

    def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> "SmtpSession":
        return SmtpSession(self, reader, writer)


# -- the emulator --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MailSandboxConfig:
    address: str  # the brand's support address: INBOX's owner, To of customer mail
    imap_user: str
    imap_password: str = field(repr=False)
    smtp_user: str = ""  # empty: no AUTH offered nor required
    smtp_password: str = field(default="", repr=False)
    host: str = "127.0.0.1"
    imap_port: int = 0  # 0: a free port
    smtp_port: int = 0
    uidvalidity: int | None = None  # None: the start time, fixed for this run
    max_message_bytes: int = MAX_MESSAGE_BYTES


class MailSandbox:
    """The mailbox, the two servers and what the control routes show."""

    def __init__(self, config: MailSandboxConfig) -> None:
        self.config = config
        self.mailbox = Mailbox(config.uidvalidity or int(time.time()))
        self.sent: list[dict[str, Any]] = []
        self.imap = ImapServer(config, self.mailbox)
        self.smtp = SmtpServer(config, self._received, self._delivered)
        self.imap_port = config.imap_port
        self.smtp_port = config.smtp_port
        self._ids = itertools.count(1)
        self._threads: dict[str, tuple[tuple[str, ...], str]] = {}  # Message-ID -> (its References, Subject)
        self._tasks: set[asyncio.Task[Any]] = set()
        # Told of each mail the SMTP server accepted, for each recipient (the traffic's customers read it).
        self.on_sent: Callable[[str, dict[str, Any]], Awaitable[Any]] | None = None
        self.spawner: Callable[..., asyncio.Task[Any]] | None = None

    async def start(self) -> None:
        self.imap_port = await self.imap.start()
        try:
            self.smtp_port = await self.smtp.start()
        except BaseException:
            await self.imap.stop()
            raise
        logger.info("email sandbox: IMAP on %s:%s, SMTP on %s:%s, UIDVALIDITY %s", self.config.host, self.imap_port,
                    self.config.host, self.smtp_port, self.mailbox.uidvalidity)

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.imap.stop()
        await self.smtp.stop()

    # inbound: a customer writes

    def inbound(self, *, from_address: str, text: str, from_name: str = "", subject: str = "",
                in_reply_to: str | None = None, references: list[str] | None = None) -> dict[str, Any]:
        """Appends a customer's mail to INBOX (and wakes IDLE sessions); ValueError for what no mail can say."""
        from_address = from_address.strip()
        if not _ADDRESS.match(from_address):
            raise ValueError("from_address is not an email address")
        msg = EmailMessage(policy=email.policy.SMTP)
        local, _, domain = from_address.rpartition("@")
        msg["From"] = Address(display_name=from_name.strip(), username=local, domain=domain)
        msg["To"] = self.config.address
        msg["Subject"] = subject
        msg["Date"] = format_datetime(datetime.now(UTC))
        message_id = make_msgid(domain=domain)
        msg["Message-ID"] = message_id
        if in_reply_to:
            in_reply_to = in_reply_to.strip()
            if not re.fullmatch(r"<[^<>\s]+>", in_reply_to):
                raise ValueError("in_reply_to is not a Message-ID")
            known_refs, _ = self._threads.get(in_reply_to, ((), ""))
            chain = list(references or known_refs) + [in_reply_to]
            msg["In-Reply-To"] = in_reply_to
            msg["References"] = " ".join(dict.fromkeys(chain))
        msg.set_content(text)
        raw = msg.as_bytes()
        uid = self.mailbox.append(raw)
        refs = tuple(str(msg.get("References", "")).split())
        self._threads[message_id] = (refs, subject)
        logger.info("email sandbox: customer mail UID %s in INBOX", uid)
        return {"uid": uid, "uidvalidity": self.mailbox.uidvalidity, "message_id": message_id,
                "in_reply_to": in_reply_to}

    async def send_inbound(self, address: str, name: str, subject: str, text: str,
                           in_reply_to: str | None = None) -> dict[str, Any]:
        """The traffic generator's way in (traffic.SendEmail)."""
        return self.inbound(from_address=address, from_name=name, subject=subject, text=text,
                            in_reply_to=in_reply_to)

    # outbound: the team server sends

    def _received(self, envelope: Envelope, raw: bytes) -> dict[str, Any]:
        msg = email.message_from_bytes(raw, policy=email.policy.default)

        def header(name: str) -> str | None:
            try:
                value = msg.get(name)
            except Exception:  # noqa: BLE001 - a header the parser refuses: its raw text
                value = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), None)
            return " ".join(str(value).split()) if value is not None else None

        try:
            part = msg.get_body(preferencelist=("plain", "html"))
            text = part.get_content().replace("\r\n", "\n") if part is not None else ""
        except Exception:  # noqa: BLE001 - an odd body is still recorded
            text = ""
        record = {
            "id": f"sandbox-{next(self._ids)}", "mail_from": envelope.mail_from, "rcpt_to": list(envelope.rcpt_to),
            "params": envelope.params, "message_id": header("Message-ID"), "in_reply_to": header("In-Reply-To"),
            "references": (header("References") or "").split(), "subject": header("Subject"),
            "from": header("From"), "to": header("To"), "date": header("Date"), "text": text,
            "raw": raw.decode("utf-8", errors="replace"), "received_at": time.time(),
        }
        self.sent.append(record)
        if record["message_id"]:
            self._threads[record["message_id"]] = (tuple(record["references"]), record["subject"] or "")
        logger.info("email sandbox: accepted %s for %d recipient(s)", record["id"], len(envelope.rcpt_to))
        return record

    def _delivered(self, record: dict[str, Any]) -> None:
        if self.on_sent is None:
            return
        for rcpt in record["rcpt_to"]:
            coro = self.on_sent(rcpt.lower(), record)
            task = self.spawner(coro, name="email-sandbox-reader") if self.spawner else \
                asyncio.get_running_loop().create_task(coro, name="email-sandbox-reader")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def state(self) -> dict[str, Any]:
        return {"address": self.config.address, "imap_port": self.imap_port, "smtp_port": self.smtp_port,
                "uidvalidity": self.mailbox.uidvalidity, "uidnext": self.mailbox.uidnext,
                "exists": len(self.mailbox.mails), "sent": len(self.sent),
                "rejected_recipients": sorted(self.smtp.rejected)}


# -- control routes ------------------------------------------------------------------------------------------------

class InboundMail(BaseModel):
    from_address: str = Field(min_length=3, max_length=254)
    from_name: str = Field(default="", max_length=256)
    subject: str = Field(default="", max_length=998)
    text: str = Field(min_length=1, max_length=100_000)
    in_reply_to: str | None = Field(default=None, max_length=998)


class RejectRequest(BaseModel):
    address: str = Field(min_length=3, max_length=254)
    rejected: bool = True


def control_router(sandbox: MailSandbox) -> APIRouter:
    router = APIRouter(prefix="/_sandbox/email")

    @router.post("/inbound")
    async def inbound(request: InboundMail) -> dict[str, Any]:
        try:
            return sandbox.inbound(from_address=request.from_address, from_name=request.from_name,
                                   subject=request.subject, text=request.text, in_reply_to=request.in_reply_to)
        except ValueError as exc:
            raise HTTPException(422, str(exc)[:200]) from None

    @router.get("/sent")
    async def sent() -> list[dict[str, Any]]:
        return sandbox.sent

    @router.delete("/sent")
    async def clear_sent() -> dict[str, Any]:
        sandbox.sent.clear()
        return {"sent": 0}

    @router.post("/reject")
    async def reject(request: RejectRequest) -> dict[str, Any]:
        """RCPT TO this address is answered 550 (a mailbox that does not exist) until un-rejected."""
        (sandbox.smtp.rejected.add if request.rejected else sandbox.smtp.rejected.discard)(request.address.lower())
        return {"rejected_recipients": sorted(sandbox.smtp.rejected)}

    @router.get("/state")
    async def state() -> dict[str, Any]:
        return sandbox.state()

    return router


def create_app(config: MailSandboxConfig) -> FastAPI:
    """The emulator on its own (tests): the servers run for the app's lifespan, control routes under
    /_sandbox/email."""
    sandbox = MailSandbox(config)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await sandbox.start()
        try:
            yield
        finally:
            await sandbox.stop()

    app = FastAPI(title="Email (IMAP/SMTP) sandbox", lifespan=lifespan)
    app.state.email = sandbox
    app.include_router(control_router(sandbox))
    return app


def mount(app: FastAPI, config: MailSandboxConfig) -> MailSandbox:
    """Adds the emulator to the sandbox app: its servers start and stop with the app, its control routes sit under
    /_sandbox/email. Beside the WhatsApp emulator, its traffic generator has some customers write by email, and they
    read (and sometimes answer) what the team server sends them."""
    sandbox = MailSandbox(config)
    app.state.email = sandbox
    app.include_router(control_router(sandbox))
    outer = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[Any]:
        await sandbox.start()
        try:
            async with outer(a) as state:
                whatsapp = getattr(a.state, "sandbox", None)
                traffic = getattr(whatsapp, "traffic", None)
                if traffic is not None:
                    traffic.send_email = sandbox.send_inbound
                yield state
        finally:
            await sandbox.stop()

    app.router.lifespan_context = lifespan
    whatsapp = getattr(app.state, "sandbox", None)
    if whatsapp is not None:
        sandbox.spawner = getattr(whatsapp, "spawn", None)

        async def customer_reads(address: str, record: dict[str, Any]) -> None:
            traffic = whatsapp.traffic
            if traffic is None:
                return
            traffic.email_received(address, record.get("message_id"), record.get("subject") or "",
                                   record.get("text") or "", record.get("from") or "")
            await traffic.answer_survey(address, record.get("text") or "")

        sandbox.on_sent = customer_reads
    return sandbox
