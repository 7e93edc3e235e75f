"""Draws the app icon (ui.style.app_icon: a blue rounded square with a white speech bubble) into files.

    QT_QPA_PLATFORM=offscreen uv run python packaging/make_icons.py

writes packaging/icons/hicolor/<N>x<N>/apps/workstation.png (the Linux icon theme layout),
packaging/icons/workstation.ico (Windows: installer and .exe; PNG entries 16-256 px) and
packaging/icons/workstation.icns (macOS .app). The files are committed; build_linux.sh only runs this when they are missing.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QBuffer, QByteArray, QIODevice  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImageWriter  # noqa: E402

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
OUT = Path(__file__).resolve().parent / "icons"


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (QPixmap needs it)
    from ui.style import app_icon

    images = {}
    for size in SIZES:
        # Drawn at every size (not scaled from one bitmap) so small sizes stay crisp.
        image = app_icon(size).pixmap(size, size).toImage()
        images[size] = image
        path = OUT / "hicolor" / f"{size}x{size}" / "apps" / "workstation.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(path), "PNG"):
            raise SystemExit(f"could not write {path}")
        print(path.relative_to(ROOT))
    path = OUT / "workstation.ico"
    path.write_bytes(_ico({size: _png(images[size]) for size in (16, 24, 32, 48, 64, 128, 256)}))
    print(path.relative_to(ROOT))
    # macOS: Qt's icns writer (imageformats plugin) from the 512 px image.
    if "icns" in {bytes(f).decode() for f in QImageWriter.supportedImageFormats()}:
        path = OUT / "workstation.icns"
        if not images[512].save(str(path), "icns"):
            raise SystemExit(f"could not write {path}")
        print(path.relative_to(ROOT))
    else:
        print("(no icns writer in this Qt; workstation.icns not written)", file=sys.stderr)
    return 0


def _png(image) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data)


def _ico(pngs: dict[int, bytes]) -> bytes:
    """An .ico whose entries are PNG images (Windows Vista and later read these)."""
    header = struct.pack("<HHH", 0, 1, len(pngs))
    offset = len(header) + 16 * len(pngs)
    directory, payload = b"", b""
    for size, png in sorted(pngs.items()):
        side = 0 if size >= 256 else size  # 0 means 256 in an icon directory
        directory += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(png), offset + len(payload))
        payload += png
    return header + directory + payload


if __name__ == "__main__":
    raise SystemExit(main())
