"""Interface language: Qt translators for our strings (.qm from resources/i18n) and Qt's own."""

from __future__ import annotations

import logging
import os

from PySide6.QtCore import QLibraryInfo, QLocale, QTranslator
from PySide6.QtWidgets import QApplication

from workstation.paths import resources_dir

log = logging.getLogger(__name__)
LANGUAGES = ("en", "es")


def pick_language(requested: str | None = None) -> str:
    for candidate in (requested, os.environ.get("WORKSTATION_LANG"), QLocale.system().name()[:2]):
        if candidate in LANGUAGES:
            return candidate
    return "en"


def install(app: QApplication, language: str) -> list[QTranslator]:
    """Loads the translators for `language` (English is the source language and needs none)."""
    QLocale.setDefault(QLocale(language))
    for old in getattr(app, "_workstation_translators", []):
        app.removeTranslator(old)
    translators: list[QTranslator] = []
    app._workstation_translators = translators  # installed translators must stay alive
    if language == "en":
        return translators
    ours = QTranslator(app)
    path = resources_dir() / "i18n" / f"workstation_{language}.qm"
    if ours.load(str(path)):
        translators.append(ours)
    else:
        log.warning("no translation file at %s; the interface stays in English", path)
    qt = QTranslator(app)
    if qt.load(f"qtbase_{language}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        translators.append(qt)
    for translator in translators:
        app.installTranslator(translator)
    return translators
