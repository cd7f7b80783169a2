"""Collecting problems while validating one document, keyed by document path.

Validation never stops at the first problem: each check records an :class:`Issue`
(a path such as ``("milestones", 3, "remind", 1)`` and a message) and returns
``None`` so that the caller can go on. Line and column are attached later, and
only when there is something to report (see :mod:`scheduler.config.locate`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from scheduler.config.interpolate import InterpolationError, interpolate
from scheduler.config.values import kind
from scheduler.durations import Duration

H = TypeVar("H", bound=Hashable)

DocPath = tuple[str | int, ...]

# Plain scalars that YAML 1.1 (PyYAML) reads as booleans and 1.2 as strings.
_YAML11_WORDS = frozenset(
    ["yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "=", "<<"]
)
_SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")


def yaml11_differs(text: str) -> bool:
    """True for a string that PyYAML, had it been written plain, reads as something else."""
    if text in _YAML11_WORDS:
        return True
    return ":" in text and text[:1] in "+-0123456789" and bool(_SEXAGESIMAL.match(text))


# Every span a config holds (offsets, reminders, timeouts, windows) stays within this,
# and every date within MIN_YEAR..MAX_YEAR (see scheduler.config.fields): so a date
# plus or minus any span stays inside Python's calendar (years 1-9999) with room to
# spare for zones, rolling and DST, and no arithmetic downstream can overflow.
MAX_DURATION_YEARS = 500
_YEAR_DAYS = 365.2425


def _within_reach(span: Duration) -> bool:
    """True when the span is finite and at most :data:`MAX_DURATION_YEARS` long."""
    years = abs(span.months) / 12 + abs(span.days) / _YEAR_DAYS
    years += abs(span.seconds) / (_YEAR_DAYS * 86400)
    return years <= MAX_DURATION_YEARS  # False for NaN and infinity too


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem at a document path; ``on_key`` points at the key rather than its value.

    ``ref`` names another place (file, path) whose ``FILE:LINE:COL`` replaces
    ``{ref}`` in the message once positions are known (duplicate ids).
    """

    path: DocPath
    message: str
    on_key: bool = False
    ref: tuple[str, DocPath] | None = None


def render_path(path: DocPath) -> str:
    """``milestones[3].remind[1]``, ``channels.audit.url``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class Checker:
    """Typed reads of YAML values that record an :class:`Issue` instead of raising."""

    def __init__(self, *, env: Mapping[str, str], base_dir: Path) -> None:
        self.env = env
        self.base_dir = base_dir
        self.issues: list[Issue] = []
        # For the fast parse route (see scheduler.config.parse): a string accepted that
        # YAML 1.1 may read otherwise, and whether a number was accepted at all.
        self.suspect = False
        self.numbers = False
        self._durations: dict[tuple[type, object], Duration | str] = {}
        self.remind_cache: dict[tuple[object, ...], tuple[Duration, ...]] = {}
        self._shared: dict[Hashable, Hashable] = {}

    def shared(self, value: H) -> H:
        """One object for equal values (tags, channel names, holiday sets) that many
        milestones repeat: a config of a million keeps each spelling once."""
        return self._shared.setdefault(value, value)  # type: ignore[return-value]

    def accept_text(self, value: str) -> None:
        """Note a string accepted as-is (for the fast route's YAML 1.1 check)."""
        if value in _YAML11_WORDS or (":" in value and yaml11_differs(value)):
            self.suspect = True

    def fail(self, path: DocPath, message: str, *, on_key: bool = False) -> None:
        self.issues.append(Issue(path, message, on_key))

    # -- containers -----------------------------------------------------------
    def mapping(
        self,
        value: Any,
        path: DocPath,
        what: str,
        *,
        allowed: frozenset[str] | None = None,
        required: Collection[str] = (),
    ) -> dict[str, Any] | None:
        """A mapping with string keys, known keys only, required keys present."""
        if not isinstance(value, dict):
            self.fail(path, f"{what} must be a mapping, got {kind(value)}")
            return None
        if (
            allowed is not None
            and value.keys() <= allowed
            and all(map(value.__contains__, required))
        ):
            return value  # the common case, checked in C: known keys only (so all strings)
        out: dict[str, Any] = {}
        for key, item in value.items():
            if allowed is None and isinstance(key, str):
                self.accept_text(key)
            if not isinstance(key, str):
                self.fail((*path, str(key)), f"keys must be strings, got {kind(key)}", on_key=True)
                continue
            if allowed is not None and key not in allowed:
                self.fail((*path, key), unknown_key(key, allowed, what), on_key=True)
                continue
            out[key] = item
        for key in required:
            if key not in out:
                self.fail(path, f"{what} is missing the required key '{key}'")
        return out

    def sequence(self, value: Any, path: DocPath, what: str) -> list[Any] | None:
        if not isinstance(value, list):
            self.fail(path, f"{what} must be a list, got {kind(value)}")
            return None
        return value

    # -- scalars --------------------------------------------------------------
    def string(
        self, value: Any, path: DocPath, what: str, *, allow_empty: bool = False
    ) -> str | None:
        """A string, with ``${VAR}`` references replaced from the environment."""
        if not isinstance(value, str):
            self.fail(path, f"{what} must be a string, got {kind(value)}")
            return None
        if value in _YAML11_WORDS or ":" in value:
            self.accept_text(value)
        text = value
        if "$" in value:
            try:
                text = interpolate(value, self.env)
            except InterpolationError as exc:
                self.fail(path, str(exc))
                return None
        if not allow_empty and not text.strip():
            self.fail(path, f"{what} must not be empty")
            return None
        return text

    def strings(self, value: Any, path: DocPath, what: str) -> tuple[str, ...] | None:
        items = self.sequence(value, path, what)
        if items is None:
            return None
        if all(type(i) is str and "$" not in i and i.strip() for i in items):  # common case
            for item in items:
                self.accept_text(item)
            return tuple(items)
        out = [self.string(item, (*path, i), f"each of {what}") for i, item in enumerate(items)]
        return tuple(s for s in out if s is not None)

    def duration(
        self,
        value: Any,
        path: DocPath,
        what: str,
        *,
        exact: bool = False,
        positive: bool = False,
        signed: bool = False,
    ) -> Duration | None:
        """A duration: ``30d``, ``6 months``, ``P7D``, ``0``; negative only if ``signed``."""
        if isinstance(value, str):
            try:
                value = interpolate(value, self.env)
            except InterpolationError as exc:
                self.fail(path, str(exc))
                return None
        if value is None or isinstance(value, (list, dict)):
            self.fail(path, f"{what} must be a duration such as 30d or 6 months, got {kind(value)}")
            return None
        key = (type(value), value)
        cached = self._durations.get(key)
        if cached is None:  # the same few spellings recur thousands of times: parse once
            try:
                cached = Duration.parse(value)
            except (ValueError, OverflowError) as exc:
                cached = str(exc)
            else:
                if not _within_reach(cached):
                    cached = f"{str(value)[:40]!r} is too long: at most {MAX_DURATION_YEARS} years"
            self._durations[key] = cached
        if isinstance(cached, str):
            self.fail(path, f"{what}: {cached}")
            return None
        parsed = cached
        if exact and not parsed.is_exact:
            self.fail(path, f"{what} must be a fixed span (s, m, h), not calendar days or months")
            return None
        if not signed and parsed.approx_seconds() < 0:
            self.fail(path, f"{what} must not be negative")
            return None
        if positive and parsed.approx_seconds() <= 0:
            self.fail(path, f"{what} must be greater than 0")
            return None
        return parsed

    def choice(self, value: Any, path: DocPath, what: str, options: Collection[str]) -> str | None:
        text = value.strip().lower() if isinstance(value, str) else None
        if text not in options:
            shown = repr(value) if isinstance(value, str) else kind(value)
            listed = " | ".join(options)
            self.fail(path, f"{what} must be one of {listed}, got {shown}")
            return None
        return text

    def integer(self, value: Any, path: DocPath, what: str, *, minimum: int) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"{what} must be an integer, got {kind(value)}")
            return None
        if value < minimum:
            self.fail(path, f"{what} must be at least {minimum}, got {value}")
            return None
        self.numbers = True
        return value

    def number(self, value: Any, path: DocPath, what: str) -> float | None:
        """A number greater than 0."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(path, f"{what} must be a number, got {kind(value)}")
            return None
        if not value > 0 or value == float("inf"):
            self.fail(path, f"{what} must be a finite number greater than 0, got {value}")
            return None
        self.numbers = True
        return float(value)


def unknown_key(key: str, allowed: Collection[str], what: str) -> str:
    """``unknown key 'titel' in milestone; did you mean 'title'?``"""
    message = f"unknown key '{key}' in {what}"
    close = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.6)
    if close:
        return f"{message}; did you mean '{close[0]}'?"
    return f"{message}; expected one of: {', '.join(sorted(allowed))}"
