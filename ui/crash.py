"""Uncaught exceptions: logged with context to the user log folder, shown as a short dialog; the app goes on."""

from __future__ import annotations

import logging
import platform
import sys
import traceback
from datetime import datetime, timezone
from pathlib import Path

import platformdirs
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from workstation import __version__

log = logging.getLogger(__name__)


def crash_log_path() -> Path:
    folder = Path(platformdirs.user_log_dir("Workstation", appauthor=False))
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "crash.log"


def report(exc_type, exc, tb, *, context: str = "") -> Path:
    """Appends the exception with context to the crash log and shows a non-modal notice."""
    path = crash_log_path()
    lines = [
        f"== {datetime.now(timezone.utc).isoformat()} Workstation {__version__} "
        f"Python {platform.python_version()} {platform.platform()}",
    ]
    if context:
        lines.append(f"context: {context}")
    lines.append("".join(traceback.format_exception(exc_type, exc, tb)))
    with path.open("a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    log.error("unexpected error (details in %s)", path, exc_info=(exc_type, exc, tb))
    app = QApplication.instance()
    if app is not None and not getattr(app, "_crash_dialog_open", False):
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            QCoreApplication.translate("crash", "Something went wrong"),
            QCoreApplication.translate(
                "crash", "Workstation hit an unexpected error and carried on. Details were saved to %1."
            ).replace("%1", str(path)),
            QMessageBox.StandardButton.Ok,
            app.activeWindow(),
        )
        box.setObjectName("crashDialog")
        app._crash_dialog_open = True
        box.finished.connect(lambda _result: setattr(app, "_crash_dialog_open", False))
        # Non-modal: a nested modal loop would stall the asyncio tasks that keep syncing.
        box.open()
        app._crash_dialog = box
    return path


def install() -> None:
    sys.excepthook = lambda t, e, tb: report(t, e, tb, context="uncaught")
