"""One row per kind of config error: exact ``FILE:LINE:COL: message (at path)``.

A row is the file's text (or bytes) and every problem expected from it, in order, with
``{path}`` standing for the file. A :class:`Prefix` matches a problem by its start, where
the rest comes from the YAML library. A row's environment values are secrets: none may
appear in the problems.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.config.helpers import errors, load, write
from tests.support.secrets import assert_no_secret


class Prefix(str):
    """An expected problem matched by how it starts."""

    __slots__ = ()


def case(
    name: str, source: str | bytes, *expected: str, env: Mapping[str, str] | None = None
) -> Any:
    """One row: the config file's content, the problems it must give, its environment."""
    return pytest.param(source, expected, env or {}, id=name)


_ZONE_HINT = "use an IANA name such as Europe/Brussels or UTC"
_NOT_TEXT = "{path}: not a text file: expected UTF-8 (or UTF-16) YAML"

CASES = [
    case(
        "yaml-syntax-error",
        "version: 1\nmilestones:\n  - id: a\n    title: [unclosed\n",
        Prefix("{path}:5:1: YAML syntax error: "),
    ),
    case(
        "syntax-error-inside-mapping",
        "version: 1\nmilestones:\n  - id: a\n   title: b\n",
        "{path}:4:4: YAML syntax error: did not find expected '-' indicator",
    ),
    case(
        "control-character-is-located",
        'version: 1\nmilestones:\n  - {id: a, title: "A\x07"}\n',
        "{path}:3:22: YAML syntax error: control characters are not allowed (character #x0007)",
    ),
    case(
        "deep-nesting-is-an-error-not-a-crash",
        "version: 1\nx: " + "[" * 5000 + "]" * 5000 + "\n",
        Prefix("{path}:"),
    ),
    case("binary-file", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", _NOT_TEXT),
    case("undecodable-file", "version: 1\ntitle: caf\xe9\n".encode("latin-1"), _NOT_TEXT),
    case(
        "empty-file",
        "# nothing yet\n",
        "{path}:1:1: the file is empty: expected a mapping with 'version: 1' and 'milestones'",
    ),
    case(
        "version-missing",
        "milestones: []\n",
        "{path}:1:1: the config is missing the required key 'version'",
    ),
    case(
        "version-wrong",
        "version: 2\n",
        "{path}:1:10: unsupported config version 2: expected 1 (at version)",
    ),
    case(
        "duplicate-key",
        "version: 1\nmilestones:\n  - id: a\n    title: A\n    at: 2030-01-01\n    title: B\n",
        "{path}:6:5: duplicate key 'title' (first at line 4) (at milestones[0].title)",
    ),
    case(
        "unknown-key-suggests-the-close-one",
        """
        version: 1
        milestones:
          - id: a
            titel: Typo
            at: 2030-01-01
        """,
        "{path}:3:5: milestone is missing the required key 'title' (at milestones[0])",
        "{path}:4:5: unknown key 'titel' in milestone; did you mean 'title'? "
        "(at milestones[0].titel)",
    ),
    case(
        "unknown-top-level-and-channel-keys",
        """
        version: 1
        timezon: UTC
        channels:
          team: {type: slack, url: "https://chat.example/x", retries: 3}
        """,
        "{path}:2:1: unknown key 'timezon' in the config; did you mean 'timezone'? (at timezon)",
        "{path}:4:54: unknown key 'retries' in channel 'team'; did you mean 'retry'? "
        "(at channels.team.retries)",
    ),
    case(
        "wrong-types",
        """
        version: 1
        milestones:
          - id: a
            title: {text: x}
            at: 2030-01-01
            remind: 7d
            tags: inf
          - just a string
        """,
        "{path}:4:12: title must be a string, got a mapping (at milestones[0].title)",
        "{path}:6:13: remind must be a list, got a string (at milestones[0].remind)",
        "{path}:7:11: tags must be a list, got a string (at milestones[0].tags)",
        "{path}:8:5: milestone must be a mapping, got a string (at milestones[1])",
    ),
    case(
        "impossible-date",
        """
        version: 1
        holidays: [2030-13-01]
        milestones:
          - id: a
            title: Leap
            at: 2030-02-30
        """,
        "{path}:2:12: holiday: impossible date '2030-13-01': month must be in 1..12 "
        "(at holidays[0])",
        "{path}:6:9: at: impossible date or time '2030-02-30': day is out of range for "
        "month (at milestones[0].at)",
    ),
    case(
        "malformed-datetime",
        "version: 1\nmilestones:\n  - {id: a, title: A, at: next tuesday}\n",
        Prefix("{path}:3:27: at: invalid date or datetime 'next tuesday': use "),
    ),
    case(
        "unknown-zone",
        """
        version: 1
        timezone: Europe/Brussel
        milestones:
          - {id: a, title: A, at: 2030-01-01, timezone: Mars/Olympus}
        """,
        f"{{path}}:2:11: unknown time zone 'Europe/Brussel': {_ZONE_HINT} (at timezone)",
        f"{{path}}:4:49: unknown time zone 'Mars/Olympus': {_ZONE_HINT} "
        "(at milestones[0].timezone)",
    ),
    case(
        "duplicate-id-in-one-file",
        """
        version: 1
        milestones:
          - {id: a, title: A, at: 2030-01-01}
          - {id: a, title: Again, at: 2030-01-02}
        """,
        "{path}:4:10: duplicate milestone id 'a' (first defined at {path}:3:10) "
        "(at milestones[1].id)",
    ),
    case(
        "after-cycle-names-the-cycle",
        """
        version: 1
        milestones:
          - {id: a, title: A, after: b}
          - {id: b, title: B, after: c, offset: 1d}
          - {id: c, title: C, after: a}
          - {id: d, title: D, after: d}
          - {id: e, title: E, after: a}
        """,
        "{path}:3:30: after cycle: a -> b -> c -> a (at milestones[0].after)",
        "{path}:6:30: after cycle: d -> d (at milestones[3].after)",
    ),
    case(
        "unknown-after-target",
        """
        version: 1
        milestones:
          - {id: us-notice, title: Notice, at: 2019-02-02}
          - {id: effective, title: Effective, after: us-notise, offset: 6 months}
        """,
        "{path}:4:46: 'after' names an unknown milestone 'us-notise'; did you mean "
        "'us-notice'? (at milestones[1].after)",
    ),
    case(
        "both-at-and-after-or-neither",
        """
        version: 1
        milestones:
          - {id: a, title: A, at: 2030-01-01}
          - {id: b, title: B, at: 2030-01-01, after: a}
          - {id: c, title: C}
          - {id: d, title: D, at: 2030-01-01, offset: 1d}
        """,
        "{path}:4:39: give either 'at' or 'after', not both (at milestones[1].after)",
        "{path}:5:5: milestone needs 'at' (a date) or 'after' (another milestone's id) "
        "(at milestones[2])",
        "{path}:6:39: 'offset' only applies with 'after' (at milestones[3].offset)",
    ),
    case(
        "unknown-channel-names",
        """
        version: 1
        defaults:
          notify: [team, pager]
        channels:
          team: {type: slack, url: "https://chat.example/hook"}
        milestones:
          - {id: a, title: A, at: 2030-01-01}
          - {id: b, title: B, at: 2030-01-01, notify: [teem]}
        """,
        "{path}:3:18: unknown channel 'pager' (channels: team) (at defaults.notify[1])",
        "{path}:8:48: unknown channel 'teem'; did you mean 'team'? (at milestones[1].notify[0])",
    ),
    case(
        "empty-title",
        "version: 1\nmilestones:\n  - {id: a, title: '', at: 2030-01-01}\n",
        "{path}:3:20: title must not be empty (at milestones[0].title)",
    ),
    case(
        "bad-duration-rrule-roll-status",
        """
        version: 1
        milestones:
          - id: a
            title: A
            at: 2030-01-01
            remind: [7 fortnights, 1d, 24h, 1d]
            rrule: FREQ=SOMETIMES
            roll: sideways
            status: paused
            weekend: [sat, funday]
        """,
        Prefix("{path}:6:14: remind offset: invalid duration '7 fortnights': "),
        "{path}:6:37: duplicate reminder offset 1d (same as remind[1]) "
        "(at milestones[0].remind[3])",
        "{path}:7:12: invalid rrule 'FREQ=SOMETIMES': invalid 'FREQ': SOMETIMES "
        "(at milestones[0].rrule)",
        "{path}:8:11: roll must be one of none | forward | backward, got 'sideways' "
        "(at milestones[0].roll)",
        "{path}:9:13: status must be one of active | cancelled | done, got 'paused' "
        "(at milestones[0].status)",
        "{path}:10:20: weekend: expected a weekday (mon, tue, wed, thu, fri, sat, sun), "
        "got 'funday' (at milestones[0].weekend[1])",
    ),
    case(
        "channel-errors",
        """
        version: 1
        channels:
          a: {type: sms, url: "https://x.example/"}
          b: {type: slack}
          c: {type: slack, url: "ftp://x.example/", timeout: 1 month, rate_limit: 0}
          d: {type: webhook, url: "https://x.example/", url_file: u.txt}
          Bad Name: {type: slack, url: "https://x.example/"}
        """,
        "{path}:3:13: type must be one of slack | webhook | discord | teams | apprise | email, "
        "got 'sms' "
        "(at channels.a.type)",
        "{path}:4:6: channel is missing 'url' (or 'url_file') (at channels.b)",
        "{path}:5:25: url must be an http:// or https:// URL (at channels.c.url)",
        "{path}:5:54: timeout must be a fixed span (s, m, h), not calendar days or months "
        "(at channels.c.timeout)",
        "{path}:5:75: rate_limit must be a finite number greater than 0, got 0 "
        "(at channels.c.rate_limit)",
        "{path}:6:49: give either 'url' or 'url_file', not both (at channels.d.url_file)",
        "{path}:7:3: invalid channel name 'Bad Name': use lowercase letters, digits, '-', "
        "'_' and '.', starting with a letter or digit (at channels.Bad Name)",
    ),
    case(
        "unset-environment-variable-does-not-leak",
        """
        version: 1
        channels:
          audit:
            type: webhook
            url: https://hooks.example.org/${HOOK_PATH}
            secret: ${AUDIT_SECRET}
        """,
        "{path}:5:10: environment variable HOOK_PATH is not set "
        "(use ${HOOK_PATH:-default} to give a default) (at channels.audit.url)",
        env={"AUDIT_SECRET": "whsec_c2VjcmV0LXZhbHVlLWhlcmU="},
    ),
    case(
        "invalid-secret-is-reported-without-its-value",
        """
        version: 1
        channels:
          audit: {type: webhook, url: "https://h.example/x", secret: "${S}"}
        """,
        "{path}:3:62: secret must be 'whsec_' followed by base64 (Standard Webhooks) "
        "(at channels.audit.secret)",
        env={"S": "not base64 but a long secret value!"},
    ),
]


def _write(directory: Path, source: str | bytes) -> Path:
    if isinstance(source, bytes):
        path = directory / "c.yaml"
        path.write_bytes(source)
        return path
    return write(directory, "c.yaml", source)


@pytest.mark.parametrize(("source", "expected", "env"), CASES)
def test_config_error_is_located(
    tmp_path: Path, source: str | bytes, expected: tuple[str, ...], env: Mapping[str, str]
) -> None:
    path = _write(tmp_path, source)
    found = errors(path, env=env)
    wanted = [e.replace("{path}", str(path)) for e in expected]
    assert len(found) == len(wanted), (found, wanted)
    for problem, want, template in zip(found, wanted, expected, strict=True):
        matched = problem.startswith(want) if isinstance(template, Prefix) else problem == want
        assert matched, (found, wanted)
    assert_no_secret("\n".join(found), env.values())


def test_missing_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    assert errors(path) == [f"{path}: no such file or directory"]


def test_empty_directory(tmp_path: Path) -> None:
    assert errors(tmp_path) == [f"{tmp_path}: no *.yaml or *.yml files in this directory"]


def test_every_problem_in_every_file_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "version: 1\nmilestones:\n  - {id: a, title: A, at: 2030-02-30}\n")
    write(tmp_path, "b.yaml", "version: 1\nmilestones: [{id: b, title: B, at: 2030-01-01, x: 1}\n")
    write(tmp_path, "c.yaml", "version: 1\nmilestones:\n  - {id: c, title: '', after: zz}\n")
    found = errors(tmp_path)
    assert [line.split(": ", 1)[0] for line in found] == [
        f"{tmp_path / 'a.yaml'}:3:27",
        f"{tmp_path / 'b.yaml'}:3:1",
        f"{tmp_path / 'c.yaml'}:3:20",
        f"{tmp_path / 'c.yaml'}:3:31",
    ]


def test_nested_aliases_do_not_explode(tmp_path: Path) -> None:
    lines = ["version: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    path = write(tmp_path, "c.yaml", "\n".join(lines) + "\n")
    found = errors(path)
    assert len(found) == 9
    assert found[0] == (
        f"{path}:2:1: unknown key 'a0' in the config; expected one of: channels, defaults, "
        "digests, holidays, milestones, timezone, version, weekend (at a0)"
    )


def test_empty_sections_are_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, "c.yaml", "version: 1\nchannels:\nmilestones:\ndefaults:\n")
    config = load(path)
    assert (config.milestones, dict(config.channels)) == ((), {})
