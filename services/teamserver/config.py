"""Team server settings, read from the environment (secrets never come from code or the command line)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Settings:
    db_url: str = "sqlite:///workstation-team.sqlite"
    meta_app_secret: str = field(default="", repr=False)
    meta_verify_token: str = field(default="", repr=False)
    whatsapp_token: str = field(default="", repr=False)
    whatsapp_phone_number_id: str = ""
    whatsapp_api_base: str = "https://graph.facebook.com"
    whatsapp_api_version: str = "v21.0"
    max_webhook_bytes: int = 1024 * 1024
    # Agent API bodies are small JSON documents: a 4,096-character reply is under 25 KB even escaped.
    max_api_bytes: int = 64 * 1024
    sync_page_max: int = 1000
    # Retryable provider errors (throughput, 5xx, timeouts) are retried with capped exponential backoff
    # (a provider's Retry-After wins) this many times before the reply is shown as failed.
    send_attempts: int = 12
    send_retry_base: float = 0.5
    send_retry_max: float = 30.0
    whatsapp_timeout: float = 10.0
    # Sign-in throttling: failed attempts per email and per client IP within a sliding window (0 = off).
    login_max_failures_per_email: int = 5
    login_max_failures_per_ip: int = 20
    login_window_seconds: float = 15 * 60.0
    # Session tokens end after this long unused (idle) and, used or not, this long after sign-in.
    session_idle_seconds: float = 12 * 3600.0
    session_max_age_seconds: float = 7 * 24 * 3600.0
    # A used token's last_used_at/expires_at are written at most once per this interval, not per request.
    session_touch_seconds: float = 5 * 60.0
    # Open event streams re-check their token (revoked, expired) this often.
    session_recheck_seconds: float = 15.0
    # An open event stream marks its agent as connected this often (the offline grace counts from it).
    presence_touch_seconds: float = 15.0
    # The router runs after changes and at least this often (shift starts, reclaim, disconnects).
    routing_tick_seconds: float = 2.0
    # Every WORKSTATION_* variable, for the connectors that read their own (WORKSTATION_TELEGRAM_TOKEN, …;
    # see services/teamserver/channel_setup.py). Holds secrets: never printed.
    channel_env: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_env(cls, *, db_url: str | None = None, env: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        defaults = cls()
        return cls(
            db_url=db_url or env.get("WORKSTATION_DB_URL", defaults.db_url),
            meta_app_secret=env.get("WORKSTATION_META_APP_SECRET", ""),
            meta_verify_token=env.get("WORKSTATION_META_VERIFY_TOKEN", ""),
            whatsapp_token=env.get("WORKSTATION_WHATSAPP_TOKEN", ""),
            whatsapp_phone_number_id=env.get("WORKSTATION_WHATSAPP_PHONE_NUMBER_ID", ""),
            whatsapp_api_base=env.get("WORKSTATION_WHATSAPP_API_BASE", defaults.whatsapp_api_base),
            whatsapp_api_version=env.get("WORKSTATION_WHATSAPP_API_VERSION", defaults.whatsapp_api_version),
            send_attempts=int(env.get("WORKSTATION_SEND_ATTEMPTS", defaults.send_attempts)),
            send_retry_base=float(env.get("WORKSTATION_SEND_RETRY_BASE", defaults.send_retry_base)),
            send_retry_max=float(env.get("WORKSTATION_SEND_RETRY_MAX", defaults.send_retry_max)),
            whatsapp_timeout=float(env.get("WORKSTATION_WHATSAPP_TIMEOUT", defaults.whatsapp_timeout)),
            **_number_overrides(env, defaults, _LIMIT_FIELDS),
            channel_env={k: v for k, v in env.items() if k.startswith("WORKSTATION_")},
        )


_LIMIT_FIELDS = ("login_max_failures_per_email", "login_max_failures_per_ip", "login_window_seconds",
                 "session_idle_seconds", "session_max_age_seconds", "session_touch_seconds",
                 "session_recheck_seconds", "presence_touch_seconds", "routing_tick_seconds")


def _number_overrides(env: dict[str, str], defaults: Settings, names: tuple[str, ...]) -> dict:
    """WORKSTATION_<FIELD> overrides for numeric fields, converted to the field's type."""
    out = {}
    for name in names:
        raw = env.get("WORKSTATION_" + name.upper())
        if raw is not None and raw.strip():
            out[name] = type(getattr(defaults, name))(raw)
    return out
