"""``parse_moment``: a datetime written as Python writes one is read without the
grammar's regular expression; every text must read as the grammar reads it."""

from __future__ import annotations

import random
from datetime import date, datetime

import pytest

from scheduler.config.values import _parse_moment_text, parse_moment

_by_grammar = _parse_moment_text.__wrapped__  # uncached: the reference


def _reading(parse: object, text: str) -> tuple[str, object, type | None]:
    try:
        value = parse(text)  # type: ignore[operator]
    except ValueError as exc:
        return "error", str(exc), None
    return "value", value, type(value)


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-08T09:30:00+01:00",
        "2026-12-08T09:30:00-05:30",
        "2026-12-08T09:30:00",
        "2026-12-08",
        "2026-12-08T09:30:00Z",
        "2026-12-08 09:30:00+01:00",
        "2026-12-08T09:30:00+0100",
        "2026-12-08T09:30+01:00",
        "2026-12-08T09:30:00.5+01:00",
        " 2026-12-08T09:30:00+01:00",
        "2026-W49-1T09:30:00+01:00",
        "20261208T093000+01:00:00",
        "2026-12-08T09:30:00+01:00:00",
        "2026-02-30T09:30:00+01:00",
        "2026-12-08T24:00:00+01:00",
        "2026-12-08T09:30:00+24:00",
        "٢٠٢٦-12-08T09:30:00+01:00",
        "2026-12-08T09:30:0٣+01:00",
        "2026-12-08T09:30:00,5+01:0",
    ],
)
def test_a_text_reads_as_the_grammar_reads_it(text: str) -> None:
    assert _reading(parse_moment, text) == _reading(_by_grammar, text)


def test_mutated_datetimes_read_as_the_grammar_reads_them() -> None:
    rng = random.Random(20261208)
    bases = ["2026-12-08T10:00:00+01:00", "2026-12-08T10:00:00", "0999-01-01T00:00:00-00:30"]
    alphabet = "0123456789-:T +Z.,W٣²x"
    for _ in range(20_000):
        chars = list(rng.choice(bases))
        for _ in range(rng.randint(1, 3)):
            chars[rng.randrange(len(chars))] = rng.choice(alphabet)
        text = "".join(chars)
        assert _reading(parse_moment, text) == _reading(_by_grammar, text), text


def test_values_already_parsed_pass_through() -> None:
    moment = datetime(2026, 12, 8, 9, 30)
    assert parse_moment(moment) is moment
    assert parse_moment(date(2026, 12, 8)) == date(2026, 12, 8)
