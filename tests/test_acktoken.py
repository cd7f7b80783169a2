"""Acknowledge-link tokens: signing, verifying, expiry and tampering, as tables."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.acktoken import (
    MAX_TOKEN_CHARS,
    TOKEN_LIFETIME,
    AckLinks,
    TokenError,
    TokenProblem,
    expiry_of,
    sign,
    verify,
)

KEY = "0123456789abcdef-test-key"
OCCURRENCE = datetime(2019, 8, 2, 0, 0, tzinfo=ZoneInfo("Europe/Brussels"))
BEFORE = datetime(2019, 7, 26, tzinfo=UTC)


def test_a_token_names_its_occurrence_and_expires_thirty_days_after_it() -> None:
    claim = verify(KEY, sign(KEY, "withdrawal-effective", OCCURRENCE), now=BEFORE)
    assert claim.milestone_id == "withdrawal-effective"
    assert claim.occurrence == OCCURRENCE
    assert claim.occurrence.tzinfo is UTC
    assert claim.expires == OCCURRENCE.astimezone(UTC) + TOKEN_LIFETIME


@pytest.mark.parametrize(
    ("now", "valid"),
    [
        (OCCURRENCE - timedelta(days=60), True),  # long before: the 60-day reminder's link
        (OCCURRENCE, True),
        (OCCURRENCE + TOKEN_LIFETIME - timedelta(seconds=1), True),
        (OCCURRENCE + TOKEN_LIFETIME, False),
        (OCCURRENCE + timedelta(days=365), False),
    ],
)
def test_expiry(now: datetime, valid: bool) -> None:
    token = sign(KEY, "m", OCCURRENCE)
    if valid:
        assert verify(KEY, token, now=now).milestone_id == "m"
    else:
        with pytest.raises(TokenError) as caught:
            verify(KEY, token, now=now)
        assert caught.value.problem is TokenProblem.EXPIRED


def _flip_last(text: str) -> str:
    return text[:-1] + ("A" if text[-1] != "A" else "B")


def _resigned_payload(token: str) -> str:
    """Another occurrence's payload under the old signature (a forged occurrence)."""
    other = sign(KEY, "m", OCCURRENCE + timedelta(days=1)).split(".")[0]
    return other + "." + token.split(".")[1]


GOOD = sign(KEY, "m", OCCURRENCE)


@pytest.mark.parametrize(
    ("token", "key", "problem"),
    [
        (GOOD, "another-key-of-sixteen+", TokenProblem.FORGED),  # another server's link
        (_flip_last(GOOD), KEY, TokenProblem.FORGED),  # signature changed
        (_resigned_payload(GOOD), KEY, TokenProblem.FORGED),  # payload swapped
        (GOOD.split(".")[0], KEY, TokenProblem.MALFORMED),  # cut before the signature
        (GOOD + ".x", KEY, TokenProblem.MALFORMED),
        ("", KEY, TokenProblem.MALFORMED),
        ("not a token", KEY, TokenProblem.MALFORMED),
        ("!!!.???", KEY, TokenProblem.MALFORMED),
        ("a" * (MAX_TOKEN_CHARS + 1), KEY, TokenProblem.MALFORMED),
        ("é.é", KEY, TokenProblem.MALFORMED),
    ],
)
def test_refused_tokens_say_why(token: str, key: str, problem: TokenProblem) -> None:
    with pytest.raises(TokenError) as caught:
        verify(key, token, now=BEFORE)
    assert caught.value.problem is problem


def _signed(key: str, payload: bytes) -> str:
    import hashlib
    import hmac

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return b64(payload) + "." + b64(hmac.new(key.encode(), payload, hashlib.sha256).digest())


@pytest.mark.parametrize(
    "payload",
    [
        b"v2\x1fm\x1f2019-08-01T22:00:00.000000Z\x1f1567296000",  # unknown version
        b"v1\x1f\x1f2019-08-01T22:00:00.000000Z\x1f1567296000",  # no milestone
        b"v1\x1fm\x1f2019-08-01\x1f1567296000",  # occurrence not in the fixed form
        b"v1\x1fm\x1f2019-08-01T22:00:00.000000Z\x1fsoon",  # expiry not a number
        b"v1\x1fm\x1f2019-08-01T22:00:00.000000Z",  # a part missing
        b"\xff\xfe",  # not UTF-8
    ],
)
def test_correctly_signed_nonsense_is_malformed(payload: bytes) -> None:
    with pytest.raises(TokenError) as caught:
        verify(KEY, _signed(KEY, payload), now=BEFORE)
    assert caught.value.problem is TokenProblem.MALFORMED


def test_the_token_names_no_secret_and_is_url_safe() -> None:
    token = sign(KEY, "withdrawal-effective", OCCURRENCE)
    assert KEY not in token
    assert all(c.isalnum() or c in "-_." for c in token)
    decoded = base64.urlsafe_b64decode(token.split(".")[0] + "==")
    assert KEY.encode() not in decoded


def test_expiry_is_whole_seconds_and_independent_of_the_zone_written() -> None:
    assert expiry_of(OCCURRENCE) == expiry_of(OCCURRENCE.astimezone(UTC))
    assert expiry_of(OCCURRENCE + timedelta(microseconds=1)).microsecond == 0
    assert sign(KEY, "m", OCCURRENCE) == sign(KEY, "m", OCCURRENCE.astimezone(UTC))


@pytest.mark.parametrize("base", ["https://tminus.example.org", "https://tminus.example.org/"])
def test_links_join_the_public_url(base: str) -> None:
    links = AckLinks(public_url=base, key=KEY)
    url = links.url("m", OCCURRENCE)
    assert url.startswith("https://tminus.example.org/ack/")
    token = url.rsplit("/", 1)[1]
    assert links.verify(token, now=BEFORE).occurrence == OCCURRENCE
