"""The fast parser and PyYAML must give the same data, or the fast one must step aside.

YAML 1.1 (PyYAML) and 1.2 (yaml_rs) read some plain scalars differently. Whenever
the fast route is taken, its result must equal PyYAML's; the guard
:func:`needs_pyyaml` sends every ambiguous text to PyYAML.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from scheduler.config.checker import Issue
from scheduler.config.parse import compose, fast_available, needs_pyyaml, parse_fast, to_data

pytestmark = pytest.mark.skipif(not fast_available(), reason="yaml_rs is not installed")

SCALARS = [
    "yes",
    "no",
    "on",
    "off",
    "Yes",
    "NO",
    "On",
    "OFF",
    "y",
    "n",
    "true",
    "False",
    "TRUE",
    "null",
    "~",
    "Null",
    "",
    "010",
    "-010",
    "0o17",
    "0x1F",
    "0b101",
    "1_000",
    "1:30",
    "-1:30",
    "1:30.5",
    "1e3",
    "1.5e3",
    "1.0e+3",
    "1E-2",
    ".inf",
    "-.Inf",
    ".nan",
    "+.5",
    ".5",
    "1.",
    "0.5",
    "+1",
    "-0",
    "007",
    "08",
    "2019-02-02",
    "2019-02-02T09:00",
    "2019-02-02 09:00",
    "2019-02-02 09:00:00 +02:00",
    "2030-02-30",
    "=",
    "!!str 1",
    "!foo bar",
    "!!binary aGVsbG8=",
    "'quoted'",
    '"yes"',
    "'010'",
    "30d",
    "6 months",
    "P7D",
    "-90d",
    "0",
    "12",
    "https://example.org/x?a=1&b=2",
    "a: b",
    "[1, 2]",
    "{a: 1}",
    "'it''s'",
    '"tab\\tnew\\nline"',
    "hello # comment",
    "${VAR:-x}",
    "Time is running out!",
    "Say no, please",
    "[yes, no]",
    "{on: 1}",
    "&a 1",
    "plain text with: colon",
]


def _py(text: str) -> Any:
    node = compose(text)
    issues: list[Issue] = []
    return to_data(node, issues), issues  # type: ignore[arg-type]


def _has_odd_key(data: Any) -> bool:
    """Non-string keys are always validation errors, and the loader redoes any file
    with errors on the PyYAML route: such texts never reach a Config from the fast one."""
    if isinstance(data, dict):
        return any(not isinstance(k, str) or _has_odd_key(v) for k, v in data.items())
    if isinstance(data, list):
        return any(_has_odd_key(item) for item in data)
    return False


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return _same(list(a), list(b)) and all(
            _same(x, y) for x, y in zip(a.values(), b.values(), strict=True)
        )
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@pytest.mark.parametrize("scalar", SCALARS)
@pytest.mark.parametrize("shape", ["k: {}\n", "- {}\n", "k: [{}]\n", "{}: v\n"])
def test_fast_route_agrees_or_steps_aside(shape: str, scalar: str) -> None:
    text = shape.format(scalar)
    fast = parse_fast(text)
    if fast is None or _has_odd_key(fast):
        return  # the PyYAML route is taken: nothing to compare
    slow, issues = _py(text)
    assert not issues, f"PyYAML had issues the fast route missed: {issues}"
    assert _same(fast, slow), f"{text!r}: fast={fast!r} pyyaml={slow!r}"


@pytest.mark.parametrize(
    "text",
    [
        "k: yes\n",
        "k: 010\n",
        "k: 1:30\n",
        "k: 1e3\n",
        "k: 0o17\n",
        "k: +.5\n",
        "k: !foo x\n",
        "a: &x {b: 1}\nc:\n  <<: *x\n",
        "a: 1\n---\nb: 2\n",
        "? a\n: 1\n",
        "on: 1\n",
        "k: [no]\n",
    ],
)
def test_guard_flags_disagreements(text: str) -> None:
    assert needs_pyyaml(text)


@pytest.mark.parametrize(
    "text",
    [
        "version: 1\nmilestones:\n  - {id: a, title: A, at: 2019-02-02, remind: [30d, 0]}\n",
        "---\nversion: 1\n",
        "k: 2019-02-02 09:00\n",
        "rate_limit: 0.5\n",
    ],
)
def test_guard_lets_ordinary_configs_through(text: str) -> None:
    assert not needs_pyyaml(text)


@pytest.mark.parametrize("name", ["inf-treaty.yaml", "milestones.yaml"])
def test_examples_take_the_fast_route_and_agree(name: str) -> None:
    text = (Path(__file__).resolve().parents[2] / "config" / name).read_text()
    fast = parse_fast(text)
    assert fast is not None
    slow, issues = _py(text)
    assert not issues
    assert _same(fast, slow)


def test_duplicate_keys_go_to_pyyaml_which_reports_them() -> None:
    text = "a: 1\na: 2\n"
    assert parse_fast(text) is None
    _, issues = _py(text)
    assert [i.message for i in issues] == ["duplicate key 'a' (first at line 1)"]


def test_empty_key_reports_pyyaml_syntax_error(tmp_path: Path) -> None:
    from tests.config.helpers import errors, write

    path = write(tmp_path, "c.yaml", "version: 1\n: v\n")
    assert errors(path) == [f"{path}:2:1: YAML syntax error: did not find expected key"]


def test_complex_key_is_reported(tmp_path: Path) -> None:
    from tests.config.helpers import errors, write

    path = write(tmp_path, "c.yaml", "version: 1\n[a, b]: v\n")
    assert errors(path) == [
        f"{path}:1:1: mapping keys must be plain scalars, not lists or mappings"
    ]
