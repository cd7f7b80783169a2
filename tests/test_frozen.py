"""``scheduler.frozen.builder``: the same values as the dataclass's own constructor."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from scheduler.frozen import builder
from scheduler.model import Location, Milestone, MilestoneStatus, Roll
from scheduler.resolution import Resolved


def test_a_built_milestone_equals_the_constructed_one_and_stays_frozen() -> None:
    fields = {
        "id": "filing",
        "title": "Filing",
        "at": datetime(2026, 12, 8, 9, 30, tzinfo=UTC),
        "notify": ("hook",),
        "roll": Roll.FORWARD,
        "status": MilestoneStatus.DONE,
        "location": Location("a.yaml", 3, 5),
    }
    built = builder(Milestone)(**fields)
    made = Milestone(**fields)  # type: ignore[arg-type]
    assert type(built) is Milestone
    assert built == made and hash(built) == hash(made) and repr(built) == repr(made)
    assert [getattr(built, f.name) for f in dataclasses.fields(Milestone)] == [
        getattr(made, f.name) for f in dataclasses.fields(Milestone)
    ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.title = "other"  # type: ignore[misc]


def test_a_required_field_left_out_is_refused() -> None:
    with pytest.raises(TypeError):
        builder(Milestone)(id="filing")


def test_resolved_built_equals_constructed() -> None:
    m = Milestone(id="a", title="A", at=datetime(2026, 1, 1, tzinfo=UTC))
    assert builder(Resolved)(milestone=m, at=m.at) == Resolved(milestone=m, at=m.at)  # type: ignore[arg-type]


@dataclasses.dataclass(frozen=True, slots=True)
class _WithFactory:
    items: list[int] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(slots=True)
class _Mutable:
    value: int


@pytest.mark.parametrize("cls", [_WithFactory, _Mutable])
def test_classes_it_cannot_build_exactly_are_refused(cls: type) -> None:
    with pytest.raises(TypeError):
        builder(cls)
