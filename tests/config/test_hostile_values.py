"""Hostile values in every field the config turns into an object: a located error each.

Each of these once raised from the loader or from planning (``ValueError: Invalid
IPv6 URL``, ``OverflowError``, ``IsADirectoryError``, ``IndexError`` mid-rrule),
hung (``INTERVAL=0``) or loaded and then failed at send or export time. Each must
now be exactly one ``FILE:LINE:COL: message (at PATH)`` from :func:`load_config`,
and ``tminus check`` must print it and exit 1 without a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.config.helpers import errors, load, write
from tests.support.daemon import tminus

CHANNEL = "channels: {{a: {{type: webhook, url: 'http://h.example/x', {extra}}}}}"
MILESTONE = "milestones: [{{id: a, title: A, at: 2030-01-01, {extra}}}]"


def channel(extra: str) -> str:
    return CHANNEL.format(extra=extra)


def url(value: str) -> str:
    return f"channels: {{a: {{type: webhook, url: {value}}}}}"


def milestone(extra: str) -> str:
    return MILESTONE.format(extra=extra)


# (document after "version: 1", document path of the error, a fragment of the message)
HOSTILE = [
    # URLs (a secret: the message never quotes it)
    (url('"http://[::1/x"'), "channels.a.url", "not a valid URL"),
    (url('"http://[::1]x/"'), "channels.a.url", "invalid host name"),
    (url('"http://h.example:99999/x"'), "channels.a.url", "not a valid URL"),
    (url('"http://h.example:port/x"'), "channels.a.url", "not a valid URL"),
    (url('"http://h.example:0/x"'), "channels.a.url", "invalid port"),
    (url('"http://h example/x"'), "channels.a.url", "spaces or control characters"),
    (url('"http://h.example/\\x01"'), "channels.a.url", "spaces or control characters"),
    (url('"http://:80/x"'), "channels.a.url", "no host name"),
    (url('"http://@/x"'), "channels.a.url", "no host name"),
    (url('"ftp://h.example/x"'), "channels.a.url", "must be an http:// or https:// URL"),
    (url('"http://\\u2603.example/"'), "channels.a.url", "invalid host name"),
    (url('"http://256.1.1.1/x"'), "channels.a.url", "invalid host name"),
    (url('"http://a..example/x"'), "channels.a.url", "invalid host name"),
    (url(f'"http://{"a" * 64}.example/x"'), "channels.a.url", "invalid host name"),
    # header names and values
    (channel('headers: {X-A: "caf\\xe9"}'), "channels.a.headers.X-A", "printable ASCII"),
    (channel('headers: {X-A: "a\\0b"}'), "channels.a.headers.X-A", "printable ASCII"),
    (channel('headers: {X-A: "a\\x7f"}'), "channels.a.headers.X-A", "printable ASCII"),
    (channel('headers: {X-A: "a\\nb"}'), "channels.a.headers.X-A", "single line"),
    (channel("headers: {'X A': b}"), "channels.a.headers.X A", "invalid header name"),
    (channel("headers: {X-A: b, x-a: c}"), "channels.a.headers.x-a", "case-insensitive"),
    # durations and numbers
    (channel("timeout: 99999999999999999999999s"), "channels.a.timeout", "at most 500 years"),
    (channel("timeout: PT1e400S"), "channels.a.timeout", "invalid duration"),
    (channel("timeout: .inf"), "channels.a.timeout", "not a duration"),
    (channel("group_window: 999999999999h"), "channels.a.group_window", "at most 500 years"),
    (
        channel("retry: {max_delay: 9999999999999999s}"),
        "channels.a.retry.max_delay",
        "at most 500 years",
    ),
    (channel("retry: {max_attempts: 0}"), "channels.a.retry.max_attempts", "at least 1"),
    (channel("rate_limit: .nan"), "channels.a.rate_limit", "finite number"),
    (channel("rate_limit: -1"), "channels.a.rate_limit", "finite number"),
    ("defaults: {catch_up: 99999999999999999999s}", "defaults.catch_up", "at most 500 years"),
    (milestone("remind: [99999 years]"), "milestones[0].remind[0]", "at most 500 years"),
    (milestone("remind: ['-501 years']"), "milestones[0].remind[0]", "at most 500 years"),
    (
        "milestones: [{id: a, title: A, at: 2030-01-01},"
        " {id: b, title: B, after: a, offset: P99999999999Y}]",
        "milestones[1].offset",
        "at most 500 years",
    ),
    # zones
    ("timezone: America", "timezone", "unknown time zone"),
    (f"timezone: {'a' * 5000}", "timezone", "unknown time zone"),
    ("timezone: ../../etc/passwd", "timezone", "unknown time zone"),
    ("timezone: '\\0'", "timezone", "unknown time zone"),
    (milestone("timezone: /etc/localtime"), "milestones[0].timezone", "unknown time zone"),
    # dates at the ends of the calendar
    ("milestones: [{id: a, title: A, at: 9999-12-31T23:59}]", "milestones[0].at", "years 1000"),
    ("milestones: [{id: a, title: A, at: 0001-01-01}]", "milestones[0].at", "years 1000"),
    ("milestones: [{id: a, title: A, at: 0000-01-01}]", "milestones[0].at", "impossible date"),
    (milestone("until: 9999-12-31"), "milestones[0].until", "years 1000"),
    (
        "milestones: [{id: a, title: A, at: 8500-01-01},"
        " {id: b, title: B, after: a, offset: 400 years},"
        " {id: c, title: C, after: b, offset: 400 years}]",
        "milestones[2].offset",
        "falls in the year 9300",
    ),
    # recurrence rules
    (milestone("rrule: 'FREQ=DAILY;INTERVAL=0'"), "milestones[0].rrule", "INTERVAL"),
    (milestone("rrule: 'FREQ=DAILY;INTERVAL=-1'"), "milestones[0].rrule", "INTERVAL"),
    (milestone("rrule: 'FREQ=DAILY;COUNT=0'"), "milestones[0].rrule", "COUNT"),
    (milestone("rrule: 'FREQ=MONTHLY;BYDAY=99MO'"), "milestones[0].rrule", "BYDAY number"),
    (milestone("rrule: 'FREQ=YEARLY;BYDAY=60MO'"), "milestones[0].rrule", "BYDAY number"),
    (milestone("rrule: 'FREQ=WEEKLY;BYDAY=1MO'"), "milestones[0].rrule", "numbered BYDAY"),
    (milestone("rrule: 'FREQ=MONTHLY;BYMONTHDAY=40'"), "milestones[0].rrule", "BYMONTHDAY"),
    (milestone("rrule: 'FREQ=YEARLY;BYMONTH=13'"), "milestones[0].rrule", "BYMONTH"),
    (milestone("rrule: 'FREQ=YEARLY;BYWEEKNO=99'"), "milestones[0].rrule", "BYWEEKNO"),
    (milestone("rrule: 'FREQ=YEARLY;BYYEARDAY=400'"), "milestones[0].rrule", "BYYEARDAY"),
    (milestone("rrule: 'FREQ=HOURLY;BYSECOND=60'"), "milestones[0].rrule", "BYSECOND"),
    (milestone("rrule: 'FREQ=DAILY;BYHOUR=25'"), "milestones[0].rrule", "hour must be"),
    (
        milestone("timezone: Asia/Tokyo, rrule: 'FREQ=YEARLY;UNTIL=99991231T235959Z'"),
        "milestones[0].rrule",
        "UNTIL: the year 9999",
    ),
    (
        milestone("rrule: 'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30'"),
        "milestones[0].rrule",
        "never occurs",
    ),
    (
        milestone("rrule: 'FREQ=HOURLY;BYMONTH=4;BYMONTHDAY=31'"),
        "milestones[0].rrule",
        "never occurs",
    ),
    # links
    (milestone("links: ['javascript:alert(1)']"), "milestones[0].links[0]", "http://, https://"),
    (
        milestone("links: ['https://ok.example', 'data:text/html,x']"),
        "milestones[0].links[1]",
        "http://, https://",
    ),
    (milestone("links: ['http://[::1/x']"), "milestones[0].links[0]", "not a valid URL"),
    (milestone("links: ['https:///nohost']"), "milestones[0].links[0]", "no host name"),
    (milestone("links: ['mailto:']"), "milestones[0].links[0]", "no address"),
]
LOCATED = re.compile(
    r"^(?P<file>.+):(?P<line>\d+):(?P<col>\d+): (?P<message>.+) \(at (?P<at>.+)\)$"
)


@pytest.mark.parametrize(("document", "at", "fragment"), HOSTILE)
def test_hostile_value_is_one_located_error(
    tmp_path: Path, document: str, at: str, fragment: str
) -> None:
    path = write(tmp_path, "hostile.yaml", f"version: 1\n{document}\n")
    (problem,) = errors(path)
    match = LOCATED.match(problem)
    assert match, problem
    assert match["file"] == str(path) and int(match["line"]) == 2
    assert match["at"] == at
    assert fragment in match["message"]
    if at.endswith(".url"):  # a channel URL is a secret: never quoted
        assert "example" not in match["message"] and "::1" not in match["message"]


CLI_ROWS = [
    *[row for row in HOSTILE if row[1] in ("channels.a.url", "timezone")][:3],
    next(row for row in HOSTILE if "timeout: 9999" in row[0]),  # once an OverflowError
    next(row for row in HOSTILE if "BYDAY=99MO" in row[0]),  # once an IndexError mid-plan
    next(row for row in HOSTILE if "INTERVAL=0" in row[0]),  # once a hang in upcoming
]


@pytest.mark.parametrize(("document", "at", "fragment"), CLI_ROWS)
@pytest.mark.parametrize("command", ["check", "upcoming", "export-ics"])
def test_cli_prints_the_located_error_and_exits_1(
    tmp_path: Path, command: str, document: str, at: str, fragment: str
) -> None:
    path = write(tmp_path, "hostile.yaml", f"version: 1\n{document}\n")
    done = tminus(command, "-c", str(path), timeout=30)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    output = done.stdout + done.stderr
    assert f"{path}:2:" in output and f"(at {at})" in output and fragment in output


@pytest.mark.parametrize(
    "document",
    [
        url('"http://[::1]:8080/hook"'),
        url('"https://user:pw@h.example/x"'),
        url('"http://h.example./x"'),
        channel('headers: {X-A: "a\\tb", X-B: 42}'),
        channel("timeout: 4382910h"),  # 500 years
        milestone("links: ['https://example.org/inf', 'mailto:desk@example.org']"),
        milestone("rrule: 'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO'"),
        milestone("rrule: 'FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20400101T000000Z'"),
        "milestones: [{id: a, title: A, at: 1000-01-01, remind: [500 years]}]",
        "milestones: [{id: a, title: A, at: 9000-12-31, remind: ['-500 years']}]",
    ],
)
def test_edge_values_that_are_fine_still_load(tmp_path: Path, document: str) -> None:
    load(write(tmp_path, "fine.yaml", f"version: 1\n{document}\n"))


def test_an_unforeseen_failure_is_still_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon's reload sees a rejected config (ConfigError), never a bare ValueError."""
    import scheduler.config.loader as loader

    def explode(*args: object, **kwargs: object) -> None:
        raise ValueError("Invalid IPv6 URL: http://secret.example")

    monkeypatch.setattr(loader, "check_document", explode)
    path = write(tmp_path, "m.yaml", "version: 1\n")
    (problem,) = errors(path)
    assert problem.startswith(f"{path}: cannot validate this config (ValueError)")
    assert "secret" not in problem
