"""Values that many milestones repeat are kept once (a config of a million milestones
would otherwise hold a million equal tuples and strings)."""

from __future__ import annotations

from pathlib import Path

from tests.config.helpers import load, write

ITEM = (
    "{{id: m{i}, title: M, at: 2030-01-0{i}, tags: [legal, q1], links: ['https://a.example/x'],"
    " notify: [team], holidays: [2030-05-01], weekend: [fri, sat],"
    " escalate: [{{at: 0, notify: [team]}}]}}"
)


def test_equal_values_of_different_milestones_are_one_object(tmp_path: Path) -> None:
    items = "\n".join(f"  - {ITEM.format(i=i)}" for i in (1, 2))
    write(
        tmp_path,
        "c.yaml",
        "version: 1\nchannels:\n  team: {type: webhook, url: 'https://h.example/x'}\n"
        f"milestones:\n{items}\n",
    )
    a, b = load(tmp_path / "c.yaml").milestones
    assert a.tags == ("legal", "q1")
    assert a.notify == ("team",)
    assert a.weekend == frozenset({4, 5})
    assert len(a.holidays) == 1 and len(a.escalate) == 1 and len(a.links) == 1
    for field in ("tags", "links", "notify", "holidays", "weekend", "escalate"):
        assert getattr(a, field) is getattr(b, field), field
