"""The Spanish translation: current with the UI sources, complete, compiled, and found where the app looks."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QLocale, QTranslator

ROOT = Path(__file__).resolve().parents[3]


def _load_tool():
    path = ROOT / "tools" / "i18n.py"
    spec = importlib.util.spec_from_file_location("workstation_tools_i18n", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


i18n_tool = _load_tool()
TS = i18n_tool.ts_path("es")
QM = i18n_tool.qm_path("es")


@pytest.fixture(scope="module")
def report():
    return i18n_tool.check("es")


@pytest.fixture
def translator(qapp) -> QTranslator:
    t = QTranslator()
    assert t.load(str(QM)), f"cannot load {QM}"
    return t


def _shipped_messages():
    """Finished messages under contexts Qt really looks up (the ones the .qm must carry)."""
    known = i18n_tool.runtime_contexts()
    return [m for m in i18n_tool.read_ts(TS) if m.finished and m.key.context in known]


def test_ts_is_current_with_the_sources_and_complete(report):
    problems = report.missing + report.extra + report.unfinished + report.bad_placeholders
    assert not problems, "run `uv run python tools/i18n.py` and translate:\n" + "\n".join(report.lines())


def test_every_extracted_string_has_a_runtime_context(report):
    assert not report.wrong_context, "\n".join(report.lines())


def test_real_strings_translate(translator):
    expected = {
        ("MainWindow", "Conversations"): "Conversaciones",
        ("MainWindow", "Canned responses"): "Respuestas predefinidas",
        ("MainWindow", "● Offline — reconnecting"): "● Sin conexión — reconectando",
        ("Composer", "Send"): "Enviar",
        ("ThreadModel", "Sending…"): "Enviando…",
        ("ThreadModel", "✓✓ Read"): "✓✓ Leído",
    }
    got = {key: translator.translate(*key) for key in expected}
    assert got == expected


def test_qm_is_compiled_from_the_current_ts(translator):
    messages = _shipped_messages()
    assert len(messages) > 20
    stale = [(str(m.key), m.translation, translator.translate(m.key.context, m.key.source, m.key.comment or None))
             for m in messages
             if translator.translate(m.key.context, m.key.source, m.key.comment or None) != m.translation]
    assert not stale, "the .qm is older than the .ts; run `uv run python tools/i18n.py`:\n" + "\n".join(map(str, stale))


def test_placeholders_survive_translation(translator):
    with_placeholders = [m for m in _shipped_messages() if "%1" in m.key.source]
    assert with_placeholders, "expected some messages with %1 (e.g. the window title)"
    broken = []
    for m in with_placeholders:
        translated = translator.translate(m.key.context, m.key.source, m.key.comment or None)
        wanted = sorted(i18n_tool.PLACEHOLDER.findall(m.key.source))
        if sorted(i18n_tool.PLACEHOLDER.findall(translated)) != wanted:
            broken.append(f"{m.key}: {translated!r}")
    assert not broken, "\n".join(broken)


def test_the_app_installs_the_spanish_translation(qapp):
    from ui import i18n

    previous_locale = QLocale()
    translators = i18n.install(qapp, "es")
    try:
        assert QCoreApplication.translate("MainWindow", "Conversations") == "Conversaciones"
        assert QCoreApplication.translate("MainWindow", "%1 queued").replace("%1", "3") == "3 en cola"
    finally:
        for t in translators:
            QCoreApplication.removeTranslator(t)
        QLocale.setDefault(previous_locale)
    assert QCoreApplication.translate("MainWindow", "Conversations") == "Conversations"
