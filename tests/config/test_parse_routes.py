"""The fast parse route and the PyYAML route must load the same config or report
the same problems.

YAML 1.1 (PyYAML) and 1.2 (yaml_rs) read some plain scalars differently; the
loader's guards send every ambiguous document to PyYAML. Each case loads a config
both ways and compares the outcomes.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from scheduler.config import load_config
from scheduler.config import parse as parse_module
from scheduler.config.checker import Issue
from scheduler.config.parse import (
    compose,
    fast_available,
    needs_pyyaml,
    numbers_need_pyyaml,
    parse_fast,
    to_data,
)
from scheduler.errors import ConfigError

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
    '"é \\u00e9 \\x41"',
    "'single ''quoted'' text'",
    "tab\there",
    "trailing spaces   ",
    "ünïcödé — dash",
    '"line one\\nline two"',
    "-",
    "- item",
    "@at",
    "%percent",
    "`tick",
]


def _py(text: str) -> Any:
    node = compose(text)
    issues: list[Issue] = []
    return to_data(node, issues), issues  # type: ignore[arg-type]


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


# One field at a time takes the scalar, so that many of the configs are valid.
M = "milestones:\n  - id: a\n    title: A\n    at: 2030-01-01\n"
C = "channels:\n  c:\n    type: slack\n    url: https://c.example/\n"
TEMPLATES = {
    "title": "milestones:\n  - id: a\n    title: {s}\n    at: 2030-01-01\n",
    "tag": M + "    tags: [{s}]\n",
    "description": M + "    description: {s}\n",
    "remind": M + "    remind: [{s}]\n",
    "at": "milestones:\n  - id: a\n    title: A\n    at: {s}\n",
    "channel": "channels:\n  {s}: {{type: slack, url: 'https://c.example/'}}\n",
    "header": "channels:\n  c: {{type: slack, url: 'https://c.example/', headers: {{X-A: {s}}}}}\n",
    "header-name": C + "    headers:\n      {s}: v\n",
    "attempts": C + "    retry: {{max_attempts: {s}}}\n",
    "rate": C + "    rate_limit: {s}\n",
    "version": "",
    "block": M + "    description: |\n      {s}\n      second line\n",
    "folded": M + "    description: >-\n      {s}\n\n      next paragraph\n",
    "multiline": M + "    description: {s}\n      continued here\n",
}
NUMBERS = ["010", "012", "-010", "0o12", "1e3", "1.5e3", "1E1", "+.5", "0.5", "0x0A", "1_0", "10"]


def _outcome(path: Path) -> object:
    try:
        return load_config(path, env={})
    except ConfigError as exc:
        return [str(p) for p in exc.problems]


@pytest.mark.parametrize("scalar", SCALARS + NUMBERS)
@pytest.mark.parametrize("field", list(TEMPLATES))
def test_both_routes_load_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field: str, scalar: str
) -> None:
    if field == "version":
        text = f"version: {scalar}\n"
    else:
        text = "version: 1\n" + TEMPLATES[field].format(s=scalar)
    path = tmp_path / "c.yaml"
    path.write_text(text)
    fast = _outcome(path)
    monkeypatch.setattr(parse_module, "_yaml_rs", None)
    slow = _outcome(path)
    assert fast == slow, text


@pytest.mark.parametrize(
    "text",
    [
        "k: 0o17\n",
        "k: +.5\n",
        "k: !foo x\n",
        "!!map {}\n",
        "a: &x {b: 1}\nc:\n  <<: *x\n",
        "a: 1\n---\nb: 2\n",
        "a: 1\n...\n",
    ],
)
def test_text_guard_flags_constructs(text: str) -> None:
    assert needs_pyyaml(text)
    assert parse_fast(text) is None


@pytest.mark.parametrize("text", ["k: 010\n", "k: [1e3]\n", "k: -012\n", "k: {a: 1.5E+3}\n"])
def test_number_guard_flags_spellings(text: str) -> None:
    assert numbers_need_pyyaml(text)


@pytest.mark.parametrize(
    "text",
    [
        "version: 1\nmilestones:\n  - {id: a, title: A, at: 2019-02-02, remind: [30d, 0]}\n",
        "---\nversion: 1\n",
        "# comment\n---\nversion: 1\n",
        "k: 2019-02-02 09:05\nj: 2019-02-02T09:05\n",
        "title: Time is running out! Act now\n",
        "rate_limit: 0.5\nmax_attempts: 10\nid: deadline-000010\n",
    ],
)
def test_guards_let_ordinary_configs_through(text: str) -> None:
    assert not needs_pyyaml(text)
    assert not numbers_need_pyyaml(text)


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
