"""Charts for the admin overview, drawn here as inline SVG: no script (the CSP allows none), no CDN, nothing
fetched by the browser. Colours and sizes are SVG attributes, not ``style``, which the CSP also refuses.

Each bar and cell carries its figure in ``data-value`` and a ``<title>`` (the browser's tooltip), so a test or a
screen reader reads the same numbers a person sees. Every text that is not a number of ours goes through
:func:`escape` (f-strings rather than ``Markup.format``: five charts cost a tenth of a millisecond, not ten).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from markupsafe import Markup, escape

WIDTH, HEIGHT = 480, 160
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 10, 22
COLOURS = {"queued": "#0b5cad", "delivered": "#1e7b34", "retried": "#8a5a00", "dead": "#b3261e"}
MUTED = "#5b6475"


@dataclass(frozen=True)
class Cell:
    row: str
    column: str
    value: int
    title: str


def _hour(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).strftime("%H:%M")


def nice_top(peak: int) -> int:
    """The axis top: the peak rounded up to 1, 2 or 5 times a power of ten (at least 1)."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if peak <= m * step:
                return m * step
        step *= 10


def _svg(name: str, label: str, width: int, height: int, cls: str, parts: list[str]) -> Markup:
    head = (
        f'<svg class="{cls}" id="chart-{escape(name)}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
    )
    return Markup(head + "".join(parts) + "</svg>")  # noqa: S704 (every text in it escaped above)


def _text(x: float, y: float, text: object, *, anchor: str = "start", size: int = 11, fill: str = MUTED) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{fill}">{escape(text)}</text>'
    )


def hourly_bars(name: str, label: str, starts: Sequence[float], values: Sequence[int | None], unit: str) -> Markup:
    """One bar per hour; an hour with no sample (the bridge was not running) is drawn as a short grey tick."""
    top = nice_top(max((v for v in values if v is not None), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    base = TOP + plot_h
    slot = plot_w / max(len(values), 1)
    colour = COLOURS.get(name, "#0b5cad")
    unit = str(escape(unit))
    parts = [
        f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" stroke="#9aa3b2"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{WIDTH - RIGHT}" y2="{TOP}" stroke="#e3e6eb"/>',
        _text(LEFT - 4, TOP + 4, top, anchor="end"),
        _text(LEFT - 4, base, 0, anchor="end"),
    ]
    for i, (start, value) in enumerate(zip(starts, values, strict=True)):
        x = LEFT + i * slot + 1
        when = f"{_hour(start)}-{_hour(start + 3600)} UTC"
        if value is None:
            parts.append(
                f'<rect class="gap" x="{x:.1f}" y="{base - 2}" width="{slot - 2:.1f}" height="2" fill="#c5cad3">'
                f"<title>{when}: not sampled</title></rect>"
            )
        else:
            h = plot_h * int(value) / top
            parts.append(
                f'<rect class="bar" data-start="{int(start)}" data-value="{int(value)}" x="{x:.1f}" '
                f'y="{base - h:.1f}" width="{slot - 2:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{when}: {int(value)} {unit}</title></rect>"
            )
        if i % 6 == 0:
            parts.append(_text(x, HEIGHT - 5, _hour(start)))
    if all(v is None for v in values):
        parts.append(_text(LEFT + plot_w / 2, TOP + plot_h / 2, "not sampled yet", anchor="middle", size=13))
    return _svg(name, f"{label}, by hour, last 24 hours", WIDTH, HEIGHT, "chart", parts)


def heatmap(name: str, label: str, rows: Sequence[str], columns: Sequence[str], cells: Sequence[Cell]) -> Markup:
    """A grid of counts (rows by columns), each cell shaded by its count and showing it; empty cells blank."""
    cell_w, cell_h, head, side = 56, 22, 18, 180
    width, height = side + cell_w * len(columns) + 4, head + cell_h * len(rows) + 4
    found = {(c.row, c.column): c for c in cells}
    peak = max((c.value for c in cells), default=0) or 1
    parts = [_text(side + j * cell_w + cell_w / 2, 12, column, anchor="middle") for j, column in enumerate(columns)]
    for i, row in enumerate(rows):
        y = head + i * cell_h
        parts.append(_text(side - 6, y + 15, row[:30], anchor="end", size=11, fill="#1d2330"))
        for j, column in enumerate(columns):
            x = side + j * cell_w
            cell = found.get((row, column))
            value = int(cell.value) if cell else 0
            shade = _red(value / peak) if value else "#f3f5f8"
            tip = cell.title if cell else f"{row}, {column}: none"
            parts.append(
                f'<rect class="cell" data-row="{escape(row)}" data-column="{escape(column)}" data-value="{value}" '
                f'x="{x + 1}" y="{y + 1}" width="{cell_w - 2}" height="{cell_h - 2}" fill="{shade}">'
                f"<title>{escape(tip)}</title></rect>"
            )
            if value:
                ink = "#fff" if value / peak > 0.5 else "#1d2330"
                parts.append(_text(x + cell_w / 2, y + 15, value, anchor="middle", size=11, fill=ink))
    return _svg(name, label, width, height, "chart heat", parts)


def _red(share: float) -> str:
    """From a pale to a strong red as ``share`` goes from 0 to 1."""
    low, high = (0xF8, 0xDE, 0xDC), (0xB3, 0x26, 0x1E)
    mix = [round(a + (b - a) * min(max(share, 0.0), 1.0)) for a, b in zip(low, high, strict=True)]
    return "#" + "".join(f"{v:02x}" for v in mix)
