"""The incremental loader gives exactly what a full load gives, edit after edit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.config import load_config
from scheduler.config.incremental import IncrementalLoader, cut
from scheduler.errors import ConfigError
from scheduler.model import Config

ENV = {"HOOK": "http://127.0.0.1:9/hook"}

# Items as field lists: valid values, and now and then one that is wrong (each a
# located error) or that the fast route must not be trusted with.
FIELDS = {
    "at": ["2027-01-05T09:00", "2027-03-01", "2028-06-01T12:30"],
    "remind": ["[7d, 1d]", "[1d]", "[30d, 7d, 1d, 0]"],
    "notify": ["[alpha]", "[alpha, beta]", "[]"],
    "tags": ["[filing]", "[a, b]"],
    "title": ["Deadline", "Filing - court", "'quoted: title'", "Other"],
    "status": ["active", "done", "cancelled"],
    "description": ["a *bold* word", "|\n      two\n      lines", "x & y"],
}
WRONG = {
    "at": ["2027-02-30"],
    "remind": ["[soon]"],
    "notify": ["[nochannel]"],
    "title": ["yes", "&anchor Title"],
    "tags": ["[a, [b]]"],
}


RARELY = st.sampled_from([False] * 39 + [True])


def value(draw: st.DrawFn, key: str) -> str:
    if key in WRONG and draw(RARELY):
        return draw(st.sampled_from(WRONG[key]))
    return draw(st.sampled_from(FIELDS[key]))


def render(model: dict, indent: str) -> str:
    lines = [f"# {model.get('note', 'head')}", "version: 1", f"timezone: {model['zone']}"]
    lines.append("defaults:")
    lines += [f"  remind: {model['remind']}", f"  notify: {model['notify']}", "channels:"]
    for name in model["channels"]:
        lines += [f"  {name}:", "    type: webhook", "    url: ${HOOK}"]
    lines.append("milestones:")
    for item in model["items"]:
        first = True
        for key, value in item:
            lines.append(f"{indent}{'- ' if first else '  '}{key}: {value}")
            first = False
        if item and item[0][0] == "id" and item[0][1].endswith("7"):
            lines.append(f"{indent}  # a comment under {item[0][1]}")
    if model["trailer"]:
        lines += [
            "digests:",
            "  - id: weekly",
            f"    schedule: '0 {model.get('hour', 9)} * * 1'",
            "    within: 14d",
            "    notify: [alpha]",
        ]
    return "\n".join(lines) + "\n"


def item_of(draw: st.DrawFn, number: int, ids: list[str]) -> list[tuple[str, str]]:
    fields = [("id", f"m{number}"), ("title", value(draw, "title"))]
    if ids and draw(st.booleans()):
        wrong = [f"m{number}", "ghost"] if draw(RARELY) else []
        fields.append(("after", draw(st.sampled_from([*ids, *wrong]))))
        fields.append(("offset", draw(st.sampled_from(["2d", "-1w", "3 months"]))))
    else:
        fields.append(("at", value(draw, "at")))
    for key in draw(st.lists(st.sampled_from(sorted(FIELDS)), max_size=2, unique=True)):
        if key not in ("at", "title"):
            fields.append((key, value(draw, key)))
    if draw(RARELY):
        fields.append(("colour", "red"))  # not a milestone field
    return fields


EDITS = [
    "add",
    "add",
    "remove",
    "change",
    "change",
    "swap",
    "dup",
    "defaults",
    "channels",
    "zone",
    "note",  # the head's bytes, not its meaning
    "trailer",  # what follows the items
]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[str, int, list[dict]]:
    indent = draw(st.sampled_from(["", "  ", "    "]))
    model: dict = {
        "zone": "UTC",
        "remind": "[1d]",
        "notify": "[alpha]",
        "channels": ["alpha", "beta"],
        "items": [],
        "trailer": draw(st.booleans()),
    }
    counter = 0
    for _ in range(draw(st.integers(1, 12))):
        model["items"].append(item_of(draw, counter, [f"m{i}" for i in range(counter)]))
        counter += 1
    steps = [dict(model, items=list(model["items"]))]
    for _ in range(draw(st.integers(1, 8))):
        items = list(model["items"])
        # one to three edits at once: as many changed regions, or one wide one
        for edit in draw(st.lists(st.sampled_from(EDITS), min_size=1, max_size=3)):
            counter = _edit(draw, edit, model, items, counter)
        model["items"] = items
        steps.append(dict(model, items=list(items)))
    return indent, draw(st.sampled_from([1, 60, 400, 4096])), steps


def _edit(draw: st.DrawFn, edit: str, model: dict, items: list, counter: int) -> int:
    """Apply one edit to ``model`` (its items are ``items``); the next item number."""
    if edit == "add":
        ids = [v for item in items for k, v in item if k == "id"]
        items.insert(draw(st.integers(0, len(items))), item_of(draw, counter, ids))
        counter += 1
    elif edit == "remove" and items:
        items.pop(draw(st.integers(0, len(items) - 1)))
    elif edit == "change" and items:
        at = draw(st.integers(0, len(items) - 1))
        fields = list(items[at])
        key = draw(st.sampled_from(sorted(FIELDS)))
        fields = [(k, v) for k, v in fields if k != key or k == "id"]
        fields.append((key, value(draw, key)))
        items[at] = fields
    elif edit == "swap" and len(items) > 1:
        i, j = draw(st.permutations(range(len(items))))[:2]
        items[i], items[j] = items[j], items[i]
    elif edit == "dup" and items and draw(st.integers(0, 3)) == 0:
        items.append(list(items[draw(st.integers(0, len(items) - 1))]))
    elif edit == "defaults":
        model["remind"] = draw(st.sampled_from(["[1d]", "[2d, 0]", "[1d]", "[nope]"]))
    elif edit == "channels":
        model["channels"] = draw(st.sampled_from([["alpha", "beta"], ["alpha"], ["beta"]]))
    elif edit == "zone":
        model["zone"] = draw(st.sampled_from(["UTC", "Europe/Brussels"]))
    elif edit == "note":
        model["note"] = draw(st.sampled_from(["head", "a longer note at the head", "x"]))
    elif edit == "trailer":
        if model["trailer"] and draw(st.booleans()):
            model["hour"] = draw(st.sampled_from([9, 10, 17]))
        else:
            model["trailer"] = not model["trailer"]
    return counter


def full(path: Path) -> Config | list[str]:
    try:
        return load_config(path, env=ENV)
    except ConfigError as exc:
        return [str(p) for p in exc.problems]


def incremental(loader: IncrementalLoader, path: Path) -> Config | list[str]:
    try:
        return loader.load(path, env=ENV)
    except ConfigError as exc:
        return [str(p) for p in exc.problems]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(scenarios())
def test_every_edit_loads_as_a_full_load_does(
    tmp_path: Path, scenario: tuple[str, int, list[dict]]
) -> None:
    indent, block_bytes, steps = scenario
    path = tmp_path / "tminus.yaml"
    loader = IncrementalLoader(block_bytes=block_bytes)
    for model in steps:
        path.write_text(render(model, indent))
        assert incremental(loader, path) == full(path)


def test_a_one_item_edit_reuses_every_other_milestone(tmp_path: Path) -> None:
    items = [[("id", f"m{i}"), ("title", "T"), ("at", "2027-01-05T09:00")] for i in range(50)]
    model = {"zone": "UTC", "remind": "[1d]", "notify": "[alpha]", "channels": ["alpha"]}
    model |= {"items": items, "trailer": False}
    path = tmp_path / "tminus.yaml"
    path.write_text(render(model, "  "))
    loader = IncrementalLoader()
    before = loader.load(path, env=ENV)
    items[10] = [("id", "m10"), ("title", "Moved"), ("at", "2027-02-05T09:00")]
    path.write_text(render(model, "  "))
    after = loader.load(path, env=ENV)
    assert loader.reused == 49
    assert after == load_config(path, env=ENV)
    same = [a is b for a, b in zip(before.milestones, after.milestones, strict=True)]
    assert same == [i != 10 for i in range(50)]


def test_a_directory_reuses_each_file(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "version: 1\nchannels:\n  alpha:\n    type: webhook\n    url: ${HOOK}\n"
        "milestones:\n  - id: a1\n    title: A\n    at: 2027-01-01\n    notify: [alpha]\n"
    )
    (tmp_path / "b.yaml").write_text(
        "version: 1\nmilestones:\n  - id: b1\n    title: B\n    after: a1\n"
        "  - id: b2\n    title: B2\n    at: 2027-01-02\n"
    )
    loader = IncrementalLoader()
    first = loader.load(tmp_path, env=ENV)
    (tmp_path / "b.yaml").write_text(
        "version: 1\nmilestones:\n  - id: b1\n    title: B\n    after: a1\n"
        "  - id: b2\n    title: B2\n    at: 2027-01-03\n"
    )
    second = loader.load(tmp_path, env=ENV)
    assert second == load_config(tmp_path, env=ENV)
    assert loader.reused == 2
    assert second.milestones[0] is first.milestones[0]
    # a cycle through both files is the full load's located error
    (tmp_path / "a.yaml").write_text(
        "version: 1\nchannels:\n  alpha:\n    type: webhook\n    url: ${HOOK}\n"
        "milestones:\n  - id: a1\n    title: A\n    after: b1\n    notify: [alpha]\n"
    )
    with pytest.raises(ConfigError) as caught:
        loader.load(tmp_path, env=ENV)
    assert "after cycle" in str(caught.value.problems[0])
    assert str(caught.value.problems[0]).startswith(f"{tmp_path / 'a.yaml'}:")


@pytest.mark.parametrize(
    "text",
    [
        "version: 1\nmilestones: [{id: a, title: A, at: 2027-01-01}]\n",
        "version: 1\nmilestones:\n  - &x {id: a, title: A, at: 2027-01-01}\n",
        "version: 1\nmilestones:\n",
    ],
)
def test_texts_that_cannot_be_cut_take_the_full_load(text: str) -> None:
    pieces = cut(text)
    assert pieces is None or not pieces.items or "&x" in "".join(pieces.items)


def test_the_process_environment_is_the_default(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("version: 1\nmilestones:\n  - id: a\n    title: A\n    at: 2027-01-01\n")
    assert IncrementalLoader().load(path, env=os.environ) == load_config(path)


def test_an_unforeseen_failure_takes_the_full_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("version: 1\nmilestones:\n  - id: a\n    title: A\n    at: 2027-01-01\n")
    loader = IncrementalLoader()
    loader.load(path, env=ENV)

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("unforeseen")

    monkeypatch.setattr("scheduler.config.incremental.milestone_entry", broken)
    path.write_text("version: 1\nmilestones:\n  - id: a\n    title: B\n    at: 2027-01-01\n")
    assert loader.load(path, env=ENV) == load_config(path, env=ENV)
    assert loader.reused == 0


def _items_model(count: int) -> dict:
    items = [[("id", f"m{i}"), ("title", "T"), ("at", "2027-01-05T09:00")] for i in range(count)]
    for i in range(5, count, 7):
        items[i] = [("id", f"m{i}"), ("title", "T"), ("after", f"m{i - 1}"), ("offset", "2d")]
    model = {"zone": "UTC", "remind": "[1d]", "notify": "[alpha]", "channels": ["alpha"]}
    return model | {"items": items, "trailer": True}


def _moved(i: int) -> list[tuple[str, str]]:
    return [("id", f"m{i}"), ("title", "Moved"), ("at", "2027-02-05T09:00")]


REGION_EDITS = {
    "first item": (lambda items: items.__setitem__(0, _moved(0)), 199),
    "last item": (lambda items: items.__setitem__(199, _moved(199)), 199),
    "middle item": (lambda items: items.__setitem__(100, _moved(100)), 199),
    "three regions": (
        lambda items: [items.__setitem__(i, _moved(i)) for i in (3, 90, 180)],
        197,
    ),
    "an item inserted": (lambda items: items.insert(50, _moved(900)), 200),
    "an item removed": (lambda items: items.pop(50), 199),
    "items removed at both ends": (lambda items: [items.pop(0), items.pop()], 198),
}


@pytest.mark.parametrize("edit", sorted(REGION_EDITS))
@pytest.mark.parametrize("block_bytes", [1, 300, 4096])
def test_a_region_edit_reads_only_the_region(tmp_path: Path, edit: str, block_bytes: int) -> None:
    model = _items_model(200)
    path = tmp_path / "tminus.yaml"
    path.write_text(render(model, "  "))
    loader = IncrementalLoader(block_bytes=block_bytes)
    before = loader.load(path, env=ENV)
    change, reused = REGION_EDITS[edit]
    change(model["items"])
    path.write_text(render(model, "  "))
    after = loader.load(path, env=ENV)
    assert after == load_config(path, env=ENV)
    assert loader.reused == reused
    kept = {id(m) for m in before.milestones}
    assert sum(id(m) in kept for m in after.milestones) == reused
    # and the next edit starts from the segments this one left
    at = [item[0][1] for item in model["items"]].index("m150")
    model["items"][at] = _moved(150)
    path.write_text(render(model, "  "))
    assert loader.load(path, env=ENV) == load_config(path, env=ENV)
    assert loader.reused == len(model["items"]) - 1


@pytest.mark.parametrize("where", ["note", "hour", "both"])
def test_edits_outside_the_items_keep_every_milestone(tmp_path: Path, where: str) -> None:
    model = _items_model(100)
    path = tmp_path / "tminus.yaml"
    path.write_text(render(model, "  "))
    loader = IncrementalLoader(block_bytes=200)
    before = loader.load(path, env=ENV)
    if where in ("note", "both"):
        model["note"] = "a note made longer, which shifts every offset"
    if where in ("hour", "both"):
        model["hour"] = 17
    path.write_text(render(model, "  "))
    after = loader.load(path, env=ENV)
    assert after == load_config(path, env=ENV)
    # head and tail at once take the full load; either alone reuses every milestone
    assert loader.reused == (0 if where == "both" else 100)
    if where != "both":
        assert all(a is b for a, b in zip(before.milestones, after.milestones, strict=True))


def test_an_edit_that_joins_an_item_to_the_one_before_is_read_as_a_full_load(
    tmp_path: Path,
) -> None:
    model = _items_model(60)
    path = tmp_path / "tminus.yaml"
    text = render(model, "  ")
    path.write_text(text)
    loader = IncrementalLoader(block_bytes=1)
    loader.load(path, env=ENV)
    for broken in (
        text.replace("  - id: m30\n", "    id: m30\n"),  # no longer an item of its own
        text.replace(
            "    at: 2027-01-05T09:00\n  - id: m31", "    at: 2027-01-05T09:00  - id: m31"
        ),
        text.replace("  - id: m30\n", "  - id: m30\nmilestones:\n"),  # ends the items
    ):
        path.write_text(broken)
        assert incremental(loader, path) == full(path)
