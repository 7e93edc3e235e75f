"""The team server's FastAPI application."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from sqlmodel import Session

from services.channels.whatsapp import WhatsAppConnector
from services.teamserver import changes
from services.teamserver.config import Settings
from services.teamserver.db import init_db, make_engine
from services.teamserver.dispatcher import Dispatcher
from services.teamserver.events import Broadcaster
from services.teamserver.routes import conversations, session, sync, webhooks
from workstation import __version__

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    engine = make_engine(settings.db_url)
    epoch = init_db(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        with Session(engine) as s:
            broadcaster = Broadcaster(changes.latest_seq(s))
        broadcaster.bind(asyncio.get_running_loop())
        client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))
        connectors = {}
        if settings.whatsapp_token and settings.whatsapp_phone_number_id:
            connectors["whatsapp"] = WhatsAppConnector(
                app_secret=settings.meta_app_secret,
                access_token=settings.whatsapp_token,
                phone_number_id=settings.whatsapp_phone_number_id,
                api_base=settings.whatsapp_api_base,
                api_version=settings.whatsapp_api_version,
                client=client,
                timeout=settings.whatsapp_timeout,
            )
        else:
            log.warning("WhatsApp sending is off: token or phone-number id not configured")
        dispatcher = Dispatcher(engine, broadcaster, connectors, attempts=settings.send_attempts,
                                base_delay=settings.send_retry_base, max_delay=settings.send_retry_max)
        app.state.broadcaster = broadcaster
        app.state.dispatcher = dispatcher
        await dispatcher.start()
        try:
            yield
        finally:
            broadcaster.close()
            await dispatcher.stop()
            await client.aclose()
            engine.dispose()

    app = FastAPI(title="Workstation team server", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.epoch = epoch
    app.include_router(session.router)
    app.include_router(sync.router)
    app.include_router(conversations.router)
    app.include_router(webhooks.router)

    @app.get("/v1/health", tags=["health"])
    def health() -> dict:
        return {"ok": True, "version": __version__}

    return app
