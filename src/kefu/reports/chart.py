"""A bar chart as PNG bytes, pure Python (zlib + struct): the image a scheduled report's
mail shows inline. No text is drawn (labels would need a font with CJK glyphs); the
mail's HTML table beside it names every period and number."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

Colour = tuple[int, int, int]
COLOURS: tuple[Colour, ...] = ((37, 99, 235), (22, 163, 74), (220, 38, 38), (147, 51, 234))
WHITE: Colour = (255, 255, 255)
GRID: Colour = (226, 232, 240)
AXIS: Colour = (100, 116, 139)


def bar_chart(
    series: Sequence[Sequence[float]], width: int = 640, height: int = 240, pad: int = 16
) -> bytes:
    """Grouped bars, one group per period, one bar per series (each list one series,
    all the same length); the y axis starts at 0 and ends at the largest value."""
    pixels = [bytearray(WHITE * width) for _ in range(height)]

    def fill(x0: int, y0: int, x1: int, y1: int, colour: Colour) -> None:
        x0, x1 = max(0, x0), min(width, x1)
        for y in range(max(0, y0), min(height, y1)):
            pixels[y][x0 * 3 : x1 * 3] = bytes(colour) * max(0, x1 - x0)

    plot_h = height - 2 * pad
    for i in range(5):  # four grid lines and the axis
        y = pad + round(plot_h * i / 4)
        fill(pad, y, width - pad, y + 1, AXIS if i == 4 else GRID)
    periods = max((len(s) for s in series), default=0)
    top = max((v for s in series for v in s), default=0) or 1
    if periods:
        group = (width - 2 * pad) / periods
        bar = max(1.0, group * 0.8 / max(1, len(series)))
        for p in range(periods):
            for k, values in enumerate(series):
                value = values[p] if p < len(values) else 0
                h = round(plot_h * max(0.0, value) / top)
                x0 = round(pad + p * group + group * 0.1 + k * bar)
                fill(
                    x0,
                    pad + plot_h - h,
                    round(x0 + bar) - (1 if bar > 3 else 0),
                    pad + plot_h,
                    COLOURS[k % len(COLOURS)],
                )
    return _png(width, height, pixels)


def _png(width: int, height: int, rows: Sequence[bytes | bytearray]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + bytes(row) for row in rows)  # filter 0 on every row
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )
