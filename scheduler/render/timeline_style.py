"""The timeline picture's vocabulary: geometry, palette, marks and legend, as SVG.

Shared by :mod:`scheduler.render.timeline`, which lays the marks out. Every
element goes through :func:`el`, which writes text and attributes through
ElementTree (escaped) and replaces the characters XML cannot carry.

Marks: a milestone occurrence is a diamond on its lane; a reminder a vertical
tick across the lane; an escalation a triangle under the lane, pointing up at
its moment (its own shape, so it reads as an escalation whatever its colour).
Ticks and triangles are coloured by their :class:`TickState`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Collection, Mapping

from scheduler.render.timeline_states import TickState

SVG_NS = "http://www.w3.org/2000/svg"
WIDTH = 400.0
MARGIN = 8.0
LANE = WIDTH - 2 * MARGIN
FONT = 12.0
SMALL = 10.0
CHAR = 0.6  # a generous average glyph width, in ems, so cut titles never overflow
HEADING_H = 20.0
AXIS_H = 18.0
ROW_H = 38.0
LEGEND_H = 16.0
INK = "#1f1f1f"
MUTED = "#5f6368"
GRID = "#e3e3e3"
TODAY = "#d81b60"
ARROW = "#546e7a"
MARKER = "#1f1f1f"
# The legend's escalation mark: its shape says "escalation", its colour on the
# picture says what became of it (a state of COLOURS).
ESCALATION_KEY = "#455a64"
# In legend order: the first five are always in the legend, the others when drawn.
COLOURS: Mapping[TickState, str] = {
    TickState.SENT: "#2e7d32",
    TickState.DUE: "#1565c0",
    TickState.HELD: "#f9a825",
    TickState.ACKNOWLEDGED: "#7b1fa2",
    TickState.CANCELLED: "#9e9e9e",
    TickState.RETRYING: "#ef6c00",
    TickState.DEAD: "#c62828",
    TickState.SKIPPED: "#8d6e63",
    TickState.NOT_RECORDED: "#b0bec5",
}
CORE_STATES = tuple(COLOURS)[:5]
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def num(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def xml_text(text: str) -> str:
    """``text`` with the characters XML 1.0 cannot carry (control characters, lone
    surrogates) shown as U+FFFD: ElementTree escapes markup but writes those as they
    are, and one would make the whole picture unreadable."""
    return _NOT_XML.sub("\ufffd", text)


def el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str | float) -> ET.Element:
    """A child element; ``font_size=12.0`` becomes ``font-size="12"``."""
    element = ET.SubElement(
        parent,
        tag,
        {
            k.replace("_", "-"): num(v) if isinstance(v, float) else xml_text(str(v))
            for k, v in attrs.items()
        },
    )
    if text is not None:
        element.text = xml_text(text)
    return element


def diamond_points(x: float, y: float, r: float) -> str:
    corners = ((x, y - r), (x + r, y), (x, y + r), (x - r, y))
    return " ".join(f"{num(cx)},{num(cy)}" for cx, cy in corners)


def triangle_points(x: float, y: float, half: float, height: float) -> str:
    """A triangle pointing up, its apex at (x, y)."""
    corners = ((x, y), (x + half, y + height), (x - half, y + height))
    return " ".join(f"{num(cx)},{num(cy)}" for cx, cy in corners)


def escalation_mark(
    parent: ET.Element, x: float, lane_y: float, colour: str, **attrs: str
) -> ET.Element:
    """An escalation at ``x``: a triangle under the lane pointing up at it (a white
    edge keeps it apart from a reminder's tick at the same moment)."""
    return el(
        parent,
        "polygon",
        points=triangle_points(x, lane_y + 2.0, 4.5, 8.0),
        fill=colour,
        stroke="#ffffff",
        stroke_width=0.8,
        **attrs,
    )


def legend(root: ET.Element, top: float, used: Collection[TickState], escalations: bool) -> float:
    """The key, wrapped to the width: the states always shown and those drawn, the
    milestone, the escalation mark when there is one, today. Returns the picture's height."""
    shown = [s for s in COLOURS if s in CORE_STATES or s in used]
    items: list[tuple[str, str, str]] = [(COLOURS[s], s.value, "line") for s in shown]
    items.append((MARKER, "milestone", "diamond"))
    if escalations:
        items.append((ESCALATION_KEY, "escalation", "triangle"))
    items.append((TODAY, "today", "line"))
    group = el(root, "g", font_size=SMALL, fill=INK, data_legend="1")
    x, y = MARGIN, top + 10.0
    for colour, name, shape in items:
        width = 14.0 + len(name) * SMALL * CHAR + 10.0
        if x + width > WIDTH - MARGIN:
            x, y = MARGIN, y + LEGEND_H
        if shape == "line":
            el(
                group,
                "line",
                x1=x + 4.0,
                x2=x + 4.0,
                y1=y - 8.0,
                y2=y + 2.0,
                stroke=colour,
                stroke_width=2.5,
            )
        elif shape == "diamond":
            el(group, "polygon", fill=colour, points=diamond_points(x + 4.0, y - 3.0, 5.0))
        else:
            el(
                group,
                "polygon",
                fill=colour,
                points=triangle_points(x + 4.0, y - 8.0, 4.5, 8.0),
                data_key="escalation",
            )
        el(group, "text", name, x=x + 12.0, y=y)
        x += width
    return y + 8.0
