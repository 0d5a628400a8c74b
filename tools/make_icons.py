"""Write the touch icon and the PNG favicon (leadrouter/static/icons/): the shape of favicon.svg.

No image library needed: the shape (a white speech bubble on the helpline's blue) is drawn
pixel by pixel and written as a PNG with zlib. Run once: python3 tools/make_icons.py
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

ICONS = Path(__file__).resolve().parent.parent / "leadrouter" / "static" / "icons"
BLUE = (0x0B, 0x53, 0x94)
WHITE = (0xFF, 0xFF, 0xFF)


def inside_bubble(x: float, y: float) -> bool:
    """The shape in a 1 x 1 square: an ellipse with a tail at the lower left."""
    in_ellipse = ((x - 0.5) / 0.34) ** 2 + ((y - 0.45) / 0.27) ** 2 <= 1
    in_tail = 0.27 <= x <= 0.42 and 0.62 <= y <= 0.82 and (x - 0.27) >= (y - 0.62) * 0.75
    return in_ellipse or in_tail


def pixels(size: int) -> list[bytes]:
    rows = []
    for py in range(size):
        row = bytearray([0])  # filter: none
        for px in range(size):
            x, y = (px + 0.5) / size, (py + 0.5) / size
            row.extend(WHITE if inside_bubble(x, y) else BLUE)
        rows.append(bytes(row))
    return rows


def png(size: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    body = zlib.compress(b"".join(pixels(size)), 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def main() -> None:
    ICONS.mkdir(parents=True, exist_ok=True)
    (ICONS / "apple-touch-icon.png").write_bytes(png(180))
    (ICONS / "favicon-32.png").write_bytes(png(32))


if __name__ == "__main__":
    main()
