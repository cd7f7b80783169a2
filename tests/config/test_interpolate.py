"""``${VAR}`` and ``${VAR:-default}`` interpolation."""

from __future__ import annotations

import pytest

from scheduler.config import InterpolationError, interpolate

ENV = {"HOST": "example.org", "EMPTY": "", "TOKEN": "s3cr3t-value"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("${HOST}", "example.org"),
        ("https://${HOST}/hook", "https://example.org/hook"),
        ("${HOST}${HOST}", "example.orgexample.org"),
        ("${MISSING:-fallback}", "fallback"),
        ("${MISSING:-}", ""),
        ("${EMPTY:-fallback}", "fallback"),  # empty counts as unset with :-
        ("${EMPTY}", ""),
        ("${HOST:-other}", "example.org"),
        ("${MISSING:-http://127.0.0.1:9/x}", "http://127.0.0.1:9/x"),
        ("costs $5", "costs $5"),
        ("$${HOST}", "${HOST}"),
        ("$HOST", "$HOST"),
    ],
)
def test_interpolate_table(text: str, expected: str) -> None:
    assert interpolate(text, ENV) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${MISSING}", "environment variable MISSING is not set"),
        ("x ${MISSING} y", "environment variable MISSING is not set"),
        ("${}", "malformed variable reference"),
        ("${HOST", "malformed variable reference"),
        ("${1BAD}", "malformed variable reference"),
    ],
)
def test_interpolate_errors(text: str, message: str) -> None:
    with pytest.raises(InterpolationError, match=message):
        interpolate(text, ENV)


def test_error_never_shows_values() -> None:
    with pytest.raises(InterpolationError) as caught:
        interpolate("${TOKEN} ${MISSING}", ENV)
    assert "s3cr3t" not in str(caught.value)
