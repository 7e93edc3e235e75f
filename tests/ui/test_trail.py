"""The assignment trail as the thread shows it: one translated sentence per change, drawn as a centred line."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QApplication, QListView, QStyleOptionViewItem

from ui import i18n
from ui.thread_delegate import ThreadDelegate
from ui.thread_model import DirectionRole, StatusTextRole, ThreadModel, trail_text
from workstation.cache import ThreadRow

AT = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)


def row(kind, *, source="", target="", actor="", reason="", key="a1") -> ThreadRow:
    return ThreadRow(key=key, direction="assignment", text="", created_at=AT, delivery_state="sent", error_kind=None,
                     error_title=None, op_state=None, op_error=None,
                     event={"kind": kind, "reason": reason, "from": source, "to": target, "actor": actor,
                            "from_id": None, "to_id": None, "actor_id": None})


@pytest.mark.parametrize("trail, expected", [
    (row("auto", target="Ana"), "Automatically assigned to Ana"),
    (row("manual", source="Ana", target="Ben", actor="Lucía", reason="customer speaks German"),
     "Lucía moved this from Ana to Ben: customer speaks German"),
    (row("manual", target="Ben", actor="Lucía"), "Lucía assigned this to Ben"),
    (row("manual", source="Ben", actor="Lucía"), "Lucía moved this from Ben to the queue"),
    (row("manual", target="Lucía", actor="Lucía"), "Lucía took this"),
    (row("take", target="Ana", actor="Ana"), "Ana took this"),
    (row("release", source="Ana", actor="Ana"), "Ana gave this back to the queue"),
    (row("reclaim", source="Ana", reason="unanswered for 15 min"), "Back to the queue: unanswered for 15 min"),
    (row("reclaim", source="Ana"), "Back to the queue"),
    (row("handoff", source="Ana", target="Ben", actor="Ana"), "Handed off by Ana to Ben"),
    (row("handoff", source="Ana", actor="Lucía", reason="end of shift"), "Handed back to the queue by Ana: end of shift"),
])
def test_each_kind_of_change_reads_as_a_sentence(qapp, trail, expected):
    assert trail_text(trail) == expected


def test_names_and_reasons_are_kept_as_given(qapp):
    # A name with a placeholder in it is not filled in again; markup stays text (the delegate never parses it).
    text = trail_text(row("manual", source="%2", target="<b>Ben</b>", actor="Lucía", reason="<i>VIP</i> %1"))
    assert text == "Lucía moved this from %2 to <b>Ben</b>: <i>VIP</i> %1"


def test_the_trail_is_translated(qapp):
    i18n.install(QApplication.instance(), "es")
    try:
        assert trail_text(row("auto", target="Ana")) == "Asignada automáticamente a Ana"
        assert trail_text(row("reclaim", reason="unanswered for 15 min")) == "De vuelta a la cola: unanswered for 15 min"
    finally:
        i18n.install(QApplication.instance(), "en")


def test_the_model_shows_the_sentence_and_the_time(qapp):
    model = ThreadModel()
    model.set_rows(1, [row("take", target="Ana", actor="Ana")])
    index = model.index(0)
    assert index.data() == "Ana took this" and index.data(DirectionRole) == "assignment"
    assert index.data(StatusTextRole)  # the time


def test_the_delegate_draws_one_centred_line_not_a_bubble(qapp):
    view = QListView()
    view.resize(800, 400)
    model = ThreadModel(view)
    model.set_rows(1, [row("take", target="Ana", actor="Ana")])
    view.setModel(model)
    delegate = ThreadDelegate(view)
    option = QStyleOptionViewItem()
    option.font = view.font()
    width = view.viewport().width()
    option.rect = QRect(0, 0, width, 40)
    hint = delegate.sizeHint(option, model.index(0))
    line_height = view.fontMetrics().height()
    assert hint.height() < 2 * line_height + 12  # a line, not a bubble with a status line under it
    option.rect = QRect(0, 0, width, hint.height())
    image = QImage(QSize(width, hint.height()), QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    delegate.paint(painter, option, model.index(0))
    painter.end()
    # Dark (text) pixels sit in the middle; the hairlines either side are light.
    dark = [x for x in range(width) for y in range(hint.height())
            if QColor(image.pixel(x, y)).lightness() < 160]
    assert dark, "nothing was drawn"
    left, right = min(dark), max(dark)
    assert abs((left + right) / 2 - width / 2) < 20
    assert left > width * 0.25 and right < width * 0.75
    view.deleteLater()
