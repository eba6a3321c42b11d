"""Application icons for the installers, rendered from the tray's SVG: PNG set, .ico, .icns.

    python packaging/icons.py [OUT_DIR]        (default: build/icons)

Writes ``afas-tray-<size>.png``, ``afas-tray.ico`` (Windows: PNG-compressed entries, which
Windows Vista and later read) and, on macOS, ``afas-tray.icns`` through Apple's ``iconutil``
from an ``.iconset`` folder. Qt renders the SVG, so no extra imaging library is needed.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "afas_tray" / "resources" / "icons" / "tray-idle.svg"
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# iconutil's names: icon_<n>x<n>.png and icon_<n>x<n>@2x.png for n in 16, 32, 128, 256, 512.
ICNS_SIZES = (16, 32, 128, 256, 512)


def render_png(size: int) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(SOURCE))
    if not renderer.isValid():
        raise SystemExit(f"cannot read {SOURCE}")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")  # type: ignore[call-overload]  # stubs say bytes; the binding takes str
    buf.close()
    return bytes(data.data())


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """An .ico holding PNG images (Qt's ICO writer stores only one size)."""
    header = struct.pack("<HHH", 0, 1, len(pngs))
    entries = b""
    offset = 6 + 16 * len(pngs)
    body = b""
    for size, png in sorted(pngs.items()):
        dim = 0 if size >= 256 else size  # 0 means 256 in an ICONDIRENTRY
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(png), offset)
        offset += len(png)
        body += png
    return header + entries + body


def build(out: Path) -> list[Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    out.mkdir(parents=True, exist_ok=True)
    sizes = sorted(set(ICO_SIZES) | set(ICNS_SIZES) | {n * 2 for n in ICNS_SIZES})
    pngs = {n: render_png(n) for n in sizes}
    written: list[Path] = []
    for n in (16, 32, 48, 64, 128, 256, 512):
        path = out / f"afas-tray-{n}.png"
        path.write_bytes(pngs[n])
        written.append(path)
    ico = out / "afas-tray.ico"
    ico.write_bytes(ico_bytes({n: pngs[n] for n in ICO_SIZES}))
    written.append(ico)

    iconset = out / "afas-tray.iconset"
    shutil.rmtree(iconset, ignore_errors=True)
    iconset.mkdir()
    for n in ICNS_SIZES:
        (iconset / f"icon_{n}x{n}.png").write_bytes(pngs[n])
        (iconset / f"icon_{n}x{n}@2x.png").write_bytes(pngs[n * 2])
    if sys.platform == "darwin" and shutil.which("iconutil"):
        icns = out / "afas-tray.icns"
        subprocess.run(["iconutil", "-c", "icns", str(iconset), "-o", str(icns)], check=True)
        written.append(icns)
    del app
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "icons"
    for p in build(target):
        print(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p)
