"""``escalate`` in the config: defaults and milestone lists, and their located errors."""

from __future__ import annotations

import tempfile
import textwrap
from pathlib import Path

import pytest

from scheduler.durations import Duration
from scheduler.model import Config, Escalation
from tests.config.helpers import errors, load, write

CHANNELS = """
channels:
  team: {type: webhook, url: "https://example.org/team"}
  phones: {type: webhook, url: "https://example.org/phones"}
"""


def load_text(text: str) -> Config:
    """Load a config written as ``text`` (for tables elsewhere that want the real loader)."""
    with tempfile.TemporaryDirectory() as directory:
        return load(write(Path(directory), "milestones.yaml", textwrap.dedent(text)))


def test_defaults_apply_and_a_milestone_list_replaces_them(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "m.yaml",
        "version: 1\n"
        + CHANNELS
        + """
defaults:
  escalate:
    - {at: 1d, notify: [phones]}
    - {at: -2h, notify: [team, phones]}
milestones:
  - {id: a, title: A, at: 2026-03-10}
  - {id: b, title: B, at: 2026-03-10, escalate: [{at: 0, notify: [team]}]}
  - {id: c, title: C, at: 2026-03-10, escalate: []}
""",
    )
    a, b, c = load(path).milestones
    assert a.escalate == (
        Escalation(Duration.parse("1d"), ("phones",)),
        Escalation(Duration.parse("-2h"), ("team", "phones")),
    )
    assert b.escalate == (Escalation(Duration.parse("0"), ("team",)),)
    assert c.escalate == ()


@pytest.mark.parametrize(
    ("milestones", "expected"),
    [
        (
            "  - {id: a, title: A, at: 2026-03-10, escalate: [{at: soon, notify: [team]}]}\n",
            "m.yaml:6:55: escalate at: ",
        ),
        (
            "  - {id: a, title: A, at: 2026-03-10, escalate: [{at: 1d, notify: [pager]}]}\n",
            "m.yaml:6:68: unknown channel 'pager' (channels: phones, team) "
            "(at milestones[0].escalate[0].notify[0])",
        ),
        (
            "  - {id: a, title: A, at: 2026-03-10, escalate: [{at: 1d}]}\n",
            "m.yaml:6:50: escalate entry is missing the required key 'notify' "
            "(at milestones[0].escalate[0])",
        ),
        (
            "  - {id: a, title: A, at: 2026-03-10, escalate: [{at: 1d, notify: [team], to: x}]}\n",
            "m.yaml:6:75: unknown key 'to' in escalate entry",
        ),
        (
            "  - {id: a, title: A, at: 2026-03-10, escalate: [{at: 1d, notify: []}]}\n",
            "m.yaml:6:67: escalate notify must name at least one channel "
            "(at milestones[0].escalate[0].notify)",
        ),
        (
            "  - id: a\n    title: A\n    at: 2026-03-10\n    escalate:\n"
            "      - {at: 1d, notify: [team]}\n      - {at: P1D, notify: [phones]}\n",
            "m.yaml:11:14: duplicate escalation offset 1d (same as escalate[0])",
        ),
        (
            "  - {id: a, title: A, at: 2026-03-10, escalate: {at: 1d}}\n",
            "m.yaml:6:49: escalate must be a list, got a mapping (at milestones[0].escalate)",
        ),
    ],
)
def test_milestone_errors_are_located(tmp_path: Path, milestones: str, expected: str) -> None:
    path = write(tmp_path, "m.yaml", "version: 1" + CHANNELS + "milestones:\n" + milestones)
    found = errors(path)
    assert len(found) == 1, found
    assert found[0].startswith(str(tmp_path / expected)), found


def test_defaults_errors_are_located_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "m.yaml",
        "version: 1"
        + CHANNELS
        + """defaults:
  escalate: [{at: 1d, notify: [pager]}]
milestones:
  - {id: a, title: A, at: 2026-03-10}
  - {id: b, title: B, at: 2026-03-11}
""",
    )
    assert errors(path) == [
        f"{tmp_path / 'm.yaml'}:6:32: unknown channel 'pager' (channels: phones, team) "
        "(at defaults.escalate[0].notify[0])"
    ]
