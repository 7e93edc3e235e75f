"""Logging for every process of the app: one line per record on stderr, tokens never included."""

from __future__ import annotations

import logging
import os


def configure(default_level: str = "INFO") -> None:
    level = os.environ.get("WORKSTATION_LOG_LEVEL", default_level).upper()
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request URL at INFO; keep it to warnings so the logs stay about our events.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
