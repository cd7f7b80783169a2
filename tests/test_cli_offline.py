"""check, upcoming, simulate, explain and export-ics through the real console script."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from icalendar import Calendar

from scheduler.config import load_config

REPO = Path(__file__).resolve().parent.parent
INF = "config/inf-treaty.yaml"


def _tminus_bin() -> str:
    beside = Path(sys.executable).parent / "tminus"
    if beside.exists():
        return str(beside)
    found = shutil.which("tminus")
    assert found, "the tminus console script is not installed"
    return found


TMINUS = _tminus_bin()


def tminus(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TMINUS_", "SLACK_", "AUDIT_"))}
    return subprocess.run(
        [TMINUS, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )


BROKEN = """\
version: 1
channels:
  team: {type: slack, url: https://hooks.slack.com/services/T/B/X}
milestones:
  - id: a
    title: A
    at: 2019-02-30
    notify: [team]
"""

ROLLED = """\
version: 1
timezone: America/New_York
holidays: [2019-12-25]
channels:
  team: {type: webhook, url: https://example.org/hook}
milestones:
  - id: contract
    title: Contract signed
    at: 2019-06-24
    notify: [team]
  - id: notice-deadline
    title: Notice deadline
    after: contract
    offset: 6 months
    roll: forward
    remind: [7d, 0]
    notify: [team]
"""


# -- check ---------------------------------------------------------------------------
def test_check_ok_counts() -> None:
    config = load_config(REPO / INF)
    n = len(config.milestones)
    m = sum(len(x.remind) for x in config.milestones if x.status.value == "active")
    done = tminus("check", "-c", INF)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"OK: {n} milestones, {m} reminders, {len(config.channels)} channels\n"
    js = tminus("check", "-c", INF, "--json")
    assert js.returncode == 0
    assert json.loads(js.stdout) == {
        "ok": True,
        "milestones": n,
        "reminders": m,
        "channels": len(config.channels),
        "digests": 0,
    }


def test_check_counts_one_of_each_in_the_singular(tmp_path: Path) -> None:
    one = tmp_path / "one.yaml"
    one.write_text(
        "version: 1\n"
        "defaults: {remind: ['0'], notify: [audit]}\n"
        "channels: {audit: {type: webhook, url: 'https://hooks.example.org/x'}}\n"
        "milestones: [{id: only, title: Only one, at: 2099-01-01}]\n"
    )
    done = tminus("check", "-c", str(one))
    assert done.stdout == "OK: 1 milestone, 1 reminder, 1 channel\n", done.stderr
    sim = tminus("simulate", "-c", str(one), "--from", "2098-12-31", "--until", "2099-01-02")
    assert sim.stderr.startswith("1 reminder, 1 delivery from "), sim.stderr


def test_check_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BROKEN)
    done = tminus("check", "-c", str(bad))
    assert done.returncode == 1
    assert "bad.yaml:7:" in done.stderr
    assert "Traceback" not in done.stderr
    js = tminus("check", "-c", str(bad), "--json")
    assert js.returncode == 1
    doc = json.loads(js.stdout)
    assert doc["ok"] is False
    assert doc["errors"][0]["line"] == 7
    assert set(doc["errors"][0]) == {"file", "line", "column", "path", "message"}


def test_missing_config_is_exit_1(tmp_path: Path) -> None:
    done = tminus("check", "-c", str(tmp_path / "nope.yaml"))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr


# -- simulate --------------------------------------------------------------------------
def test_simulate_inf_treaty() -> None:
    done = tminus("simulate", "-c", INF, "--from", "2019-01-01", "--until", "2019-08-03")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d CES?T  \[", line) for line in lines)
    assert done.stderr.startswith(f"{len(lines)} reminders, {2 * len(lines)} deliveries")
    assert (
        "2019-07-26 00:00 CEST  [newsroom, audit]  "
        "T-7d: INF Treaty withdrawal takes effect — Fri 2 Aug 2019 00:00 CEST"
    ) in lines
    assert lines[-1].startswith("2019-08-02 00:00 CEST")
    assert "Now: INF Treaty withdrawal takes effect — Fri 2 Aug 2019 00:00 CEST" in lines[-1]
    text = done.stdout
    assert "Now: U.S. gives notice of withdrawal" in text
    assert "Now: Putin suspends Russian participation" in text
    assert "T-60d: INF Treaty withdrawal takes effect" in text
    js = tminus("simulate", "-c", INF, "--from", "2019-01-01", "--until", "2019-08-03", "--json")
    alerts = json.loads(js.stdout)
    assert len(alerts) == len(lines)
    assert [a["due_at"] for a in alerts] == sorted(a["due_at"] for a in alerts)  # one zone here
    reached = [a for a in alerts if a["type"] == "milestone.reached"]
    assert {a["milestone"] for a in reached} >= {
        "us-notice",
        "russia-suspension",
        "withdrawal-effective",
    }
    assert all(a["label"] == "at the moment" for a in reached)
    assert all(a["text"] and a["channels"] for a in alerts)


def test_simulate_window_end_is_exclusive() -> None:
    js = tminus("simulate", "-c", INF, "--from", "2019-07-26", "--until", "2019-08-02", "--json")
    alerts = json.loads(js.stdout)
    assert [a["label"] for a in alerts] == ["7 days before", "1 day before"]


@pytest.mark.parametrize(
    "args",
    [
        ["simulate", "-c", INF, "--from", "2019-01-01"],  # --until missing
        ["simulate", "-c", INF, "--from", "yesterday", "--until", "2019-08-03"],
        ["simulate", "-c", INF, "--from", "2019-08-03", "--until", "2019-01-01"],
        ["upcoming", "-c", INF, "--within", "ninety days"],
        ["upcoming", "-c", INF, "--within", "-5d"],
        ["upcoming", "-c", INF, "--now", "2019-13-01"],
        ["explain", "-c", INF],  # MILESTONE missing
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    done = tminus(*args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "--from", "2019-01-01", "--until", "9999-12-31"], "--until: '9999-12-31'"),
        (["simulate", "--from", "0001-01-01", "--until", "2019-01-01"], "--from: '0001-01-01'"),
        (["simulate", "--from", "1899-12-31", "--until", "2019-01-01"], "--from: '1899-12-31'"),
        (["upcoming", "--now", "9999-12-01"], "--now: '9999-12-01'"),
        (["upcoming", "--now", "9001-01-01T00:00Z"], "--now: '9001-01-01T00:00Z'"),
    ],
)
def test_dates_outside_1900_9000_are_usage_errors(args: list[str], message: str) -> None:
    done = tminus(*args, "-c", INF)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr == (
        f"tminus {args[0]}: error: {message} is out of range: use a date in the years 1900-9000\n"
    )


@pytest.mark.parametrize("within", ["101 years", "100000 years", "99999999999999d", "P40000D"])
def test_within_longer_than_100_years_is_a_usage_error(within: str) -> None:
    done = tminus("upcoming", "-c", INF, "--within", within)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr == (
        f"tminus upcoming: error: --within: {within!r} is too long: at most 100 years\n"
    )


def test_the_edges_of_the_range_still_plan() -> None:
    done = tminus("upcoming", "-c", INF, "--now", "9000-12-31T23:00", "--within", "100 years")
    assert done.returncode == 0, done.stderr
    assert "9001-08-02" in done.stdout and "9100-08-02" in done.stdout
    done = tminus("simulate", "-c", INF, "--from", "1900-01-01", "--until", "1900-02-01")
    assert done.returncode == 0, done.stderr


# -- upcoming ----------------------------------------------------------------------------
def test_upcoming_table_and_json() -> None:
    args = ["upcoming", "-c", INF, "--now", "2019-06-20T00:00+02:00", "--within", "14d"]
    done = tminus(*args)
    assert done.returncode == 0, done.stderr
    rows = done.stdout.splitlines()
    assert rows[0].split() == ["WHEN", "IN", "MILESTONE", "LABEL", "CHANNELS"]
    assert any(
        r.startswith("2019-06-26 00:00 CEST") and "in 6d" in r and "russia-suspension" in r
        for r in rows
    )
    items = json.loads(tminus(*args, "--json").stdout)
    assert len(items) == len(rows) - 1
    assert all("2019-06-20" <= i["due_at"][:10] < "2019-07-04" for i in items)
    first = items[0]
    assert set(first) >= {"id", "milestone", "title", "due_at", "occurrence", "offset", "label"}
    assert first["id"].startswith("rem_")


def test_upcoming_naive_now_is_config_zone() -> None:
    # 2019-07-02 23:30 Brussels: the suspension's "at the moment" is 30 minutes away.
    args = ["upcoming", "-c", INF, "--now", "2019-07-02T23:30", "--within", "1h", "--json"]
    items = json.loads(tminus(*args).stdout)
    assert ("russia-suspension", "at the moment") in {(i["milestone"], i["label"]) for i in items}


# -- explain -----------------------------------------------------------------------------
def test_explain_steps() -> None:
    done = tminus("explain", "withdrawal-effective", "-c", INF)
    assert done.returncode == 0, done.stderr
    assert "us-notice 2019-02-02 + 6 months = 2019-08-02" in done.stdout
    assert "2019-08-02 00:00 CEST" in done.stdout
    doc = json.loads(tminus("explain", "withdrawal-effective", "-c", INF, "--json").stdout)
    assert doc["at"] == "2019-08-02T00:00:00+02:00"
    assert [r["label"] for r in doc["reminders"]][-1] == "at the moment"


def test_explain_roll_and_unknown(tmp_path: Path) -> None:
    path = tmp_path / "rolled.yaml"
    path.write_text(ROLLED)
    done = tminus("explain", "notice-deadline", "-c", str(path))
    assert done.returncode == 0, done.stderr
    # 2019-06-24 + 6 months = 2019-12-24 (Tuesday): no roll; check the arithmetic line
    assert "contract 2019-06-24 + 6 months = 2019-12-24" in done.stdout
    missing = tminus("explain", "notice-deadlin", "-c", str(path))
    assert missing.returncode == 1
    assert "did you mean 'notice-deadline'" in missing.stderr


def test_explain_shows_a_roll(tmp_path: Path) -> None:
    path = tmp_path / "rolled.yaml"
    path.write_text(ROLLED.replace("2019-06-24", "2019-06-25"))  # -> 2019-12-25, a holiday
    doc = json.loads(tminus("explain", "notice-deadline", "-c", str(path), "--json").stdout)
    assert "2019-12-25 is a holiday: rolled forward to 2019-12-26" in doc["steps"]
    assert doc["at"] == "2019-12-26T00:00:00-05:00"


# -- export-ics --------------------------------------------------------------------------
def test_export_ics_file_and_stdout(tmp_path: Path) -> None:
    out = tmp_path / "tminus.ics"
    done = tminus("export-ics", "-c", INF, "-o", str(out))
    assert done.returncode == 0, done.stderr
    cal = Calendar.from_ical(out.read_bytes())
    config = load_config(REPO / INF)
    events = cal.walk("VEVENT")
    assert len(events) == len(config.milestones)
    by_uid = {str(e["UID"]): e for e in events}
    for m in config.milestones:
        assert len(by_uid[f"{m.id}@tminus"].walk("VALARM")) == len(m.remind)
    piped = tminus("export-ics", "-c", INF)
    assert piped.returncode == 0
    assert piped.stdout.startswith("BEGIN:VCALENDAR")


def test_simulate_json_gives_each_channel_its_exact_body() -> None:
    # Issue 13: per alert, each channel and the exact body it would receive.
    js = tminus("simulate", "-c", INF, "--from", "2019-07-26", "--until", "2019-08-03", "--json")
    assert js.returncode == 0, js.stderr
    alerts = json.loads(js.stdout)
    assert alerts
    for alert in alerts:
        assert alert["title"] and alert["occurrence"] and alert["offset"]
        deliveries = {d["channel"]: d for d in alert["deliveries"]}
        assert set(deliveries) == set(alert["channels"])
        for d in deliveries.values():
            assert d["content_type"] == "application/json"
            body = json.loads(d["body"])
            if d["type"] == "webhook":
                assert body["type"] == alert["type"]
                assert body["delivery_id"] == d["delivery_id"]
                assert body["milestone"]["id"] == alert["milestone"]
                assert body["reminder"]["due_at"] == alert["due_at"]
                assert body["sent_at"].startswith(alert["due_at"][:19])
                assert body["late"] is False and body["attempt"] == 1
            elif d["type"] == "slack":
                assert alert["text"] in body["text"]
                assert body["blocks"][0]["type"] == "header"
    last = alerts[-1]
    assert last["text"].startswith("Now: INF Treaty withdrawal takes effect")
