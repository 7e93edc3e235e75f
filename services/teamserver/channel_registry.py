"""The polled channels this server runs, built from its settings.

Each polled channel's module in services/channels offers `from_env(env, client)`, which returns a connector
(with `send` and `poll`) when its WORKSTATION_<CHANNEL>_* variables are set, else None. The server sends
through it like through the webhook channels, and runs a `pollers.Poller` for it on the elected worker.
"""

from __future__ import annotations

import importlib
import logging
from typing import Mapping

import httpx

log = logging.getLogger(__name__)

POLLED_MODULES = ("services.channels.telegram", "services.channels.x", "services.channels.email")


def polled_connectors(env: Mapping[str, str], client: httpx.AsyncClient) -> list:
    connectors = []
    for name in POLLED_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # not in this build
        connector = module.from_env(env, client)
        if connector is not None:
            log.info("%s: polling is on", connector.channel)
            connectors.append(connector)
    return connectors
