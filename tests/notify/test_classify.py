"""The classification table, and the notifiers' handling of answers via MockTransport."""

from __future__ import annotations

import ast
import inspect
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

import scheduler.notify.classify as table
from scheduler.model import Channel, ChannelType, Outcome, Reason, Secret
from scheduler.notify import answers_for, classify_error, classify_response, make_notifier
from scheduler.notify.classify import BODY_EXCERPT_MAX, parse_retry_after
from tests.support.alerts import make_alert
from tests.support.notify import send_one

W, S, D = ChannelType.WEBHOOK, ChannelType.SLACK, ChannelType.DISCORD
NOW = datetime(2030, 1, 1, tzinfo=UTC).timestamp()


def classify(
    kind: ChannelType, status: int, body: str, headers: dict[str, str], *, now: float = NOW
) -> Outcome:
    """An answer read by ``kind``'s rule, as its notifier reads it."""
    return classify_response(status, body, headers, now=now, rule=answers_for(kind))


@pytest.mark.parametrize(
    ("kind", "status", "body", "headers", "ok", "retryable", "reason", "retry_after", "disable"),
    [
        (W, 200, "", {}, True, False, Reason.OK, None, False),
        (W, 204, "", {}, True, False, Reason.OK, None, False),
        (W, 202, "queued", {}, True, False, Reason.OK, None, False),
        (W, 301, "", {"location": "/elsewhere"}, False, False, Reason.REDIRECT, None, False),
        (W, 302, "", {}, False, False, Reason.REDIRECT, None, False),
        (W, 308, "", {}, False, False, Reason.REDIRECT, None, False),
        (W, 400, "bad", {}, False, False, Reason.CLIENT_ERROR, None, False),
        (W, 401, "", {}, False, False, Reason.CLIENT_ERROR, None, False),
        (W, 404, "", {}, False, False, Reason.CLIENT_ERROR, None, False),
        (W, 408, "", {}, False, True, Reason.RETRYABLE_STATUS, None, False),
        (W, 410, "", {}, False, False, Reason.GONE, None, True),
        (W, 425, "", {}, False, True, Reason.RETRYABLE_STATUS, None, False),
        (W, 429, "", {}, False, True, Reason.RATE_LIMITED, None, False),
        (W, 429, "", {"Retry-After": "7"}, False, True, Reason.RATE_LIMITED, 7.0, False),
        (W, 429, "", {"retry-after": "soon"}, False, True, Reason.RATE_LIMITED, None, False),
        (W, 500, "", {}, False, True, Reason.SERVER_ERROR, None, False),
        (W, 502, "", {"retry-after": "9"}, False, True, Reason.SERVER_ERROR, None, False),
        (W, 503, "", {"retry-after": "12"}, False, True, Reason.SERVER_ERROR, 12.0, False),
        (W, 599, "", {}, False, True, Reason.SERVER_ERROR, None, False),
        (S, 200, "ok", {}, True, False, Reason.OK, None, False),
        (S, 200, "ok\n", {}, True, False, Reason.OK, None, False),
        (S, 200, "", {}, False, False, Reason.REJECTED, None, False),
        (S, 204, "", {}, False, False, Reason.REJECTED, None, False),
        (S, 200, "invalid_payload", {}, False, False, Reason.REJECTED, None, False),
        (S, 200, "rollup_error", {}, False, True, Reason.REJECTED, None, False),
        (S, 400, "invalid_payload", {}, False, False, Reason.CLIENT_ERROR, None, False),
        (S, 403, "action_prohibited", {}, False, False, Reason.CLIENT_ERROR, None, False),
        (S, 404, "channel_not_found", {}, False, False, Reason.CLIENT_ERROR, None, False),
        (S, 404, "no_service", {}, False, False, Reason.GONE, None, True),
        (S, 410, "channel_is_archived", {}, False, False, Reason.GONE, None, True),
        (S, 429, "rate_limited", {"Retry-After": "1"}, False, True, Reason.RATE_LIMITED, 1.0,
         False),
        (S, 500, "rollup_error", {}, False, True, Reason.SERVER_ERROR, None, False),
        (D, 204, "", {}, True, False, Reason.OK, None, False),
        (D, 200, "{}", {}, True, False, Reason.OK, None, False),
        (
            D, 429, json.dumps({"message": "You are being rate limited.", "retry_after": 1.5}),
            {}, False, True, Reason.RATE_LIMITED, 1.5, False,
        ),
        (
            D, 429, json.dumps({"retry_after": 0.5}), {"retry-after": "2"},
            False, True, Reason.RATE_LIMITED, 2.0, False,
        ),
        (
            D, 404, json.dumps({"message": "Unknown Webhook", "code": 10015}),
            {}, False, False, Reason.GONE, None, True,
        ),
        (
            D, 400, json.dumps({"message": "Invalid Form Body", "code": 50035}),
            {}, False, False, Reason.CLIENT_ERROR, None, False,
        ),
    ],
)  # fmt: skip
def test_table(
    kind: ChannelType,
    status: int,
    body: str,
    headers: dict[str, str],
    ok: bool,
    retryable: bool,
    reason: Reason,
    retry_after: float | None,
    disable: bool,
) -> None:
    outcome = classify(kind, status, body, headers)
    assert (outcome.ok, outcome.retryable, outcome.reason) == (ok, retryable, reason)
    assert outcome.retry_after == retry_after
    assert outcome.disable_channel is disable
    assert outcome.status_code == status
    assert bool(outcome.detail) is not ok


@pytest.mark.parametrize(
    ("word", "meaning"),
    [
        ("invalid_payload", "could not parse"),
        ("channel_not_found", "does not exist"),
        ("channel_is_archived", "archived"),
        ("no_service", "disabled, removed or revoked"),
        ("action_prohibited", "admin"),
        ("user_not_found", "user"),
        ("invalid_token", "token"),
    ],
)
def test_slack_errors_have_a_meaning(word: str, meaning: str) -> None:
    outcome = classify(S, 400, word, {})
    assert outcome.detail.startswith(f"{word}: ") and meaning in outcome.detail
    assert outcome.body == word


def test_discord_error_message_is_kept() -> None:
    body = json.dumps({"message": "Invalid Form Body", "code": 50035})
    assert "Invalid Form Body" in classify(D, 400, body, {}).detail


def test_body_excerpt_is_bounded_and_one_line() -> None:
    outcome = classify(W, 500, "line\n" * 10_000, {})
    assert len(outcome.body) == BODY_EXCERPT_MAX and outcome.body.endswith("…")
    assert "\n" not in outcome.body


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("-5", 0.0),
        ("1.5", 1.5),
        ("nan", None),
        ("", None),
        (None, None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 60.0),
        ("Wed, 21 Oct 2015 07:26:00 GMT", 0.0),  # a date in the past: now
        ("not a date", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    now = datetime(2015, 10, 21, 7, 27, tzinfo=UTC).timestamp()
    assert parse_retry_after(value, now=now) == expected


def test_retry_after_http_date_in_a_response() -> None:
    later = datetime(2030, 1, 1, 0, 1, tzinfo=UTC)
    now = datetime(2030, 1, 1, tzinfo=UTC).timestamp()
    outcome = classify(W, 503, "", {"Retry-After": format_datetime(later, usegmt=True)}, now=now)
    assert outcome.retry_after == 60.0


@pytest.mark.parametrize(
    ("exc", "reason", "retryable"),
    [
        (httpx.ConnectTimeout("timed out"), Reason.TIMEOUT, True),
        (httpx.ReadTimeout("timed out"), Reason.TIMEOUT, True),
        (httpx.PoolTimeout("timed out"), Reason.TIMEOUT, True),
        (httpx.ConnectError("boom"), Reason.NETWORK, True),
        (httpx.ReadError("reset"), Reason.NETWORK, True),
        (httpx.RemoteProtocolError("closed"), Reason.NETWORK, True),
        (httpx.UnsupportedProtocol("ftp"), Reason.CLIENT_ERROR, False),
    ],
)
def test_errors(exc: httpx.HTTPError, reason: Reason, retryable: bool) -> None:
    outcome = classify_error(exc)
    assert (outcome.ok, outcome.reason, outcome.retryable) == (False, reason, retryable)
    assert outcome.status_code is None
    assert outcome.detail.startswith(type(exc).__name__)


def test_error_detail_never_quotes_the_exception_text() -> None:
    exc = httpx.ConnectError("cannot reach https://hooks.slack.com/services/T0/B0/SECRETSECRET")
    exc.__cause__ = ConnectionRefusedError(111, "Connection refused")
    outcome = classify_error(exc)
    assert outcome.detail == "ConnectError: Connection refused"


# -- through a notifier, with httpx.MockTransport ----------------------------------------


def channel(kind: ChannelType, **kw: object) -> Channel:
    url = Secret("https://hooks.example.org/services/T000/B000/XXXXXXXXSECRET")
    return Channel(name="c", type=kind, url=url, **kw)  # type: ignore[arg-type]


async def send_with(kind: ChannelType, handler: httpx.MockTransport, **kw: object):  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(transport=handler) as client:
        return await send_one(make_notifier(channel(kind, **kw), client), make_alert(channel="c"))


async def test_timeout_is_the_channels() -> None:
    seen: list[dict[str, float | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(204)

    outcome = await send_with(W, httpx.MockTransport(handler), timeout=timedelta(seconds=3))
    assert outcome.ok
    assert seen == [{"connect": 3.0, "read": 3.0, "write": 3.0, "pool": 3.0}]


async def test_transport_errors_become_outcomes() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out", request=request)

    outcome = await send_with(S, httpx.MockTransport(handler))
    assert (outcome.reason, outcome.retryable) == (Reason.TIMEOUT, True)


async def test_a_huge_answer_is_read_only_in_part() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, content=b"x" * 5_000_000)

    outcome = await send_with(W, httpx.MockTransport(handler))
    assert outcome.reason is Reason.SERVER_ERROR and len(outcome.body) == BODY_EXCERPT_MAX


async def test_a_receiver_echoing_the_url_is_scrubbed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, text=f"bad request to {request.url}")

    outcome = await send_with(S, httpx.MockTransport(handler))
    assert "SECRET" not in outcome.body and "***" in outcome.body


async def test_slack_transient_body_with_200_is_retryable() -> None:
    outcome = await send_with(
        S, httpx.MockTransport(lambda r: httpx.Response(200, text="rollup_error"))
    )
    assert (outcome.ok, outcome.retryable, outcome.reason) == (False, True, Reason.REJECTED)


def test_the_table_reads_no_clock_and_names_no_channel() -> None:
    """``now`` comes from the caller; channel quirks come in as a rule, not by type."""
    tree = ast.parse(inspect.getsource(table))
    modules = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert modules.isdisjoint({"time", "datetime"})
    assert "ChannelType" not in inspect.getsource(table)
