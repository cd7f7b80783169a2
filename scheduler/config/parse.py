"""YAML text → plain Python data, by a fast route or by PyYAML with positions.

Two routes give the same data:

* **fast** — ``yaml_rs.loads`` (Rust), about 20× quicker than PyYAML's C loader on
  a 10 MB file, but YAML 1.2 and without positions. YAML 1.1 and 1.2 disagree on
  some plain scalars (``yes``/``on`` booleans, ``010`` octal, ``1:30``
  sexagesimal, ``1e3``, ``0o17``) and constructs (tags, merge keys, several
  documents). The fast route is abandoned for PyYAML when :func:`needs_pyyaml`
  finds such a construct in the text, when the validator accepted a string that
  1.1 reads otherwise, when it accepted a number and :func:`numbers_need_pyyaml`
  finds an ambiguous spelling, and whenever the document has a problem to
  report. The checks are conservative: a false alarm costs time, never a
  different result. A long ``milestones`` list is parsed in slices
  (:mod:`scheduler.config.slices`): the same data, a fraction of the memory.
* **PyYAML** — ``yaml.compose`` with the libyaml C parser, the node tree kept for
  locating problems, converted to data by :func:`to_data`. This is the reference
  behaviour (YAML 1.1 as PyYAML reads it) with one change on both routes:
  timestamps stay strings, so the validator parses dates itself and an impossible
  date (``2030-02-30``) is a located error rather than a constructor crash.

Duplicate mapping keys are an error (yaml_rs raises, so the PyYAML route reports them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from scheduler.config.checker import DocPath, Issue
from scheduler.config.slices import SlicedList as SlicedList
from scheduler.config.slices import parse_sliced

_yaml_rs: Any
try:  # the fast parser is optional: without it every file takes the PyYAML route
    import yaml_rs as _yaml_rs
except ImportError:  # pragma: no cover - depends on the environment
    _yaml_rs = None

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class NodeLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """PyYAML's safe loader (C-accelerated where available) without timestamp resolution."""


NodeLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}

# YAML 1.1 (PyYAML) and 1.2 (yaml_rs) read some plain scalars differently. Checks on
# the text that are cheap (each regex starts with a literal, so ``re`` skips ahead in C):
_VALUE_START = r"[\s\[{,]"
_END = r"(?=[ \t]*(?:$|[,\]}]|:[ \t]|:$|[ \t]#))"
_TEXT_CHECKS = [
    re.compile(r"0o(?<=[\s\[{,+-]0o)"),  # 0o17: an int in 1.2, a string in 1.1
    re.compile(r"\.(?<=" + _VALUE_START + r"[-+]\.)[0-9]"),  # +.5: a float in 1.2 only
    re.compile(r"!(?<=" + _VALUE_START + r"!)"),  # tags
    # an explicit document end: ``...`` at a line's start (found by the dots, not tried
    # at every character as ``^`` would be)
    re.compile(r"\.\.\.(?<![^\n]\.\.\.)(?:[ \t]|$)", re.MULTILINE),
]
# Checks needed only when the document holds a number that validation accepted
# (a number's spelling is lost once parsed); these cost more, so they run on demand.
_NUMBER_CHECKS = [
    # 010 is 8 in 1.1 and 10 in 1.2
    re.compile(r"0(?:(?<=" + _VALUE_START + r"0)|(?<=" + _VALUE_START + r"[-+]0))[0-9_]+" + _END),
    # 1e3 is a float in 1.2 and a string in 1.1
    re.compile(r"[eE](?<=[0-9.][eE])[-+]?[0-9]+" + _END, re.MULTILINE),
]
_LEADING_DOC = re.compile(r"\A(?:[ \t]*(?:#[^\n]*)?\n)*---(?:[ \t]|$)", re.MULTILINE)


def fast_available() -> bool:
    return _yaml_rs is not None


def needs_pyyaml(text: str) -> bool:
    """True when the text holds a construct on which the two routes could disagree.

    Merge keys, tags, several documents, ``0o17``, ``+.5``. Strings that YAML 1.1
    reads as booleans or sexagesimal numbers are caught later, on the data, by the
    validator (see :func:`scheduler.config.checker.yaml11_differs`).
    """
    if "<<" in text or text.lstrip().startswith("!"):
        return True
    if any(rx.search(text) for rx in _TEXT_CHECKS):
        return True
    body = _LEADING_DOC.sub("", text, count=1)
    return "\n---" in body or body.startswith("---")


def numbers_need_pyyaml(text: str) -> bool:
    """True when a number in the text may read differently in YAML 1.1 (``010``, ``1e3``)."""
    return any(rx.search(text) for rx in _NUMBER_CHECKS)


def parse_fast(text: str, *, lazy: bool = False, slices: bool = True) -> Any | None:
    """The document via yaml_rs, or ``None`` when that route cannot be trusted here.

    ``lazy``: a long ``milestones`` list may come as a :class:`SlicedList`, parsed as
    it is walked (:mod:`scheduler.config.slices`). ``slices=False``: one parse of the
    whole text (after a :class:`~scheduler.config.slices.SliceRefused`).
    """
    if _yaml_rs is None or needs_pyyaml(text):
        return None
    try:
        sliced = parse_sliced(text, _loads_fast, lazy=lazy) if slices else None
        return sliced if sliced is not None else _loads_fast(text)
    except Exception:  # any refusal (syntax, duplicate key, alias limits): use PyYAML
        return None


def _loads_fast(text: str) -> Any:
    return _yaml_rs.loads(text, parse_datetime=False)


@dataclass(frozen=True, slots=True)
class SyntaxProblem:
    """A YAML syntax error: 1-based position and a message."""

    line: int
    column: int
    message: str


def compose(text: str) -> yaml.Node | SyntaxProblem | None:
    """The node tree of a single-document YAML text (``None`` when empty)."""
    try:
        return yaml.compose(text, Loader=NodeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        if "expected a single document" in (exc.context or "") + problem:
            problem = "expected a single YAML document, found several (remove the extra '---')"
        if mark is None:
            return SyntaxProblem(1, 1, f"YAML syntax error: {problem}")
        return SyntaxProblem(mark.line + 1, mark.column + 1, f"YAML syntax error: {problem}")
    except yaml.reader.ReaderError as exc:  # a control character: a character offset
        position = int(exc.position)
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        return SyntaxProblem(
            line, column, f"YAML syntax error: {exc.reason} (character #x{exc.character:04x})"
        )
    except yaml.YAMLError as exc:
        return SyntaxProblem(1, 1, f"YAML syntax error: {exc}")
    except RecursionError:
        return SyntaxProblem(1, 1, "the document is nested too deeply")


_SCALARS: dict[str, Any] = {}
_constructor = SafeConstructor()


def to_data(node: yaml.Node | None, issues: list[Issue], path: DocPath = ()) -> Any:
    """Plain data from a composed node tree, as ``yaml.safe_load`` would give.

    Differences, recorded as issues: duplicate keys, tags other than the core
    schema (``!!binary``, ``!custom``, ``!!set``), non-scalar keys.
    """
    if node is None:
        return None
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node, issues, path)
    return _collection(node, issues, path, {})


def _collection(node: yaml.Node, issues: list[Issue], path: DocPath, seen: dict[int, Any]) -> Any:
    """A sequence or mapping; an alias to a node already built reuses it (as PyYAML
    does), so that nested aliases ("billion laughs") cost nothing."""
    if id(node) in seen:
        return seen[id(node)]
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node, issues, path)
    if isinstance(node, yaml.SequenceNode):
        if node.tag != "tag:yaml.org,2002:seq":
            issues.append(Issue(path, f"unsupported YAML tag {node.tag!r}"))
        items: list[Any] = []
        seen[id(node)] = items
        items.extend(
            _collection(item, issues, (*path, i), seen) for i, item in enumerate(node.value)
        )
        return items
    assert isinstance(node, yaml.MappingNode)
    if node.tag != "tag:yaml.org,2002:map":
        issues.append(Issue(path, f"unsupported YAML tag {node.tag!r}"))
    try:
        _constructor.flatten_mapping(node)  # merge keys (<<: *anchor), as safe_load does
    except ConstructorError as exc:
        issues.append(Issue(path, f"invalid merge key: {exc.problem}"))
        return {}
    out: dict[Any, Any] = {}
    seen[id(node)] = out
    first_line: dict[Any, int] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            issues.append(Issue(path, "mapping keys must be plain scalars, not lists or mappings"))
            continue
        key = _scalar(key_node, issues, path)
        try:
            hash(key)
        except TypeError:
            issues.append(Issue(path, "unsupported mapping key"))
            continue
        if key in out:
            issues.append(
                Issue(
                    (*path, str(key)),
                    f"duplicate key '{key}' (first at line {first_line[key]})",
                    on_key=True,
                )
            )
            continue
        first_line[key] = key_node.start_mark.line + 1
        out[key] = _collection(value_node, issues, (*path, str(key)), seen)
    return out


def _scalar(node: yaml.ScalarNode, issues: list[Issue], path: DocPath) -> Any:
    tag = node.tag
    if tag == "tag:yaml.org,2002:str":
        return node.value
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:bool":
        return _constructor.construct_yaml_bool(node)
    if tag == "tag:yaml.org,2002:int":
        return _constructor.construct_yaml_int(node)
    if tag == "tag:yaml.org,2002:float":
        return _constructor.construct_yaml_float(node)
    if tag == "tag:yaml.org,2002:timestamp":  # explicit !!timestamp: the validator parses it
        return node.value
    shown = {"tag:yaml.org,2002:merge": "'<<'", "tag:yaml.org,2002:value": "'='"}.get(tag)
    if shown:
        issues.append(Issue(path, f"{shown} must be quoted here"))
    else:
        issues.append(Issue(path, f"unsupported YAML tag {tag!r}"))
    return node.value
