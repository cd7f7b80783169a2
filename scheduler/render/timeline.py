"""The timeline picture as SVG text: a :class:`~scheduler.render.timeline_layout.Layout`
and the stored delivery states in, one standalone SVG document out.

Built with :mod:`xml.etree.ElementTree`, which escapes every text and attribute,
so a milestone titled ``<script>`` stays text. No scripts, no stylesheet (only
presentation attributes, so a strict Content-Security-Policy can serve it) and a
white background, so it reads the same in an ``<img>`` on a dark page.

Geometry: a ``viewBox`` :data:`WIDTH` units wide that scales to the screen.
At 400 units, 12-unit text is about 11 px on a 390 px phone. Each row has its
title on one line (cut with "…" to fit) and its lane under it: the milestone as
a diamond, its reminders as ticks, ``after`` chains as arrows between diamonds.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import datetime

from scheduler.render.timeline_layout import (
    ACKNOWLEDGED_REASON,
    Layout,
    Occurrence,
    Row,
    StoredState,
    TickState,
    tick_state,
    truncate,
)
from scheduler.timekeeping import format_when

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
DeliveryStates = Mapping[str, StoredState]
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _n(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _xml_text(text: str) -> str:
    """``text`` with the characters XML 1.0 cannot carry (control characters, lone
    surrogates) shown as U+FFFD: ElementTree escapes markup but writes those as they
    are, and one would make the whole picture unreadable."""
    return _NOT_XML.sub("\ufffd", text)


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str | float) -> ET.Element:
    """A child element; ``font_size=12.0`` becomes ``font-size="12"``."""
    element = ET.SubElement(
        parent,
        tag,
        {
            k.replace("_", "-"): _n(v) if isinstance(v, float) else _xml_text(str(v))
            for k, v in attrs.items()
        },
    )
    if text is not None:
        element.text = _xml_text(text)
    return element


def _diamond_points(x: float, y: float, r: float) -> str:
    corners = ((x, y - r), (x + r, y), (x, y + r), (x - r, y))
    return " ".join(f"{_n(cx)},{_n(cy)}" for cx, cy in corners)


def _short_date(moment: datetime, now: datetime) -> str:
    text = f"{moment:%a} {moment.day} {moment:%b}"
    return text if moment.year == now.year else f"{text} {moment.year}"


def _fits(text: str, width: float, size: float) -> str:
    return truncate(text, int(width / (size * CHAR)))


class _Drawing:
    """One picture being drawn: the root element and where things went."""

    def __init__(self, layout: Layout, states: DeliveryStates, heading: str) -> None:
        self.layout = layout
        self.states = states
        self.heading = heading
        self.root = ET.Element("svg", {"xmlns": SVG_NS})
        self.used: set[TickState] = set()
        self.diamonds: dict[tuple[str, float], tuple[float, float]] = {}

    def x(self, moment: datetime) -> float:
        return MARGIN + self.layout.x(moment, LANE)

    def draw(self) -> str:
        layout = self.layout
        rows_top = HEADING_H + AXIS_H
        rows_bottom = rows_top + ROW_H * max(len(layout.rows), 1)
        extra = (LEGEND_H if layout.hidden else 0.0) + 4.0
        legend_top = rows_bottom + extra
        _el(self.root, "title", self.heading)  # first: the picture's accessible name
        background = _el(self.root, "rect", width=WIDTH, fill="#ffffff")
        _el(
            self.root,
            "text",
            _fits(self.heading, LANE, FONT),
            x=MARGIN,
            y=14.0,
            font_size=FONT,
            font_weight="600",
            fill=INK,
        )
        self._axis(HEADING_H, rows_bottom)
        self._today(HEADING_H, rows_bottom)
        if not layout.rows:
            _el(
                self.root,
                "text",
                "no milestones in this window",
                x=MARGIN,
                y=rows_top + 22.0,
                font_size=FONT,
                fill=MUTED,
            )
        arrows = _el(self.root, "g", fill="none", stroke=ARROW, stroke_width=1.2)
        for index, row in enumerate(layout.rows):
            self._row(row, rows_top + index * ROW_H)
        self._arrows(arrows)
        if layout.hidden:
            _el(
                self.root,
                "text",
                f"+{layout.hidden} more",
                x=MARGIN,
                y=rows_bottom + 12.0,
                font_size=FONT,
                fill=MUTED,
            )
        height = self._legend(legend_top)
        background.set("height", _n(height))
        self.root.set("viewBox", f"0 0 {_n(WIDTH)} {_n(height)}")
        self.root.set("width", _n(WIDTH))
        self.root.set("height", _n(height))
        self.root.set("role", "img")
        self.root.set("font-family", "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif")
        return ET.tostring(self.root, encoding="unicode")

    def _today_label(self) -> tuple[float, float] | None:
        """Where the "today" label goes, as (left, right), or None when today is not in view."""
        if not self.layout.contains(self.layout.now):
            return None
        x = self.x(self.layout.now)
        width = len("today") * SMALL * CHAR
        return (x - 2.0 - width, x - 2.0) if x + 2.0 + width > WIDTH else (x + 2.0, x + 2.0 + width)

    def _axis(self, top: float, bottom: float) -> None:
        """Grid lines with their labels; a label that would run into the previous
        one or into "today" is left out (its line stays)."""
        group = _el(self.root, "g", font_size=SMALL, fill=MUTED)
        today = self._today_label()
        taken = [today] if today is not None else []
        for moment, label in self.layout.axis:
            x = self.x(moment)
            _el(group, "line", x1=x, x2=x, y1=top + AXIS_H - 4.0, y2=bottom, stroke=GRID)
            box = (x + 2.0, x + 2.0 + len(label) * SMALL * CHAR)
            if box[1] > WIDTH or any(
                box[0] < right + 4 and left < box[1] + 4 for left, right in taken
            ):
                continue
            taken.append(box)
            _el(group, "text", label, x=box[0], y=top + 11.0)

    def _today(self, top: float, bottom: float) -> None:
        label = self._today_label()
        if label is None:
            return
        x = self.x(self.layout.now)
        group = _el(self.root, "g", data_today=self.layout.now.isoformat())
        _el(group, "line", x1=x, x2=x, y1=top + 2.0, y2=bottom, stroke=TODAY, stroke_width=1.5)
        _el(group, "text", "today", x=label[0], y=top + 11.0, font_size=SMALL, fill=TODAY)

    def _row(self, row: Row, top: float) -> None:
        group = _el(self.root, "g", data_row=row.key)
        lane_y = top + 25.0
        when = _short_date(_next_or_last(row.occurrences, self.layout.now), self.layout.now)
        if len(row.occurrences) > 1 and not row.grouped:
            when += f" (+{len(row.occurrences) - 1})"
        suffix = (
            f" · {when}" if not row.grouped else (f" (+{row.hidden} more)" if row.hidden else "")
        )
        label = _fits(row.label, LANE - len(suffix) * FONT * CHAR, FONT) + suffix
        # A white halo (stroke painted under the glyphs) keeps the title readable
        # where the today line, the grid or an arrow passes behind it.
        title = _el(
            group,
            "text",
            label,
            x=MARGIN,
            y=top + 13.0,
            font_size=FONT,
            fill=INK,
            stroke="#ffffff",
            stroke_width=3.0,
            paint_order="stroke",
        )
        members = dict.fromkeys(o.milestone.title for o in row.occurrences)
        _el(title, "title", "\n".join(members) if row.grouped else row.label)
        _el(group, "line", x1=MARGIN, x2=WIDTH - MARGIN, y1=lane_y, y2=lane_y, stroke=GRID)
        for occurrence in row.occurrences:
            self._ladder(group, occurrence, lane_y)
        for occurrence in row.occurrences:
            self._diamond(group, occurrence, lane_y)

    def _ladder(self, parent: ET.Element, occurrence: Occurrence, lane_y: float) -> None:
        for reminder in occurrence.ladder():
            if not self.layout.contains(reminder.due_at):
                continue
            stored = [self.states.get(reminder.delivery_id(c)) for c in reminder.channels]
            state = tick_state(stored, due_at=reminder.due_at, now=self.layout.now)
            self.used.add(state)
            x = self.x(reminder.due_at)
            tick = _el(
                parent,
                "line",
                x1=x,
                x2=x,
                y1=lane_y - 7.0,
                y2=lane_y + 7.0,
                stroke=COLOURS[state],
                stroke_width=2.5,
                data_state=state.value,
            )
            _el(
                tick,
                "title",
                f"{reminder.milestone.title} — {reminder.label}, "
                f"{format_when(reminder.due_at)}: {state.value}",
            )

    def _acknowledged(self, occurrence: Occurrence) -> bool:
        for reminder in occurrence.ladder():
            for channel in reminder.channels:
                s = self.states.get(reminder.delivery_id(channel))
                if s is not None and s.status == "cancelled" and s.reason == ACKNOWLEDGED_REASON:
                    return True
        return False

    def _diamond(self, parent: ET.Element, occurrence: Occurrence, lane_y: float) -> None:
        if not self.layout.contains(occurrence.at):
            return
        x = self.x(occurrence.at)
        self.diamonds[(occurrence.milestone.id, occurrence.at.timestamp())] = (x, lane_y)
        acked = self._acknowledged(occurrence)
        fill = COLOURS[TickState.ACKNOWLEDGED] if acked else MARKER
        inactive = occurrence.milestone.status.value != "active"
        r = 5.5
        points = _diamond_points(x, lane_y, r)
        marker = _el(
            parent,
            "polygon",
            points=points,
            fill="#ffffff" if inactive else fill,
            stroke=fill,
            stroke_width=1.5,
            data_milestone=occurrence.milestone.id,
        )
        note = " (acknowledged)" if acked else ""
        if inactive:
            note += f" ({occurrence.milestone.status.value})"
        _el(marker, "title", f"{occurrence.milestone.title} — {format_when(occurrence.at)}{note}")

    def _arrows(self, group: ET.Element) -> None:
        """An arrow from each drawn ``after`` base to its dependent; a base outside
        the window gives a dashed arrow in from that edge of the picture."""
        for row in self.layout.rows:
            for o in row.occurrences:
                end = self.diamonds.get((o.milestone.id, o.at.timestamp()))
                if o.base is None or end is None:
                    continue
                base_id, base_at = o.base
                start = self.diamonds.get((base_id, base_at.timestamp()))
                link = f"{base_id}->{o.milestone.id}"
                if start is not None and start != end:
                    self._arrow(group, start, end, link, dashed=False)
                elif start is None and not self.layout.contains(base_at):
                    edge = MARGIN if base_at < self.layout.start else WIDTH - MARGIN
                    path = self._arrow(group, (edge, end[1]), end, link, dashed=True)
                    _el(path, "title", f"after {base_id}, {format_when(base_at)}")

    def _arrow(
        self,
        group: ET.Element,
        start: tuple[float, float],
        end: tuple[float, float],
        link: str,
        *,
        dashed: bool,
    ) -> ET.Element:
        (x1, y1), (x2, y2) = start, end
        bend = max(abs(x2 - x1) / 2, 14.0)
        direction = 1.0 if x2 >= x1 else -1.0
        tip = x2 - direction * 7.0
        # From a diamond: leave downwards from under it; from an edge: leave sideways.
        y1 += 0.0 if dashed else 6.0
        c1 = (x1 + direction * bend, y1) if dashed else (x1, y2)
        path = _el(
            group,
            "path",
            d=f"M{_n(x1)},{_n(y1)} C{_n(c1[0])},{_n(c1[1])} "
            f"{_n(tip - direction * bend)},{_n(y2)} {_n(tip)},{_n(y2)}",
            data_after=link,
            **({"stroke_dasharray": "3 3"} if dashed else {}),
        )
        head = direction * 5.0
        _el(
            group,
            "polygon",
            fill=ARROW,
            stroke="none",
            points=f"{_n(tip + head * 0.4)},{_n(y2)} {_n(tip - head)},{_n(y2 - 3.5)} "
            f"{_n(tip - head)},{_n(y2 + 3.5)}",
        )
        return path

    def _legend(self, top: float) -> float:
        """The colour key, wrapped to the width; returns the picture's height."""
        shown = [s for s in COLOURS if s in CORE_STATES or s in self.used]
        items: list[tuple[str, str, bool]] = [(COLOURS[s], s.value, True) for s in shown]
        items += [(MARKER, "milestone", False), (TODAY, "today", True)]
        group = _el(self.root, "g", font_size=SMALL, fill=INK, data_legend="1")
        x, y = MARGIN, top + 10.0
        for colour, name, is_line in items:
            width = 14.0 + len(name) * SMALL * CHAR + 10.0
            if x + width > WIDTH - MARGIN:
                x, y = MARGIN, y + LEGEND_H
            if is_line:
                _el(
                    group,
                    "line",
                    x1=x + 4.0,
                    x2=x + 4.0,
                    y1=y - 8.0,
                    y2=y + 2.0,
                    stroke=colour,
                    stroke_width=2.5,
                )
            else:
                _el(
                    group,
                    "polygon",
                    fill=colour,
                    points=_diamond_points(x + 4.0, y - 3.0, 5.0),
                )
            _el(group, "text", name, x=x + 12.0, y=y)
            x += width
        return y + 8.0


def _next_or_last(occs: Sequence[Occurrence], now: datetime) -> datetime:
    """The occurrence a row's title names: the next one, else the latest."""
    upcoming = [o.at for o in occs if o.at >= now]
    return upcoming[0] if upcoming else occs[-1].at


def timeline_svg(layout: Layout, states: DeliveryStates, *, heading: str) -> str:
    """The picture as one SVG document (no XML declaration: it can be inlined too)."""
    return _Drawing(layout, states, heading).draw()
