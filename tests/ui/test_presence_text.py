"""The header line that says which colleagues are in the open conversation."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from ui import i18n
from ui.agent_status import presence_text


@pytest.mark.parametrize("entries, expected", [
    ([], ""),
    ([("Ana Gómez", "viewing")], "Ana is viewing"),
    ([("Ana Gómez", "typing")], "Ana is typing…"),
    ([("Ana Gómez", "viewing"), ("Ben Carter", "viewing")], "Ana and Ben are viewing"),
    ([("Ben Carter", "typing"), ("Ana Gómez", "viewing")], "Ben is typing… · Ana is viewing"),
    ([("A", "viewing"), ("B", "viewing"), ("C", "viewing")], "A, B and C are viewing"),
    ([("A", "typing"), ("B", "typing"), ("C", "typing"), ("D", "typing")], "A, B and 2 others are typing…"),
])
def test_presence_reads_naturally(qapp, entries, expected):
    assert presence_text(entries) == expected


def test_names_are_plain_text_and_never_placeholders(qapp):
    assert presence_text([("%2 <b>x</b>", "viewing"), ("Ben", "viewing")]) == "%2 and Ben are viewing"


def test_presence_is_translated(qapp):
    i18n.install(QApplication.instance(), "es")
    try:
        assert presence_text([("Ana Gómez", "typing"), ("Ben Carter", "viewing")]) == \
            "Ana está escribiendo… · Ben está viendo"
    finally:
        i18n.install(QApplication.instance(), "en")
