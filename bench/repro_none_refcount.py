"""Not a benchmark: shows the PySide6 reference leak on None that crashes the app on Python 3.11.

    uv run python bench/repro_none_refcount.py           # references lost per call
    uv run python bench/repro_none_refcount.py --crash   # ... until the interpreter aborts

With PySide6 6.12.0 on CPython 3.11, every call from Python that returns None through PySide6 - any void
method (QPainter.save, QFont.setBold, QPainter.setFont, ...) and `QModelIndex.data(role)` yielding None -
drops one reference to None that was never taken. Python < 3.12 counts references to None like any other
object (3.12 made None immortal); when the count reaches zero the interpreter aborts with
"Fatal Python error: none_dealloc: deallocating None". The app holds ~50k references to None after its
imports, and its delegates make dozens of void Qt calls per painted row, so a busy window dies within
seconds to minutes (bench/live_latency.py measured 3,000-7,000 lost references per second at 100 msg/s).
Calls from C++ into Python (a view asking a Python model for data) do not leak.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import __version__ as pyside_version  # noqa: E402
from PySide6.QtCore import QAbstractListModel, QModelIndex, QSortFilterProxyModel, Qt  # noqa: E402
from PySide6.QtGui import QFont, QPainter, QPixmap, QStandardItem, QStandardItemModel  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


class NoneModel(QAbstractListModel):
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else 10

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        return "x" if role == Qt.ItemDataRole.DisplayRole else None


def main() -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])  # noqa: F841
    model = NoneModel()
    idx = model.index(0, 0)
    std = QStandardItemModel()
    std.appendRow(QStandardItem("a"))
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(model)
    pixmap = QPixmap(20, 20)
    painter = QPainter(pixmap)
    font = QFont()
    cases = (
        ("QFont.setBold(True) (a void method)", lambda: font.setBold(True)),
        ("QPainter.save() (a void method)", lambda: painter.save() or painter.restore()),
        ("QStandardItemModel (C++) index.data(unset role) -> None", lambda: std.index(0, 0).data(Qt.ItemDataRole.UserRole + 1)),
        ("Python model returning None, via a C++ proxy -> None", lambda: proxy.index(0, 0).data(Qt.ItemDataRole.UserRole + 1)),
        ("Python model returning None, QModelIndex.data(role)", lambda: idx.data(Qt.ItemDataRole.UserRole + 1)),
        ("Python model returning a str, QModelIndex.data(role)", lambda: idx.data(Qt.ItemDataRole.DisplayRole)),
        ("Python model returning None, model.data(index, role) (pure Python call)",
         lambda: model.data(idx, Qt.ItemDataRole.UserRole + 1)),
    )
    print(f"PySide6 {pyside_version}, Python {sys.version.split()[0]}; references to None now: {sys.getrefcount(None)}")
    if "--crash" in sys.argv:
        print("calling QFont.setBold until the interpreter aborts ...", flush=True)
        while True:
            font.setBold(True)
    if sys.version_info < (3, 12):
        # Lend None enough references for the measurement below, so this script itself exits cleanly.
        import ctypes

        ctypes.c_ssize_t.from_address(id(None)).value += 1_000_000
    for label, call in cases:
        before = sys.getrefcount(None)
        for _ in range(1000):
            call()
        print(f"  {(sys.getrefcount(None) - before) / 1000:+.2f} references to None per call   {label}")
    print("(`--crash`: call a void Qt method in a loop until Python aborts with none_dealloc)")
    painter.end()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
