"""Server-side SVG charts for the report page: no JavaScript, no CDN, readable without colour.

Each function takes plain labels and numbers and returns safe markup; every bar carries a
<title> so hovering shows the exact value, and the page prints the same numbers in tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from flask_babel import gettext
from markupsafe import Markup

WIDTH = 720
BAR_GAP = 2


def _nice_max(value: float) -> float:
    """A round axis maximum at or above value (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _svg(title: str, description: str, width: int, height: int, body: list[str], css_class: str) -> Markup:
    ident = "chart-" + "".join(ch if ch.isalnum() else "-" for ch in title.lower())
    return Markup(
        f'<svg class="chart {css_class}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{ident}-t {ident}-d" preserveAspectRatio="xMinYMin meet">'
        f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(description)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def column_chart(
    title: str,
    points: Sequence[tuple[str, int]],
    *,
    unit: str | None = None,
    label_every: int | None = None,
    width: int = WIDTH,
    height: int = 220,
) -> Markup:
    """Vertical bars, one per (label, value), with a y axis and thinned x labels."""
    unit = unit or gettext("leads")
    left, bottom, top = 44, 28, 12
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = _nice_max(max((value for _, value in points), default=0))
    count = max(len(points), 1)
    slot = plot_w / count
    every = label_every or max(1, round(count / 12))
    body = [
        f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{width - 8}" y2="{top + plot_h}"/>',
        f'<text class="tick" x="{left - 6}" y="{top + 4}" text-anchor="end">{peak:g}</text>',
        f'<text class="tick" x="{left - 6}" y="{top + plot_h}" text-anchor="end">0</text>',
        f'<line class="grid" x1="{left}" y1="{top}" x2="{width - 8}" y2="{top}"/>',
    ]
    for index, (label, value) in enumerate(points):
        bar_h = plot_h * value / peak
        x = left + index * slot + BAR_GAP / 2
        y = top + plot_h - bar_h
        body.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{max(slot - BAR_GAP, 1):.1f}" '
            f'height="{bar_h:.1f}"><title>{escape(label)}: {value:,} {escape(unit)}</title></rect>'
        )
        if index % every == 0:
            body.append(
                f'<text class="tick" x="{x + slot / 2:.1f}" y="{height - 10}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    total = sum(value for _, value in points)
    highest = max((value for _, value in points), default=0)
    numbers = {"total": f"{total:,}", "highest": f"{highest:,}", "bars": len(points), "unit": unit}
    description = gettext("%(total)s %(unit)s across %(bars)s bars; highest bar %(highest)s.", **numbers)
    return _svg(title, description, width, height, body, "chart-columns")


def bar_chart(
    title: str, rows: Sequence[tuple[str, int]], *, unit: str | None = None, width: int = 480
) -> Markup:
    """Horizontal labelled bars (a funnel or a distribution), values printed at the bar end."""
    unit = unit or gettext("leads")
    label_w, row_h, top = 110, 30, 6
    plot_w = width - label_w - 70
    peak = max((value for _, value in rows), default=0) or 1
    height = top * 2 + row_h * max(len(rows), 1)
    body = []
    for index, (label, value) in enumerate(rows):
        y = top + index * row_h
        bar_w = plot_w * value / peak
        body.append(
            f'<text class="label" x="{label_w - 8}" y="{y + row_h / 2 + 5:.1f}" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect class="bar" x="{label_w}" y="{y + 4}" width="{max(bar_w, 0.5):.1f}" height="{row_h - 8}">'
            f"<title>{escape(label)}: {value:,} {escape(unit)}</title></rect>"
            f'<text class="value" x="{label_w + bar_w + 6:.1f}" y="{y + row_h / 2 + 5:.1f}">{value:,}</text>'
        )
    description = "; ".join(f"{label}: {value:,}" for label, value in rows) + "."
    return _svg(title, description, width, height, body, "chart-bars")
