"""The channels this server talks to: connected by an admin from the app, or set in the server's environment.

An admin connects a channel (PUT /v1/channels/{channel}) with its settings; the server tests them against the
provider (the connector's `check()`), seals the secret ones (secretbox.py) and keeps them in `channel_account`.
A channel connected from the app wins over the same channel's WORKSTATION_* variables; disconnecting it falls
back to them, if any.

`ChannelHub` holds the live connectors (the dict the dispatcher sends through), the pollers of the polled
channels (run only on the elected worker), and what the webhook routes need (app secrets, verify tokens, our
account ids). A change is applied at once in this worker and announced to the others (PostgreSQL NOTIFY), which
reload from the database: nothing needs a restart.

Health (`channel_health:<channel>` in server_meta, written by pollers.record_health): the last webhook, poll or
send that worked, the last error and its kind; `problems()` turns it into what the admin should fix.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from services.channels.base import AccountCheck, ChannelError, ErrorKind
from services.teamserver import pollers as polling
from services.teamserver.models import ChannelAccount, utcnow
from services.teamserver.secretbox import SecretBox, Unreadable, load_key

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "ws_channels"
TOKENS_KEY = "channel_tokens:{}"  # server_meta: a channel's refreshed tokens, sealed
# A webhook or a send that worked is written to the health row at most this often per channel and worker.
HEALTH_WRITE_SECONDS = 30.0
# A token that ends within this long is flagged to the admin.
EXPIRY_WARNING = timedelta(days=7)
# A polled channel whose last good poll is older than this is flagged (its poller is stuck or failing).
POLL_STALE = timedelta(minutes=10)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    env: str  # the WORKSTATION_* variable the connector reads it from
    secret: bool = False
    required: bool = False
    kind: str = "text"  # text, number, choice
    choices: tuple[str, ...] = ()
    default: str = ""

    def public(self) -> dict:
        return {"name": self.name, "secret": self.secret, "required": self.required, "kind": self.kind,
                "choices": list(self.choices), "default": self.default}


_APP_SECRET = FieldSpec("app_secret", "WORKSTATION_META_APP_SECRET", secret=True, required=True)
_VERIFY_TOKEN = FieldSpec("verify_token", "WORKSTATION_META_VERIFY_TOKEN", secret=True, required=True)

def _meta_fields(id_name: str, id_env: str, token_env: str) -> tuple[FieldSpec, ...]:
    """Messenger and Instagram: the account's id and token, the Meta app's secrets, the Graph address."""
    return (FieldSpec(id_name, id_env, required=True), FieldSpec("access_token", token_env, secret=True, required=True),
            _APP_SECRET, _VERIFY_TOKEN, FieldSpec("api_base", "WORKSTATION_META_GRAPH_BASE"))


CHANNEL_FIELDS: dict[str, tuple[FieldSpec, ...]] = {
    "whatsapp": (
        FieldSpec("phone_number_id", "WORKSTATION_WHATSAPP_PHONE_NUMBER_ID", required=True),
        FieldSpec("access_token", "WORKSTATION_WHATSAPP_TOKEN", secret=True, required=True),
        _APP_SECRET, _VERIFY_TOKEN,
        FieldSpec("api_base", "WORKSTATION_WHATSAPP_API_BASE"),
    ),
    "messenger": _meta_fields("page_id", "WORKSTATION_MESSENGER_PAGE_ID", "WORKSTATION_MESSENGER_PAGE_TOKEN"),
    "instagram": _meta_fields("account_id", "WORKSTATION_INSTAGRAM_ACCOUNT_ID", "WORKSTATION_INSTAGRAM_TOKEN"),
    "x": (
        FieldSpec("user_id", "WORKSTATION_X_USER_ID", required=True),
        FieldSpec("access_token", "WORKSTATION_X_TOKEN", secret=True, required=True),
        # OAuth 2.0 refresh (offline.access): X access tokens end after 2 hours; refresh tokens rotate.
        FieldSpec("refresh_token", "WORKSTATION_X_REFRESH_TOKEN", secret=True),
        FieldSpec("client_id", "WORKSTATION_X_CLIENT_ID"),
        FieldSpec("client_secret", "WORKSTATION_X_CLIENT_SECRET", secret=True),
        FieldSpec("api_base", "WORKSTATION_X_API_BASE"),
    ),
    "telegram": (
        FieldSpec("bot_token", "WORKSTATION_TELEGRAM_TOKEN", secret=True, required=True),
        FieldSpec("api_base", "WORKSTATION_TELEGRAM_API_BASE"),
    ),
    "email": (
        FieldSpec("address", "WORKSTATION_EMAIL_ADDRESS", required=True),
        FieldSpec("imap_host", "WORKSTATION_EMAIL_IMAP_HOST", required=True),
        FieldSpec("imap_port", "WORKSTATION_EMAIL_IMAP_PORT", kind="number"),
        FieldSpec("imap_tls", "WORKSTATION_EMAIL_IMAP_TLS", kind="choice", choices=("true", "false"),
                  default="true"),
        FieldSpec("imap_user", "WORKSTATION_EMAIL_IMAP_USER", required=True),
        FieldSpec("imap_password", "WORKSTATION_EMAIL_IMAP_PASSWORD", secret=True, required=True),
        FieldSpec("mailbox", "WORKSTATION_EMAIL_MAILBOX", default="INBOX"),
        FieldSpec("smtp_host", "WORKSTATION_EMAIL_SMTP_HOST", required=True),
        FieldSpec("smtp_port", "WORKSTATION_EMAIL_SMTP_PORT", kind="number"),
        FieldSpec("smtp_tls", "WORKSTATION_EMAIL_SMTP_TLS", kind="choice", choices=("starttls", "ssl", "none"),
                  default="starttls"),
        FieldSpec("smtp_user", "WORKSTATION_EMAIL_SMTP_USER"),
        FieldSpec("smtp_password", "WORKSTATION_EMAIL_SMTP_PASSWORD", secret=True),
    ),
}
CHANNELS = tuple(CHANNEL_FIELDS)
POLLED = ("telegram", "x", "email")
WEBHOOK_CHANNELS = ("whatsapp", "messenger", "instagram")
MAX_VALUE_CHARS = 4096


class SetupError(ValueError):
    """Settings the server refuses, in one sentence naming the field (never echoing a secret)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def clean_settings(channel: str, settings: Mapping[str, Any], secrets: Mapping[str, Any],
                   kept_secrets: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The channel's settings and secrets, checked: unknown names refused, required ones present (a secret
    left out keeps its stored value), numbers numbers, choices among theirs."""
    if channel not in CHANNEL_FIELDS:
        raise SetupError(f"unknown channel {channel[:40]!r}")
    specs = {f.name: f for f in CHANNEL_FIELDS[channel]}
    for given, secret in ((settings, False), (secrets, True)):
        for name in given:
            spec = specs.get(name)
            if spec is None or spec.secret != secret:
                where = "secrets" if secret else "settings"
                raise SetupError(f"{channel} has no {where} field {str(name)[:40]!r}", field=str(name)[:40])
    plain: dict[str, str] = {}
    sealed: dict[str, str] = {}
    for spec in specs.values():
        source = secrets if spec.secret else settings
        raw = source.get(spec.name)
        if raw is None and spec.secret:
            raw = kept_secrets.get(spec.name)
        if raw is not None and not isinstance(raw, (str, int)) or isinstance(raw, bool):
            raise SetupError(f"{spec.name} must be text", field=spec.name)
        value = str(raw).strip() if raw is not None else ""
        if len(value) > MAX_VALUE_CHARS:
            raise SetupError(f"{spec.name} is longer than {MAX_VALUE_CHARS} characters", field=spec.name)
        if any(ord(c) < 32 for c in value):
            raise SetupError(f"{spec.name} must be one line of text", field=spec.name)
        if not value:
            if spec.required:
                raise SetupError(f"{spec.name} is required", field=spec.name)
            continue
        if spec.kind == "number" and not (value.isdigit() and 0 < int(value) < 65536):
            raise SetupError(f"{spec.name} must be a port number (1-65535)", field=spec.name)
        if spec.kind == "choice" and value not in spec.choices:
            raise SetupError(f"{spec.name} must be one of {', '.join(spec.choices)}", field=spec.name)
        if spec.name == "api_base" and not value.startswith(("https://", "http://")):
            raise SetupError("api_base must be an http(s) address", field=spec.name)
        (sealed if spec.secret else plain)[spec.name] = value
    return plain, sealed


def channel_env(channel: str, plain: Mapping[str, str], secrets: Mapping[str, str]) -> dict[str, str]:
    """The WORKSTATION_* variables the channel's connector reads, from its stored settings."""
    env = {}
    for spec in CHANNEL_FIELDS[channel]:
        value = (secrets if spec.secret else plain).get(spec.name)
        if value:
            env[spec.env] = value
    return env


def settings_from_env(channel: str, env: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The channel's settings and secrets as the server's WORKSTATION_* variables give them."""
    plain: dict[str, str] = {}
    secrets: dict[str, str] = {}
    for spec in CHANNEL_FIELDS[channel]:
        value = (env.get(spec.env) or "").strip()
        if value:
            (secrets if spec.secret else plain)[spec.name] = value
    return plain, secrets


def build_connector(channel: str, env: Mapping[str, str], client: httpx.AsyncClient):
    """The channel's connector for these variables, or None when they do not configure it."""
    if channel == "whatsapp":
        from services.channels.whatsapp import WhatsAppConnector

        token, number = env.get("WORKSTATION_WHATSAPP_TOKEN", ""), env.get("WORKSTATION_WHATSAPP_PHONE_NUMBER_ID", "")
        if not (token.strip() and number.strip()):
            return None
        return WhatsAppConnector(
            app_secret=env.get("WORKSTATION_META_APP_SECRET", ""), access_token=token.strip(),
            phone_number_id=number.strip(),
            api_base=env.get("WORKSTATION_WHATSAPP_API_BASE") or "https://graph.facebook.com",
            api_version=env.get("WORKSTATION_WHATSAPP_API_VERSION") or "v21.0", client=client,
            timeout=float(env.get("WORKSTATION_WHATSAPP_TIMEOUT") or 10.0))
    if channel in ("messenger", "instagram"):
        from services.channels import meta

        return (meta.messenger_from_env if channel == "messenger" else meta.instagram_from_env)(env, client)
    module = importlib.import_module(f"services.channels.{channel}")
    return module.from_env(env, client)


@dataclass
class _Live:
    env: dict[str, str]
    source: str  # "app" or "environment"
    connector: Any


class ChannelHub:
    """The live channels of this worker."""

    def __init__(self, engine: Engine, base_env: Mapping[str, str], client: httpx.AsyncClient,
                 box: SecretBox | None = None, *, store: Callable | None = None, announce: Callable[[str], None] | None = None) -> None:
        self.engine = engine
        self.base_env = dict(base_env)
        self.client = client
        self._box = box
        self.store = store  # where polled batches go (the ingestor's submit)
        self.announce = announce  # tells the other workers to reload (PostgreSQL NOTIFY)
        self.connectors: dict[str, Any] = {}  # shared with the dispatcher: changed in place
        self.live: dict[str, _Live] = {}
        self.unreadable: set[str] = set()  # stored channels whose sealed secrets this key does not open
        self.pollers: dict[str, polling.Poller] = {}
        self.polling = False
        self._health_written: dict[str, float] = {}
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task] = set()

    @property
    def box(self) -> SecretBox:
        """The key is read (or made) when first needed: a server nobody connects a channel on makes no key."""
        if self._box is None:
            self._box = SecretBox(load_key(self.base_env))
        return self._box

    # -- configuration ------------------------------------------------------------------------------------

    def stored(self) -> dict[str, ChannelAccount]:
        with Session(self.engine) as s:
            return {row.channel: row for row in s.exec(select(ChannelAccount)).all()}

    def open_secrets(self, row: ChannelAccount) -> dict[str, str]:
        """The row's secret settings (Unreadable when this server's key does not open them)."""
        if not row.secrets_sealed:
            return {}
        return json.loads(self.box.open(row.secrets_sealed, bound_to=row.channel))

    def _wanted(self) -> dict[str, tuple[dict[str, str], str]]:
        """channel → (the variables its connector reads, where they came from), for every channel."""
        wanted: dict[str, tuple[dict[str, str], str]] = {}
        unreadable = set()
        stored = self.stored()
        for channel in CHANNELS:
            row = stored.get(channel)
            if row is not None:
                try:
                    secrets = self.open_secrets(row)
                except (Unreadable, ValueError):
                    log.error("%s: the stored credentials do not open with this server's channel key", channel)
                    unreadable.add(channel)
                    continue
                wanted[channel] = ({**self.base_env, **channel_env(channel, json.loads(row.settings_json), secrets)},
                                   "app")
            else:
                wanted[channel] = (self.base_env, "environment")
        self.unreadable = unreadable
        return wanted

    def load(self) -> None:
        """Builds every configured channel's connector (at start, before anything is sent)."""
        for channel, (env, source) in self._wanted().items():
            self._install(channel, env, source)

    # -- refreshed tokens (X rotates its refresh token on every refresh) -------------------------------------

    def prepare(self, channel: str, connector: Any, env: Mapping[str, str]) -> Any:
        """Gives a connector that refreshes its own tokens the newest ones stored for its settings, and a way
        to store the next ones (sealed) before it uses them: a rotated refresh token must survive a restart."""
        if connector is None or not hasattr(connector, "set_tokens"):
            return connector
        origin = (env.get("WORKSTATION_X_REFRESH_TOKEN") or "").strip()
        if not origin:
            return connector
        stored = self._load_tokens(channel, origin)
        if stored is not None:
            connector.set_tokens(stored)

        async def save(tokens) -> None:
            await asyncio.to_thread(self._save_tokens, channel, origin, tokens)

        connector.on_tokens = save
        return connector

    def _load_tokens(self, channel: str, origin: str):
        from services.channels.x import XTokens
        from services.teamserver.models import ServerMeta

        with Session(self.engine) as s:
            row = s.get(ServerMeta, TOKENS_KEY.format(channel))
        if row is None:
            return None
        try:
            data = json.loads(self.box.open(row.value, bound_to=TOKENS_KEY.format(channel)))
        except (Unreadable, ValueError):
            log.error("%s: the stored refreshed tokens do not open with this server's channel key", channel)
            return None
        if data.get("origin") != origin:
            return None  # tokens of earlier settings: the admin gave new ones since
        expires = datetime.fromisoformat(data["expires_at"]) if data.get("expires_at") else None
        return XTokens(access_token=data["access_token"], refresh_token=data["refresh_token"], expires_at=expires)

    def _save_tokens(self, channel: str, origin: str, tokens) -> None:
        from services.teamserver.models import ServerMeta

        key = TOKENS_KEY.format(channel)
        sealed = self.box.seal(json.dumps({
            "origin": origin, "access_token": tokens.access_token, "refresh_token": tokens.refresh_token,
            "expires_at": tokens.expires_at.isoformat() if tokens.expires_at else None}).encode("utf-8"), bound_to=key)
        with Session(self.engine) as s:
            row = s.get(ServerMeta, key) or ServerMeta(key=key, value="")
            row.value = sealed
            s.add(row)
            s.commit()
        log.info("%s: stored the refreshed tokens", channel)

    def _install(self, channel: str, env: dict[str, str], source: str) -> Any:
        try:
            connector = self.prepare(channel, build_connector(channel, env, self.client), env)
        except ValueError as exc:
            log.error("%s is not configured: %s", channel, exc)
            connector = None
        if connector is None:
            self.live.pop(channel, None)
            self.connectors.pop(channel, None)
            return None
        self.live[channel] = _Live(env=env, source=source, connector=connector)
        self.connectors[channel] = connector
        log.info("%s: connected (%s)", channel, "from the app" if source == "app" else "from the environment")
        return connector

    async def reload(self) -> None:
        """Applies what the database says now: channels whose settings changed get a new connector (and
        poller); the others keep theirs."""
        async with self._lock:
            wanted = await asyncio.to_thread(self._wanted)
            for channel in CHANNELS:
                env, source = wanted.get(channel, ({}, "app"))
                current = self.live.get(channel)
                if current is not None and current.env == env and current.source == source:
                    continue
                if current is None and channel not in wanted:
                    continue
                await self._stop_poller(channel)
                old = current.connector if current else None
                connector = self._install(channel, env, source) if channel in wanted else None
                if channel not in wanted:
                    self.live.pop(channel, None)
                    self.connectors.pop(channel, None)
                if old is not None and hasattr(old, "aclose"):
                    await old.aclose()
                if connector is not None and self.polling and channel in POLLED:
                    self._start_poller(channel, connector)

    def reload_soon(self) -> None:
        """reload() in the background (another worker's notice); a failure is logged, never raised."""
        async def run() -> None:
            try:
                await self.reload()
            except Exception:
                log.exception("could not apply the channels' new settings")
        task = asyncio.ensure_future(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def changed(self) -> None:
        if self.announce is not None:
            try:
                self.announce("reload")
            except Exception:  # the others catch up when their listener reconnects
                log.exception("could not tell the other workers that the channels changed")

    # -- polling (the elected worker) ---------------------------------------------------------------------

    def _start_poller(self, channel: str, connector: Any) -> None:
        if self.store is None or not hasattr(connector, "poll"):
            return
        poller = polling.Poller(self.engine, connector, self.store, name=channel)
        self.pollers[channel] = poller
        poller.start()

    async def _stop_poller(self, channel: str) -> None:
        poller = self.pollers.pop(channel, None)
        if poller is not None:
            await poller.stop()

    async def start_polling(self) -> None:
        async with self._lock:
            self.polling = True
            for channel in POLLED:
                live = self.live.get(channel)
                if live is not None and channel not in self.pollers:
                    self._start_poller(channel, live.connector)

    async def stop_polling(self) -> None:
        async with self._lock:
            self.polling = False
            for channel in list(self.pollers):
                await self._stop_poller(channel)

    async def close(self) -> None:
        await self.stop_polling()
        for live in list(self.live.values()):
            if hasattr(live.connector, "aclose"):
                await live.connector.aclose()
        self.live.clear()
        self.connectors.clear()

    # -- what the webhook routes need --------------------------------------------------------------------

    def env_for(self, channel: str) -> Mapping[str, str]:
        live = self.live.get(channel)
        return live.env if live is not None else self.base_env

    def app_secrets(self, channels: tuple[str, ...]) -> list[str]:
        """The Meta app secrets webhooks for these channels may be signed with (one app usually serves all)."""
        found = [self.env_for(c).get("WORKSTATION_META_APP_SECRET", "") for c in channels]
        found.append(self.base_env.get("WORKSTATION_META_APP_SECRET", ""))
        return list(dict.fromkeys(s for s in found if s))

    def verify_tokens(self) -> list[str]:
        found = [self.env_for(c).get("WORKSTATION_META_VERIFY_TOKEN", "") for c in WEBHOOK_CHANNELS]
        found.append(self.base_env.get("WORKSTATION_META_VERIFY_TOKEN", ""))
        return list(dict.fromkeys(s for s in found if s))

    def account_id(self, channel: str) -> str:
        """Our account's id on a webhook channel (only its messages are ours), or "" when not set."""
        names = {"whatsapp": "WORKSTATION_WHATSAPP_PHONE_NUMBER_ID", "messenger": "WORKSTATION_MESSENGER_PAGE_ID",
                 "instagram": "WORKSTATION_INSTAGRAM_ACCOUNT_ID"}
        return (self.env_for(channel).get(names[channel]) or "").strip()

    # -- health ------------------------------------------------------------------------------------------

    def note_due(self, channel: str, kind: str = "send") -> bool:
        """Whether a success of this kind would be written now (cheap: callers skip the thread hop if not)."""
        return time.monotonic() - self._health_written.get(f"{channel}:{kind}", -1e9) >= HEALTH_WRITE_SECONDS

    def note(self, channel: str, *, error: ChannelError | None = None, kind: str = "send") -> None:
        """Records that a webhook arrived or a send worked (at most every HEALTH_WRITE_SECONDS), or that a send
        failed for good (always). Called from worker threads."""
        now = time.monotonic()
        if error is None:
            if now - self._health_written.get(f"{channel}:{kind}", -1e9) < HEALTH_WRITE_SECONDS:
                return
            self._health_written[f"{channel}:{kind}"] = now
            at = utcnow().isoformat()
            extra = {"last_webhook_at": at} if kind == "webhook" else {"last_send_at": at}
            polling.record_health(self.engine, channel, ok=True, **extra)
        else:
            polling.record_health(self.engine, channel, ok=False, error=error)


def problems(channel: str, *, connected: bool, unreadable: bool, health: Mapping[str, Any],
             token_expires_at: datetime | None, connected_at: datetime | None,
             now: datetime | None = None) -> list[str]:
    """What the admin should fix, as codes the app words in the agent's language (most urgent first)."""
    now = now or datetime.now(timezone.utc)
    if unreadable:
        return ["credentials_unreadable"]
    if not connected:
        return ["not_connected"]
    found = []
    if token_expires_at is not None:
        if token_expires_at <= now:
            found.append("token_expired")
        elif token_expires_at - now <= EXPIRY_WARNING:
            found.append("token_expires_soon")
    last_ok = _time(health.get("last_ok_at"))
    last_error = _time(health.get("last_error_at"))
    if last_error is not None and (last_ok is None or last_error >= last_ok):
        kind = health.get("last_error_kind")
        found.append({ErrorKind.AUTH_EXPIRED: "auth_refused", ErrorKind.PERMISSION: "permission_missing"}
                     .get(kind, "provider_failing"))
    if channel in POLLED:
        since = last_ok or connected_at
        if since is not None and now - since > POLL_STALE and "provider_failing" not in found:
            found.append("poll_stale")
    elif health.get("last_webhook_at") is None:
        found.append("webhook_waiting")
    return found


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


async def check_connector(connector: Any) -> AccountCheck | None:
    """The provider's answer to a live credentials check, or None when the connector has no check."""
    check = getattr(connector, "check", None)
    if check is None:
        return None
    return await check()
