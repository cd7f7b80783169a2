"""Read config files, validate them, merge them, and report every problem at once.

Pipeline: find the files → read and decode each → parse (fast route when safe,
else PyYAML) → validate each document, collecting issues by document path (a
file with problems is parsed and validated again on the PyYAML route, so that
every report is PyYAML's reading) → cross-file checks → only if there are
problems, compose the YAML node trees of the files concerned and turn each path
into ``FILE:LINE:COL``.
"""

from __future__ import annotations

import codecs
import errno
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from scheduler.config.checker import Checker, Issue, render_path
from scheduler.config.crosscheck import cross_check
from scheduler.config.locate import locate
from scheduler.config.parse import (
    SyntaxProblem,
    compose,
    numbers_need_pyyaml,
    parse_fast,
    to_data,
)
from scheduler.config.schema import FileConfig, check_document
from scheduler.config.slices import SliceRefused
from scheduler.errors import ConfigError, Problem
from scheduler.gc_pause import gc_paused
from scheduler.model import Channel, Config

YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(slots=True)
class _Source:
    """One config file on its way through the pipeline."""

    path: Path
    name: str  # as shown in messages
    text: str = ""
    root: yaml.Node | None = None
    composed: bool = False
    issues: list[Issue] = field(default_factory=list)
    fixed: list[Problem] = field(default_factory=list)  # already located (syntax, unreadable)


def load_config(path: str | Path, *, env: Mapping[str, str] | None = None) -> Config:
    """Load and validate a config file, or a directory whose ``*.yaml`` files are merged.

    ``env`` supplies ``${VAR}`` values (default: ``os.environ``). Raises
    :class:`ConfigError` carrying every problem in every file.
    """
    # Building hundreds of thousands of small objects triggers the cyclic garbage
    # collector again and again to no avail (nothing here forms cycles): pause it.
    return load_details(path, env=env).config


@dataclass(frozen=True, slots=True)
class LoadedFile:
    """One file of a successful load: its name as shown, its text and what it gave."""

    name: str
    path: Path
    text: str
    result: FileConfig
    # Read by the fast route (parse.parse_fast): nothing in the text needs PyYAML.
    fast: bool = False


@dataclass(frozen=True, slots=True)
class Loaded:
    config: Config
    files: tuple[LoadedFile, ...]


def load_details(path: str | Path, *, env: Mapping[str, str] | None = None) -> Loaded:
    """:func:`load_config`, with each file's text and validated result (for reuse)."""
    try:
        with gc_paused():
            return _load(Path(path), os.environ if env is None else env)
    except (ValueError, TypeError, LookupError, ArithmeticError) as exc:
        # A value no check foresaw: still a rejected config (a reload keeps the one in
        # force and counts a failure), never a crash. The exception's text is left out:
        # it may quote a secret (a URL's host).
        raise ConfigError(
            [
                Problem(
                    str(path),
                    0,
                    0,
                    f"cannot validate this config ({type(exc).__name__}); "
                    "please report it as a bug in tminus",
                )
            ]
        ) from exc


def _load(target: Path, environ: Mapping[str, str]) -> Loaded:
    sources, problems = _discover(target)
    results: list[FileConfig] = []
    for source in sources:
        data = _read_and_parse(source)
        if source.fixed:
            continue
        checker = Checker(env=environ, base_dir=source.path.parent)
        try:
            result = check_document(checker, data, file=source.name)
        except SliceRefused:
            # A slice of the long milestone list did not parse alone (a value across a
            # cut): what was validated is dropped, and the text is read whole.
            data = _parse(source, lazy=False)
            if source.fixed:
                continue
            checker = Checker(env=environ, base_dir=source.path.parent)
            result = check_document(checker, data, file=source.name)
        if not source.composed and (
            checker.issues
            or checker.suspect
            or (checker.numbers and numbers_need_pyyaml(source.text))
        ):
            # Problems to report, or a scalar YAML 1.1 may read otherwise: redo this file
            # on the PyYAML route, so that the result is exactly what PyYAML reads.
            data = _parse_slow(source)
            if source.fixed:
                continue
            checker = Checker(env=environ, base_dir=source.path.parent)
            result = check_document(checker, data, file=source.name)
        results.append(result)
        source.issues.extend(checker.issues)
    by_name = {source.name: source for source in sources}
    for file, issue in cross_check(results):
        by_name[file].issues.append(issue)
    for source in sources:
        problems.extend(source.fixed)
        problems.extend(_located(source, by_name))
    if problems:
        raise ConfigError(problems)
    files = tuple(
        LoadedFile(s.name, s.path, s.text, r, fast=not s.composed)
        for s, r in zip(sources, results, strict=True)
    )
    return Loaded(merge(results, [source.name for source in sources]), files)


def _discover(target: Path) -> tuple[list[_Source], list[Problem]]:
    """The files to read, and a located problem for each entry that cannot be one.

    A dangling symbolic link, a link loop or a special file (a FIFO would block the
    read) is an error naming the entry, never skipped: a config that silently loses
    a file would drop its milestones, and a reload would accept that.
    """
    shown = str(target)
    if target.is_dir():
        try:
            entries = sorted(
                p
                for p in target.iterdir()
                if p.suffix in YAML_SUFFIXES and not p.name.startswith(".")
            )
        except OSError as exc:
            return [], [Problem(shown, 0, 0, f"cannot read the directory: {exc.strerror}")]
        sources: list[_Source] = []
        problems: list[Problem] = []
        for entry in entries:
            why = _unusable(entry)
            if why is None:
                sources.append(_Source(entry, str(entry)))
            elif why != _IS_DIRECTORY:
                problems.append(Problem(str(entry), 0, 0, why))
        if not sources and not problems:
            return [], [Problem(shown, 0, 0, "no *.yaml or *.yml files in this directory")]
        return sources, problems
    why = _unusable(target)
    if why == _MISSING:
        return [], [Problem(shown, 0, 0, "no such file or directory")]
    if why is not None:
        return [], [Problem(shown, 0, 0, why)]
    return [_Source(target, shown)], []


_MISSING = "no such file or directory"
_IS_DIRECTORY = "a directory"


def _unusable(path: Path) -> str | None:
    """Why ``path`` cannot be read as a config file, or ``None`` when it can.

    A directory whose name ends in ``.yaml`` is not a config file and is passed
    over (the reason :data:`_IS_DIRECTORY`), as it always was.
    """
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if not path.is_symlink():
            return _MISSING if exc.errno == errno.ENOENT else f"cannot read: {exc.strerror}"
        if exc.errno == errno.ELOOP:
            return "symbolic link loop: the link never reaches a file"
        try:
            points_to = os.readlink(path)
        except OSError:
            points_to = "?"
        if exc.errno == errno.ENOENT:
            return f"broken symbolic link: it points to {points_to}, which does not exist"
        return f"cannot follow the symbolic link to {points_to}: {exc.strerror}"
    if stat.S_ISDIR(mode):
        return _IS_DIRECTORY
    if not stat.S_ISREG(mode):
        return "not a regular file (a FIFO, socket or device cannot be a config file)"
    return None


def _read_and_parse(source: _Source) -> Any:
    """The document's data; on failure ``source.fixed`` holds the reason."""
    try:
        raw = source.path.read_bytes()
    except OSError as exc:
        source.fixed.append(Problem(source.name, 0, 0, f"cannot read: {exc.strerror or exc}"))
        return None
    text = _decode(raw)
    del raw  # not kept beside the parsed document (90 MB at a million milestones)
    if text is None:
        source.fixed.append(
            Problem(source.name, 0, 0, "not a text file: expected UTF-8 (or UTF-16) YAML")
        )
        return None
    source.text = text
    return _parse(source, lazy=True)


def _parse(source: _Source, *, lazy: bool) -> Any:
    """The fast route when it can be trusted, else PyYAML's. ``lazy``: a long milestone
    list comes in slices, parsed as it is walked; else the text is parsed whole."""
    data = parse_fast(source.text, lazy=lazy, slices=lazy)
    if data is not None or not source.text.strip():
        return data
    return _parse_slow(source)


def _decode(raw: bytes) -> str | None:
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        if b"\x00" in raw:
            return None
        encoding = "utf-8-sig"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        return None


def _parse_slow(source: _Source) -> Any:
    """PyYAML route: compose (kept for locating), then convert to data."""
    _ensure_composed(source)
    if source.fixed:
        return None
    try:
        return to_data(source.root, source.issues)
    except RecursionError:
        source.fixed.append(Problem(source.name, 1, 1, "the document is nested too deeply"))
        return None


def _ensure_composed(source: _Source) -> None:
    if source.composed:
        return
    source.composed = True
    node = compose(source.text)
    if isinstance(node, SyntaxProblem):
        source.fixed.append(Problem(source.name, node.line, node.column, node.message))
        return
    source.root = node


def _located(source: _Source, by_name: dict[str, _Source]) -> list[Problem]:
    if not source.issues:
        return []
    _ensure_composed(source)
    if source.fixed:  # the fast parser read what PyYAML calls a syntax error: report that
        return []
    out: list[Problem] = []
    for issue in source.issues:
        line, column = locate(source.root, issue.path, on_key=issue.on_key)
        message = issue.message
        if issue.ref is not None:
            other = by_name[issue.ref[0]]
            _ensure_composed(other)
            ref_line, ref_column = locate(other.root, issue.ref[1], on_key=issue.on_key)
            message = message.replace("{ref}", f"{other.name}:{ref_line}:{ref_column}")
        out.append(Problem(source.name, line, column, message, render_path(issue.path)))
    return out


def merge(results: list[FileConfig], names: list[str]) -> Config:
    """The config of validated files (``names`` as shown, in order)."""
    channels: dict[str, Channel] = {}
    for fc in results:
        for channel, _ in fc.channels:
            channels[channel.name] = channel
    return Config(
        milestones=tuple(m for fc in results for m, _ in fc.milestones),
        channels=MappingProxyType(channels),
        timezone=results[0].timezone if results else "UTC",
        sources=tuple(names),
        digests=tuple(d for fc in results for d, _ in fc.digests),
    )


def config_files(target: Path) -> list[tuple[Path, str]] | None:
    """The files a load of ``target`` reads (path, name as shown); ``None`` on any problem."""
    sources, problems = _discover(target)
    return None if problems else [(source.path, source.name) for source in sources]


def read_text(path: Path) -> str | None:
    """A config file's text as a load decodes it; ``None`` when unreadable or not text."""
    try:
        return _decode(path.read_bytes())
    except OSError:
        return None
