"""The team server's FastAPI application."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from sqlmodel import Session

from services.teamserver.channel_setup import NOTIFY_CHANNEL as CHANNELS_CHANNEL, ChannelHub
from services.teamserver import care, changes, hygiene
from services.teamserver.config import Settings
from services.teamserver.db import init_db, is_postgres, libpq_dsn, make_engine, read_only
from services.teamserver.dispatcher import Dispatcher
from services.teamserver.events import Broadcaster, PresenceHub
from services.teamserver.ingestor import Ingestor
from services.teamserver.routes import agents, care as care_routes, conversations, session, sync, webhooks
from services.teamserver.routes import kpi as kpi_routes
from services.teamserver.routes import crisis as crisis_routes
from services.teamserver.routes import identities as identity_routes
from services.teamserver.routes import channels as channel_routes
from services.teamserver.profiles import ProfileLookup
from services.teamserver.routing import Router
from workstation import __version__

log = logging.getLogger(__name__)


class BodyLimit:
    """Refuses request bodies over a limit (413) before they are read into memory: the agent API takes
    small JSON documents; webhooks get their own, larger limit in their route."""

    def __init__(self, app, *, api_limit: int, webhook_limit: int) -> None:
        self.app = app
        self.api_limit = api_limit
        self.webhook_limit = webhook_limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.webhook_limit if scope["path"].startswith("/webhooks/") else self.api_limit
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await _too_large(send)
        seen = 0

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _BodyTooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await _too_large(send)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send) -> None:
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"detail":"request body too large"}'})


def _latest_seq(engine) -> int:
    with Session(engine) as s:
        return changes.latest_seq(s)


PRESENCE_CHANNEL = "workstation_presence"


def _channel_base_env(settings: Settings) -> dict[str, str]:
    """The WORKSTATION_* variables the connectors read, with the WhatsApp settings given as fields."""
    env = dict(settings.channel_env)
    for name, value in (("WORKSTATION_META_APP_SECRET", settings.meta_app_secret),
                        ("WORKSTATION_META_VERIFY_TOKEN", settings.meta_verify_token),
                        ("WORKSTATION_WHATSAPP_TOKEN", settings.whatsapp_token),
                        ("WORKSTATION_WHATSAPP_PHONE_NUMBER_ID", settings.whatsapp_phone_number_id),
                        ("WORKSTATION_WHATSAPP_API_BASE", settings.whatsapp_api_base),
                        ("WORKSTATION_WHATSAPP_API_VERSION", settings.whatsapp_api_version),
                        ("WORKSTATION_WHATSAPP_TIMEOUT", str(settings.whatsapp_timeout))):
        if value:
            env.setdefault(name, value)
    return env


async def _start_all(dispatcher: Dispatcher, router: Router, hub: ChannelHub) -> None:
    await dispatcher.start()
    await router.start()
    await hub.start_polling()


async def _stop_all(dispatcher: Dispatcher, router: Router, hub: ChannelHub) -> None:
    await hub.stop_polling()
    await router.stop()
    await dispatcher.stop()


def _pg_notifier(engine, channel: str):
    def notify(payload: str) -> None:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_notify(:c, :p)"), {"c": channel, "p": payload})
            conn.commit()
    return notify


def create_app(settings: Settings) -> FastAPI:
    engine = make_engine(settings.db_url)
    epoch = init_db(engine)
    care.ensure_seeded(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        with Session(engine) as s:
            broadcaster = Broadcaster(changes.latest_seq(s))
        broadcaster.bind(asyncio.get_running_loop())
        client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))
        postgres = is_postgres(engine)
        announce = _pg_notifier(engine, CHANNELS_CHANNEL) if postgres else None
        # Every channel, connected from the app (sealed in the database) or set in the environment.
        hub = ChannelHub(engine, _channel_base_env(settings), client, announce=announce)
        await asyncio.to_thread(hub.load)
        app.state.channels = hub
        connectors = hub.connectors
        if "whatsapp" not in connectors:
            log.warning("WhatsApp sending is off: token or phone-number id not configured")
        dispatcher = Dispatcher(engine, broadcaster, connectors, attempts=settings.send_attempts,
                                base_delay=settings.send_retry_base, max_delay=settings.send_retry_max,
                                on_outcome=hub.note, outcome_due=hub.note_due)
        app.state.broadcaster = broadcaster
        app.state.dispatcher = dispatcher
        router = Router(engine, broadcaster, tick=settings.routing_tick_seconds, on_replies=dispatcher.submit)
        app.state.router = router
        app.state.presence = PresenceHub(broadcaster, _pg_notifier(engine, PRESENCE_CHANNEL) if postgres else None)
        ingestor = Ingestor(engine, broadcaster, on_replies=dispatcher.submit)
        ingestor.start()
        app.state.ingestor = ingestor
        # Names of Messenger and Instagram customers (their webhooks carry only an id), on every worker.
        profiles = ProfileLookup(engine, broadcaster, hub.connectors)
        profiles.start()
        app.state.profiles = profiles
        # Polled channels store through the same writer as webhooks; only the elected worker polls.
        hub.store = ingestor.submit
        background = []
        if postgres:
            # Several workers share the database: changes committed by any of them reach every worker's
            # event streams, and one elected worker sends the replies.
            from services.teamserver import pgbus

            async def catch_up() -> None:
                broadcaster.publish(await asyncio.to_thread(_latest_seq, engine))
                await dispatcher.rescan()
                await hub.reload()  # channel changes announced while we were away

            dsn = libpq_dsn(engine)
            background = [
                pgbus.Listener(dsn, {
                    changes.NOTIFY_CHANNEL: lambda payload: broadcaster.publish(int(payload)),
                    changes.OUTBOX_CHANNEL: lambda payload: dispatcher.submit(None, int(payload)),
                    PRESENCE_CHANNEL: app.state.presence.deliver,
                    # Another worker connected or disconnected a channel: apply it here too.
                    CHANNELS_CHANNEL: lambda payload: hub.reload_soon(),
                }, on_connect=catch_up),
                # The elected worker sends the replies and routes the queue.
                pgbus.LeaderElection(dsn, on_elected=lambda: _start_all(dispatcher, router, hub),
                                     on_deposed=lambda: _stop_all(dispatcher, router, hub)),
            ]
            for task in background:
                task.start()
        else:
            await _start_all(dispatcher, router, hub)
        try:
            yield
        finally:
            await router.stop()
            await profiles.stop()
            await asyncio.to_thread(ingestor.stop)
            broadcaster.close()
            for task in background:
                await task.stop()
            await _stop_all(dispatcher, router, hub)
            await hub.close()
            await client.aclose()
            engine.dispose()

    app = FastAPI(title="Workstation team server", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.read_engine = read_only(engine)
    app.state.epoch = epoch
    app.state.page_cache = sync.PageCache()
    app.include_router(session.router)
    app.include_router(sync.router)
    app.include_router(conversations.router)
    app.include_router(agents.router)
    app.include_router(care_routes.router)
    app.include_router(kpi_routes.router)
    app.include_router(crisis_routes.router)
    app.include_router(identity_routes.router)
    app.include_router(channel_routes.router)
    app.include_router(webhooks.router)
    hygiene.install(app)  # JSON depth limit and encodable 422s; added first, so BodyLimit wraps it
    app.add_middleware(BodyLimit, api_limit=settings.max_api_bytes, webhook_limit=settings.max_webhook_bytes)

    @app.get("/v1/health", tags=["health"])
    def health() -> dict:
        return {"ok": True, "version": __version__}

    return app
