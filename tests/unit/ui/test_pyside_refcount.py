"""Guards against a PySide6 build that drops references to None (6.12.0 on Python < 3.12 does).

Such a build aborts the app with "Fatal Python error: none_dealloc" after minutes of painting: every void
Qt call and every None from QModelIndex.data() gives back a reference to None it never took.
"""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QAbstractListModel, QModelIndex, Qt
from PySide6.QtGui import QFont, QPainter, QPixmap

CALLS = 1_000  # few enough that a leaking build fails the assertion before it aborts the process


class _Model(QAbstractListModel):
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 (Qt override)
        return 0 if parent.isValid() else 1

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        return None


def _drift(call) -> int:
    before = sys.getrefcount(None)
    for _ in range(CALLS):
        call()
    return sys.getrefcount(None) - before


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12")
def test_void_qt_calls_and_none_data_keep_none_alive(qapp):
    font = QFont()
    pixmap = QPixmap(8, 8)
    painter = QPainter(pixmap)
    model = _Model()
    index = model.index(0, 0)
    try:
        drifts = {
            "QFont.setBold": _drift(lambda: font.setBold(True)),
            "QPainter.save/restore": _drift(lambda: (painter.save(), painter.restore())),
            "QModelIndex.data -> None": _drift(lambda: index.data(Qt.ItemDataRole.UserRole + 1)),
        }
    finally:
        painter.end()
    # A few references may come and go with caches; a leaking build loses one per call (thousands).
    assert all(abs(d) < CALLS // 100 for d in drifts.values()), drifts
