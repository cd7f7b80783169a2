"""The duration grammar as config files use it (SPEC: Durations)."""

from __future__ import annotations

import pytest

from scheduler.durations import Duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45s", Duration(seconds=45)),
        ("90m", Duration(seconds=5400)),
        ("36h", Duration(seconds=129_600)),
        ("30d", Duration(days=30)),
        ("2w", Duration(days=14)),
        ("1d12h", Duration(days=1, seconds=43_200)),
        ("1h30m", Duration(seconds=5400)),
        ("6 months", Duration(months=6)),
        ("1 month", Duration(months=1)),
        ("1 year", Duration(months=12)),
        ("2 years", Duration(months=24)),
        ("3 weeks", Duration(days=21)),
        ("10 minutes", Duration(seconds=600)),
        ("P7D", Duration(days=7)),
        ("PT36H", Duration(seconds=129_600)),
        ("P6M", Duration(months=6)),
        ("P1Y2M3DT4H5M6S", Duration(months=14, days=3, seconds=14_706)),
        ("0", Duration()),
        (0, Duration()),
        ("-90d", Duration(days=-90)),
        ("-2h", Duration(seconds=-7200)),
        ("+1d", Duration(days=1)),
        (" 7D ", Duration(days=7)),
    ],
)
def test_parse_table(text: str | int, expected: Duration) -> None:
    assert Duration.parse(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "d", "7", 7, 1.5, True, "7 fortnights", "1d1d", "P", "PT", "7dd", "h1", "1.5d", "- "],
)
def test_parse_rejects(text: str | int | float | bool) -> None:
    with pytest.raises(ValueError):
        Duration.parse(text)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("7d", "7 days before"),
        ("0", "at the moment"),
        ("-2h", "2 hours after"),
        ("6 months", "6 months before"),
        ("1d12h", "1 day 12 hours before"),
    ],
)
def test_labels(text: str, label: str) -> None:
    assert Duration.parse(text).label() == label
