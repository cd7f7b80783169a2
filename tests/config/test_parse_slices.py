"""A long milestone list parsed in slices gives the data of one parse, or no answer.

Small ``min_items``/``slice_items`` make every case cut its list in several places.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scheduler.config import load_config
from scheduler.config import parse as parse_module
from scheduler.config import slices as slices_module
from scheduler.config.parse import fast_available
from scheduler.config.slices import SlicedList, SliceRefused, parse_sliced

pytestmark = pytest.mark.skipif(not fast_available(), reason="yaml_rs is not installed")

yaml_rs = pytest.importorskip("yaml_rs")


def _loads(text: str) -> Any:
    return yaml_rs.loads(text, parse_datetime=False)


def _sliced(text: str) -> Any:
    return parse_sliced(text, _loads, min_items=2, slice_items=2)


ITEMS = """\
  - id: a
    title: A
    at: 2030-01-01
    description: |
      - not an item: a block scalar's line
      - nor this one
  # a comment between items
  - {id: b, title: B, at: 2030-01-02}

  - id: c
    title: "C - c"
    at: 2030-01-03
    tags:
      - x
      - y
  -
  - id: e
    title: E
    at: 2030-01-05
"""

SHAPES = [
    f"version: 1\nmilestones:\n{ITEMS}channels:\n  hook: {{type: webhook}}\n",
    f"version: 1\nmilestones:   # the list\n{ITEMS}",
    "version: 1\nmilestones:\n" + ITEMS.replace("\n  ", "\n").removeprefix("  "),
    f"milestones:\n{ITEMS}# trailing comment\ntimezone: UTC\n",
]


@pytest.mark.parametrize("text", SHAPES)
def test_slices_give_the_data_of_one_parse(text: str) -> None:
    sliced = _sliced(text)
    assert sliced is not None
    whole = _loads(text)
    assert sliced == whole
    assert list(sliced) == list(whole)  # the keys in the order written
    assert len(sliced["milestones"]) == 5


@pytest.mark.parametrize(
    "text",
    [
        # a cut inside a multi-line quoted value
        "milestones:\n  - id: a\n    title: 'one\n  - two'\n  - id: b\n  - id: c\n",
        # an anchor in one slice, its alias in another
        "milestones:\n  - &x {id: a}\n  - id: b\n  - *x\n  - id: d\n",
        # a cut inside a multi-line flow list
        "milestones:\n  - [a,\n  - b]\n  - c\n  - d\n",
        # the key written twice
        "milestones:\n  - a\n  - b\n  - c\nmilestones:\n  - d\n",
        # not a block list
        "milestones: [a, b, c, d]\n",
        "milestones:\n  a: 1\n  b: 2\n",
        # a duplicate key inside an item
        "milestones:\n  - {id: a, id: b}\n  - c\n  - d\n",
    ],
)
def test_anything_else_is_left_to_one_parse(text: str) -> None:
    assert _sliced(text) is None
    # Lazily, a slice is parsed only when walked: the refusal comes then.
    lazy = parse_sliced(text, _loads, lazy=True, min_items=2, slice_items=2)
    if lazy is not None:
        with pytest.raises(SliceRefused):
            list(lazy["milestones"])


@pytest.mark.parametrize("text", SHAPES)
def test_a_lazy_list_walks_the_same_items(text: str) -> None:
    lazy = parse_sliced(text, _loads, lazy=True, min_items=2, slice_items=2)
    assert lazy is not None
    items = lazy.pop("milestones")
    assert isinstance(items, SlicedList)
    assert items.count == 5
    whole = _loads(text)
    assert list(items) == whole.pop("milestones")
    assert list(items) == list(items)  # walked again: parsed again, the same
    assert lazy == whole


def test_short_lists_are_left_to_one_parse() -> None:
    assert parse_sliced(SHAPES[0], _loads, min_items=6, slice_items=2) is None
    assert parse_sliced(SHAPES[0], _loads, min_items=5, slice_items=2) is not None


def test_a_config_loaded_in_slices_equals_one_loaded_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = ["version: 1", "channels:", "  hook: {type: webhook, url: 'https://h.example/x'}"]
    lines += ["defaults: {notify: [hook], remind: [1d, '0']}", "milestones:"]
    for i in range(50):
        lines.append(f"  - id: m{i}\n    title: M {i}\n    at: 2030-01-{1 + i % 28:02d}T09:00")
        if i % 7 == 0:
            lines.append(f"    after: m{i - 1}" if i else "    tags: [first]")
    path = tmp_path / "c.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(Exception) as whole_error:  # 'at' and 'after' together: rejected
        load_config(path)
    monkeypatch.setattr(slices_module, "MIN_ITEMS", 10)
    monkeypatch.setattr(slices_module, "SLICE_ITEMS", 7)
    answers: list[bool] = []

    def spy(text: str, loads: Any, *, lazy: bool = False) -> Any:
        assert lazy  # the loader walks the list slice by slice
        found = parse_sliced(text, loads, lazy=lazy)
        answers.append(found is not None)
        return found

    monkeypatch.setattr(parse_module, "parse_sliced", spy)
    with pytest.raises(Exception) as sliced_error:
        load_config(path)
    assert str(sliced_error.value) == str(whole_error.value)
    path.write_text("\n".join(line for line in lines if "after" not in line) + "\n")
    sliced = load_config(path)
    assert answers == [True, True]  # both loads took the sliced route
    monkeypatch.setattr(slices_module, "MIN_ITEMS", 10**9)
    assert load_config(path) == sliced
    assert answers[-1] is False
    assert len(sliced.milestones) == 50


def test_a_slice_refused_during_validation_gives_the_load_of_one_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A quoted title running across a cut: the walk stops at that slice, and the
    config read whole is the one a single parse gives."""
    lines = ["version: 1", "milestones:"]
    for i in range(30):
        title = f"'M {i}\n  - not an item'" if i == 17 else f"M {i}"
        lines.append(f"  - id: m{i}\n    title: {title}\n    at: 2030-01-{1 + i % 28:02d}")
    path = tmp_path / "c.yaml"
    path.write_text("\n".join(lines) + "\n")
    whole = load_config(path)
    monkeypatch.setattr(slices_module, "MIN_ITEMS", 10)
    monkeypatch.setattr(slices_module, "SLICE_ITEMS", 4)
    walked: list[int] = []
    real_iter = SlicedList.__iter__

    def spy(self: SlicedList) -> Any:
        for item in real_iter(self):
            walked.append(1)
            yield item

    monkeypatch.setattr(SlicedList, "__iter__", spy)
    assert load_config(path) == whole
    assert 0 < len(walked) < 30  # the walk began, then a slice was refused
    assert whole.milestones[17].title == "M 17 - not an item"
