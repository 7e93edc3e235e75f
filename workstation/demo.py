"""The demo stack: an embedded team server, the channel sandbox and simulated colleagues as child processes on
loopback."""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

log = logging.getLogger(__name__)

DEMO_PHONE_NUMBER_ID = "106540352242922"
# The demo brand's Facebook Page and Instagram professional account (the sandbox's Meta emulator is both).
DEMO_PAGE_ID = "370873143344730"
DEMO_INSTAGRAM_ID = "17841403506636395"
# The demo brand's X account (the sandbox's X emulator answers as it).
DEMO_X_USER_ID = "1580000000000000001"
# The demo brand's support mailbox (the sandbox's IMAP and SMTP servers hold it and take its mail).
DEMO_EMAIL_ADDRESS = "support@demo-brand.workstation.test"
DEMO_SMTP_USER = "workstation-demo-mailer"
DEMO_AGENTS = (
    ("lead@demo.workstation.test", "Lucía Fernández", "lead"),
    ("ana@demo.workstation.test", "Ana Gómez", "agent"),
    ("ben@demo.workstation.test", "Ben Carter", "agent"),
    ("carla@demo.workstation.test", "Carla Ruiz", "agent"),
    ("diego@demo.workstation.test", "Diego Martín", "agent"),
)


class DemoError(Exception):
    pass


@dataclass
class DemoStack:
    data_dir: Path
    server_url: str
    sandbox_url: str
    lead_email: str
    lead_password: str = field(repr=False)
    # Every agent's password and the channel secrets of this run (tests sign webhooks with them).
    passwords: dict[str, str] = field(default_factory=dict, repr=False)
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    children: list[subprocess.Popen] = field(default_factory=list)
    # Remove data_dir on stop: set when the stack made the folder itself.
    owns_data_dir: bool = False
    server_args: list[str] = field(default_factory=list)
    db_url: str = field(default="", repr=False)
    env: dict[str, str] = field(default_factory=dict, repr=False)
    # The agents the colleagues child simulates (every demo agent but the lead), when it runs.
    colleagues: list[str] = field(default_factory=list)

    def stop_server(self, timeout: float = 10.0) -> None:
        """Stops the team server only (the sandbox keeps running), as an outage would."""
        server = self.children[0]
        server.stdin.close()
        server.terminate()
        try:
            server.wait(timeout)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    def start_server(self, timeout: float = 30.0) -> None:
        """Starts the team server again on the same port and database."""
        port = int(self.server_url.rsplit(":", 1)[1])
        sock = socket.create_server(("127.0.0.1", port))
        sock.set_inheritable(True)
        try:
            self.children[0] = _spawn(self.server_args, sock, self.env, self.data_dir / "children.log")
        finally:
            sock.close()
        _wait_healthy(self.server_url + "/v1/health", self.children[0], time.monotonic() + timeout)

    @property
    def pids(self) -> list[int]:
        return [c.pid for c in self.children]

    def stop(self, timeout: float = 5.0) -> None:
        """Stops every child: closing stdin asks politely, then terminate, then kill."""
        for child in reversed(self.children):
            if child.stdin and not child.stdin.closed:
                try:
                    child.stdin.close()
                except OSError:
                    pass
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + timeout
        for child in self.children:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("child %s did not stop in time; killing it", child.pid)
                child.kill()
                child.wait()
        log.info("demo stopped; children %s are gone", self.pids)
        if self.owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def self_command() -> list[str]:
    """How to run this program again as a child: the frozen binary itself, or this interpreter."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "workstation"]


def _listening_socket() -> socket.socket:
    sock = socket.create_server(("127.0.0.1", 0))
    sock.set_inheritable(True)
    return sock


def _free_ports(count: int) -> list[int]:
    """Ports free on loopback right now, all different (for the children that bind them themselves)."""
    socks = [socket.create_server(("127.0.0.1", 0)) for _ in range(count)]
    try:
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_healthy(url: str, child: subprocess.Popen, deadline: float) -> None:
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if child.poll() is not None:
                raise DemoError(f"{url} exited early with code {child.returncode}")
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    raise DemoError(f"{url} did not answer in time")


def _spawn(args: list[str], sock: socket.socket | None, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """A child that exits when we go away (it holds our end of its stdin), listening on `sock` if given."""
    fds = (sock.fileno(),) if sock is not None else ()
    with open(log_path, "ab") as log_file:
        return subprocess.Popen(
            self_command() + args + [a for fd in fds for a in ("--fd", str(fd))] + ["--exit-with-parent"],
            pass_fds=fds, stdin=subprocess.PIPE, stdout=log_file, stderr=log_file, env=env,
        )


def start_demo_stack(
    *,
    data_dir: Path | None = None,
    traffic: bool = True,
    interval: tuple[float, float] = (4.0, 9.0),
    seed: int | None = None,
    start_timeout: float = 30.0,
    extra_env: dict[str, str] | None = None,
    db_url: str | None = None,
    workers: int = 1,
    colleagues: bool | None = None,
) -> DemoStack:
    """Starts the team server and the sandbox; `extra_env` tunes them (tests shorten retry delays).
    The team database is a SQLite file in `data_dir` unless `db_url` names another (an empty one).
    `colleagues` (by default: with generated traffic) also starts simulated colleagues, every demo agent but
    the lead, who answer the conversations the server hands them (services/sandbox/colleagues.py)."""
    from services.teamserver.admin import add_agent, enable_csat

    owns_data_dir = data_dir is None
    data_dir = Path(data_dir or tempfile.mkdtemp(prefix="workstation-demo-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    db_url = db_url or f"sqlite:///{data_dir / 'team.sqlite'}"
    passwords = {}
    for email, name, role in DEMO_AGENTS:
        passwords[email] = secrets.token_urlsafe(12)
        add_agent(db_url, email=email, name=name, role=role, password=passwords[email])
    if traffic:
        # The emulated customers answer satisfaction surveys (services/sandbox/traffic.py).
        enable_csat(db_url)

    server_sock, sandbox_sock = _listening_socket(), _listening_socket()
    server_url = "http://127.0.0.1:%d" % server_sock.getsockname()[1]
    sandbox_url = "http://127.0.0.1:%d" % sandbox_sock.getsockname()[1]
    # Fresh secrets for every run, handed over in the environment (never on a command line).
    run_secrets = dict(
        WORKSTATION_META_APP_SECRET=secrets.token_hex(16),
        WORKSTATION_META_VERIFY_TOKEN=secrets.token_hex(8),
        WORKSTATION_WHATSAPP_TOKEN="EAAG" + secrets.token_urlsafe(24),
        WORKSTATION_WHATSAPP_PHONE_NUMBER_ID=DEMO_PHONE_NUMBER_ID,
        WORKSTATION_WHATSAPP_API_BASE=sandbox_url,
        # A made-up bot token in Telegram's shape (bot id, colon, secret); the sandbox's emulator checks it.
        WORKSTATION_TELEGRAM_TOKEN=f"{secrets.randbelow(9 * 10**9) + 10**9}:AA{secrets.token_urlsafe(25)}",
        # Made-up Page and Instagram tokens in Meta's shapes; the Meta emulator checks them.
        WORKSTATION_MESSENGER_PAGE_ID=DEMO_PAGE_ID,
        WORKSTATION_MESSENGER_PAGE_TOKEN="EAAG" + secrets.token_urlsafe(32),
        WORKSTATION_INSTAGRAM_ACCOUNT_ID=DEMO_INSTAGRAM_ID,
        WORKSTATION_INSTAGRAM_TOKEN="IGAA" + secrets.token_urlsafe(32),
        # A made-up user-context OAuth 2.0 token of the demo brand's X account; the X emulator checks it.
        WORKSTATION_X_TOKEN=secrets.token_urlsafe(32),
    )
    # Email through the sandbox's mail servers, unless a real mailbox is configured (tests bring their own servers).
    sandbox_mail = not {**os.environ, **(extra_env or {})}.get("WORKSTATION_EMAIL_IMAP_HOST")
    if sandbox_mail:
        run_secrets.update(WORKSTATION_EMAIL_IMAP_PASSWORD=secrets.token_urlsafe(18),
                           WORKSTATION_EMAIL_SMTP_PASSWORD=secrets.token_urlsafe(18))
    env = {**os.environ, **(extra_env or {}), **run_secrets}
    if sandbox_mail:
        # The sandbox binds these itself (plain, loopback only); the team server polls and sends through them.
        imap_port, smtp_port = _free_ports(2)
        env.update(
            WORKSTATION_EMAIL_ADDRESS=DEMO_EMAIL_ADDRESS,
            WORKSTATION_EMAIL_IMAP_HOST="127.0.0.1", WORKSTATION_EMAIL_IMAP_PORT=str(imap_port),
            WORKSTATION_EMAIL_IMAP_TLS="false", WORKSTATION_EMAIL_IMAP_USER=DEMO_EMAIL_ADDRESS,
            WORKSTATION_EMAIL_SMTP_HOST="127.0.0.1", WORKSTATION_EMAIL_SMTP_PORT=str(smtp_port),
            WORKSTATION_EMAIL_SMTP_TLS="none", WORKSTATION_EMAIL_SMTP_USER=DEMO_SMTP_USER,
            WORKSTATION_SANDBOX_EMAIL_IMAP_PORT=str(imap_port), WORKSTATION_SANDBOX_EMAIL_SMTP_PORT=str(smtp_port),
        )
    else:
        for name in ("WORKSTATION_SANDBOX_EMAIL_IMAP_PORT", "WORKSTATION_SANDBOX_EMAIL_SMTP_PORT"):
            env.pop(name, None)
    env["WORKSTATION_TELEGRAM_API_BASE"] = sandbox_url + "/telegram"
    env["WORKSTATION_META_GRAPH_BASE"] = sandbox_url + "/meta"
    # The emulator notices a poller that went away (a killed server) only when its long poll ends: keep it short.
    env.setdefault("WORKSTATION_TELEGRAM_POLL_TIMEOUT", "2")
    # The key that seals the channel credentials an admin connects from the app, with the demo's data.
    env.setdefault("WORKSTATION_CHANNEL_KEY_FILE", str(data_dir / "channel.key"))
    env["WORKSTATION_X_API_BASE"] = sandbox_url + "/x"
    env["WORKSTATION_X_USER_ID"] = DEMO_X_USER_ID  # public, like a phone number: not one of the run's secrets
    # The emulator's windows are X's (300 reads per 15 min): every 3 s per endpoint stays within them.
    env.setdefault("WORKSTATION_X_POLL_INTERVAL", "3")
    stack = DemoStack(
        data_dir=data_dir,
        server_url=server_url,
        sandbox_url=sandbox_url,
        lead_email=DEMO_AGENTS[0][0],
        lead_password=passwords[DEMO_AGENTS[0][0]],
        passwords=passwords,
        secrets=run_secrets,
        owns_data_dir=owns_data_dir,
        db_url=db_url,
        server_args=["server", "--db", db_url] + (["--workers", str(workers)] if workers > 1 else []),
        env=env,
    )
    log_path = data_dir / "children.log"
    try:
        stack.children.append(_spawn(stack.server_args, server_sock, env, log_path))
        sandbox_args = ["sandbox", "--server", server_url, "--interval", str(interval[0]), str(interval[1])]
        if seed is not None:
            sandbox_args += ["--seed", str(seed)]
        if not traffic:
            sandbox_args.append("--no-traffic")
        stack.children.append(_spawn(sandbox_args, sandbox_sock, env, log_path))
        deadline = time.monotonic() + start_timeout
        _wait_healthy(server_url + "/v1/health", stack.children[0], deadline)
        _wait_healthy(sandbox_url + "/_sandbox/health", stack.children[1], deadline)
        if colleagues if colleagues is not None else traffic:
            _start_colleagues(stack, seed, log_path)
    except BaseException as exc:
        log_tail = _tail(log_path)
        stack.stop()
        if isinstance(exc, DemoError):
            raise DemoError(f"{exc}; the children said:\n{log_tail}") from None
        raise
    finally:
        server_sock.close()
        sandbox_sock.close()
    log.info("demo stack up: server %s, sandbox %s, children %s, data in %s",
             server_url, sandbox_url, stack.pids, data_dir)
    return stack


def _start_colleagues(stack: DemoStack, seed: int | None, log_path: Path) -> None:
    """Every demo agent but the lead, simulated by a child that works through the agent API. Their passwords
    go to that child alone, in its environment; it signs in on its own (nothing here waits for it)."""
    stack.colleagues = [email for email, _, _ in DEMO_AGENTS if email != stack.lead_email]
    credentials = [{"email": email, "password": stack.passwords[email]} for email in stack.colleagues]
    env = {k: v for k, v in stack.env.items() if k not in stack.secrets}  # no channel secrets needed
    env["WORKSTATION_COLLEAGUES"] = json.dumps(credentials)
    args = ["colleagues", "--server", stack.server_url] + (["--seed", str(seed)] if seed is not None else [])
    stack.children.append(_spawn(args, None, env, log_path))
