"""Channel setup: an admin connects, tests and disconnects channels; leads see each channel's health."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, status
from sqlmodel import Session

from services.channels.base import ChannelError, ErrorKind
from services.teamserver import channel_setup as setup
from services.teamserver import pollers, routing
from services.teamserver.deps import AdminAgent, CurrentAgent
from services.teamserver.models import Agent, ChannelAccount, utcnow
from services.teamserver.secretbox import Unreadable
from workstation import protocol

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["channels"])
ChannelName = Annotated[str, Path(pattern="^(whatsapp|messenger|instagram|x|telegram|email)$")]
WEBHOOK_PATHS = {"whatsapp": "/webhooks/whatsapp", "messenger": "/webhooks/meta", "instagram": "/webhooks/meta"}


def _hub(request: Request) -> setup.ChannelHub:
    return request.app.state.channels


def _lead(agent: Agent) -> None:
    if not routing.is_lead(agent):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "leads and admins only")


def _public(hub: setup.ChannelHub, channel: str, row: ChannelAccount | None, names: dict[int, str]) -> protocol.ChannelPublic:
    live = hub.live.get(channel)
    unreadable = channel in hub.unreadable
    health = pollers.read_health(hub.engine, channel)
    source = "app" if row is not None else ("environment" if live is not None else "")
    connected = live is not None
    secrets_set: list[str] = []
    if row is not None and not unreadable:
        try:
            secrets_set = sorted(k for k, v in hub.open_secrets(row).items() if v)
        except (Unreadable, ValueError):
            unreadable = True
    problems = setup.problems(channel, connected=connected, unreadable=unreadable, health=health,
                              token_expires_at=row.token_expires_at if row else None,
                              connected_at=row.connected_at if row else None)
    settings = json.loads(row.settings_json) if row else {}
    if row is None and live is not None:
        # Set in the server's environment: its ids and addresses fill the form, and its secrets are kept if the
        # admin connects it from the app without retyping them.
        settings, env_secrets = setup.settings_from_env(channel, live.env)
        secrets_set = sorted(env_secrets)
        ids = [settings.get(f.name, "") for f in setup.CHANNEL_FIELDS[channel] if f.required and not f.secret]
        account_id = next((value for value in ids if value), "")
    else:
        account_id = row.account_id if row else ""
    return protocol.ChannelPublic(
        channel=channel, connected=connected, source=source,
        account_id=account_id,
        account_name=row.account_name if row else "",
        settings=settings,
        secrets_set=secrets_set,
        token_expires_at=row.token_expires_at if row else None,
        connected_at=row.connected_at if row else None,
        connected_by_name=names.get(row.connected_by_agent_id or 0, "") if row else "",
        webhook_path=WEBHOOK_PATHS.get(channel, ""),
        health=protocol.ChannelHealth.model_validate({k: v for k, v in health.items()
                                                      if k in protocol.ChannelHealth.model_fields}),
        problems=problems,
        fields=[protocol.ChannelField(**spec.public()) for spec in setup.CHANNEL_FIELDS[channel]],
    )


def _listing(hub: setup.ChannelHub, only: str | None = None) -> list[protocol.ChannelPublic]:
    stored = hub.stored()
    with Session(hub.engine) as s:
        ids = {row.connected_by_agent_id for row in stored.values() if row.connected_by_agent_id}
        names = {i: a.name for i in ids if (a := s.get(Agent, i)) is not None}
    return [_public(hub, channel, stored.get(channel), names) for channel in setup.CHANNELS
            if only is None or channel == only]


@router.get("/channels", response_model=list[protocol.ChannelPublic])
async def list_channels(agent: CurrentAgent, request: Request) -> list[protocol.ChannelPublic]:
    """Every channel: connected or not, by whom, its health and what to fix. Leads and admins."""
    _lead(agent)
    return await asyncio.to_thread(_listing, _hub(request))


def _refusal(exc: ChannelError) -> HTTPException:
    """A failed live check as a 422 the app words: the kind, and the provider's reason (never a secret)."""
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                         {"kind": str(exc.kind), "message": exc.title, "code": exc.code})


async def _check(hub: setup.ChannelHub, channel: str, env: dict[str, str]):
    """Builds a connector for these settings and asks the provider whether they work."""
    try:
        connector = hub.prepare(channel, setup.build_connector(channel, env, hub.client), env)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, {"kind": "bad_request", "message": str(exc)})
    if connector is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            {"kind": "bad_request", "message": "these settings do not configure the channel"})
    try:
        return await setup.check_connector(connector)
    except ChannelError as exc:
        log.warning("%s: the connection check failed (%s: %s)", channel, exc.kind, exc.title)
        raise _refusal(exc) from None
    except Exception as exc:  # a connector bug must not leak settings in a 500
        log.error("%s: the connection check failed unexpectedly (%s)", channel, type(exc).__name__)
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            {"kind": "unknown", "message": "the connection check failed"}) from None
    finally:
        if connector is not hub.connectors.get(channel) and hasattr(connector, "aclose"):
            await connector.aclose()


@router.put("/channels/{channel}", response_model=protocol.ChannelPublic)
async def connect_channel(channel: ChannelName, body: protocol.ChannelConnect, agent: AdminAgent,
                          request: Request) -> protocol.ChannelPublic:
    """Connects (or changes) a channel: the settings are tested against the provider first; only settings
    that work are kept, the secret ones sealed."""
    hub = _hub(request)
    row = (await asyncio.to_thread(hub.stored)).get(channel)
    kept: dict[str, str] = {}
    if row is not None:
        try:
            kept = hub.open_secrets(row)
        except (Unreadable, ValueError):
            kept = {}  # unreadable: every secret must be given again
    elif channel in hub.live:
        kept = setup.settings_from_env(channel, hub.live[channel].env)[1]  # moving it from the environment
    try:
        plain, secrets = setup.clean_settings(channel, body.settings, body.secrets, kept)
    except setup.SetupError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            {"kind": "bad_request", "message": str(exc), "field": exc.field}) from None
    found = await _check(hub, channel, {**hub.base_env, **setup.channel_env(channel, plain, secrets)})

    def save() -> None:
        with Session(hub.engine) as s:
            stored = s.get(ChannelAccount, channel) or ChannelAccount(channel=channel)
            stored.settings_json = json.dumps(plain, sort_keys=True)
            stored.secrets_sealed = hub.box.seal(json.dumps(secrets).encode("utf-8"), bound_to=channel) if secrets else ""
            stored.account_id = found.account_id if found else ""
            stored.account_name = found.name if found else ""
            # A token the server refreshes by itself (X with a refresh token) does not need the admin.
            stored.token_expires_at = found.token_expires_at if found and "refresh_token" not in secrets else None
            stored.connected_at = utcnow()
            stored.connected_by_agent_id = agent.id
            s.add(stored)
            s.commit()
        # A fresh start for the health: errors of the old settings are not this connection's.
        pollers.clear_health(hub.engine, channel)
        pollers.record_health(hub.engine, channel, ok=True)

    await asyncio.to_thread(save)
    log.info("%s connected by agent %s", channel, agent.id)
    await hub.reload()
    hub.changed()
    return (await asyncio.to_thread(_listing, hub, channel))[0]


@router.post("/channels/{channel}/check", response_model=protocol.ChannelPublic)
async def check_channel(channel: ChannelName, agent: AdminAgent, request: Request) -> protocol.ChannelPublic:
    """Tests the channel's current settings again; the result is the channel's health."""
    hub = _hub(request)
    live = hub.live.get(channel)
    if live is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "the channel is not connected")
    try:
        found = await setup.check_connector(live.connector)
    except ChannelError as exc:
        await asyncio.to_thread(pollers.record_health, hub.engine, channel, ok=False, error=exc)
        raise _refusal(exc) from None

    def record() -> None:
        pollers.record_health(hub.engine, channel, ok=True)
        if found is None:
            return
        with Session(hub.engine) as s:
            stored = s.get(ChannelAccount, channel)
            if stored is not None:
                stored.account_id, stored.account_name = found.account_id, found.name
                if "WORKSTATION_X_REFRESH_TOKEN" not in live.env:
                    stored.token_expires_at = found.token_expires_at
                s.add(stored)
                s.commit()

    await asyncio.to_thread(record)
    return (await asyncio.to_thread(_listing, hub, channel))[0]


@router.delete("/channels/{channel}", status_code=status.HTTP_204_NO_CONTENT)
async def disconnect_channel(channel: ChannelName, agent: AdminAgent, request: Request) -> None:
    """Forgets the channel's stored settings (its conversations stay). A channel also set in the server's
    environment goes back to those settings."""
    hub = _hub(request)

    def delete() -> bool:
        with Session(hub.engine) as s:
            stored = s.get(ChannelAccount, channel)
            if stored is None:
                return False
            s.delete(stored)
            s.commit()
        pollers.clear_health(hub.engine, channel)
        return True

    if not await asyncio.to_thread(delete):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the channel was not connected from the app")
    log.info("%s disconnected by agent %s", channel, agent.id)
    await hub.reload()
    hub.changed()
