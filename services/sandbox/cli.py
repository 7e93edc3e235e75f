"""Command-line entry point of the channel sandbox (`workstation sandbox ...`)."""

from __future__ import annotations

import logging
import os
import sys

from services import logctx
from services.serve import serve

log = logging.getLogger(__name__)


def run(*, server: str, host: str, port: int, fd: int | None, traffic: bool, interval: tuple[float, float],
        seed: int | None, exit_with_parent: bool) -> int:
    from services.sandbox.whatsapp_api import SandboxConfig, create_app

    env = os.environ
    missing = [k for k in ("WORKSTATION_META_APP_SECRET", "WORKSTATION_WHATSAPP_TOKEN") if not env.get(k)]
    if missing:
        print(f"workstation sandbox: set {' and '.join(missing)} (the same values the team server uses)",
              file=sys.stderr)
        return 2
    logctx.configure(secrets=(env["WORKSTATION_META_APP_SECRET"], env["WORKSTATION_WHATSAPP_TOKEN"],
                              env.get("WORKSTATION_META_VERIFY_TOKEN", "")))
    config = SandboxConfig(
        app_secret=env["WORKSTATION_META_APP_SECRET"],
        access_token=env["WORKSTATION_WHATSAPP_TOKEN"],
        phone_number_id=env.get("WORKSTATION_WHATSAPP_PHONE_NUMBER_ID", "100200300400500"),
        webhook_url=server.rstrip("/") + "/webhooks/whatsapp",
        traffic=traffic,
        traffic_interval=interval,
        traffic_seed=seed,
    )
    serve(create_app(config), host=host, port=port, fd=fd, exit_with_parent=exit_with_parent)
    return 0
