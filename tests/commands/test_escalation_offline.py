"""``simulate``, ``upcoming`` and ``explain`` show escalations (as if nothing were
acknowledged), through the real console script."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli_offline import tminus

CONFIG = """\
version: 1
timezone: Europe/Brussels
defaults:
  remind: [1d, 0]
  notify: [team]
channels:
  team: {type: slack, url: "https://hooks.slack.com/services/T/B/X"}
  phones: {type: webhook, url: "https://example.org/phones"}
milestones:
  - id: notice
    title: Last day to give notice
    at: 2027-02-03
    escalate:
      - {at: 12h, notify: [phones]}
      - {at: -2h, notify: [team, phones]}
"""


def write(tmp_path: Path) -> str:
    path = tmp_path / "m.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return str(path)


def test_simulate_lists_escalations_with_their_bodies(tmp_path: Path) -> None:
    config = write(tmp_path)
    done = tminus("simulate", "-c", config, "--from", "2027-02-01", "--until", "2027-02-04")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "2027-02-02 00:00 CET  [team]  T-1d: Last day to give notice — Wed 3 Feb 2027 00:00 CET",
        "2027-02-02 12:00 CET  [phones]  "
        "Unacknowledged: Last day to give notice — Wed 3 Feb 2027 00:00 CET (T-12h)",
        "2027-02-03 00:00 CET  [team]  Now: Last day to give notice — Wed 3 Feb 2027 00:00 CET",
        "2027-02-03 02:00 CET  [team, phones]  "
        "Unacknowledged: Last day to give notice — Wed 3 Feb 2027 00:00 CET (T+2h)",
    ]
    js = tminus("simulate", "-c", config, "--from", "2027-02-01", "--until", "2027-02-04", "--json")
    alerts = json.loads(js.stdout)
    last = alerts[-1]
    assert last["type"] == "milestone.escalated"
    assert last["label"] == "escalation 2 · 2 hours after"
    bodies = {d["channel"]: json.loads(d["body"]) for d in last["deliveries"]}
    assert bodies["phones"]["type"] == "milestone.escalated"
    assert bodies["phones"]["escalation"] == {"at": "-PT2H", "level": 2}
    assert bodies["team"]["text"].startswith("Unacknowledged: ")


def test_upcoming_and_explain_show_escalations(tmp_path: Path) -> None:
    config = write(tmp_path)
    done = tminus("upcoming", "-c", config, "--now", "2027-02-02T06:00", "--within", "2d", "--json")
    rows = [(r["label"], r["type"], r["channels"]) for r in json.loads(done.stdout)]
    assert rows == [
        ("escalation 1 · 12 hours before", "milestone.escalated", ["phones"]),
        ("at the moment", "milestone.reached", ["team"]),
        ("escalation 2 · 2 hours after", "milestone.escalated", ["team", "phones"]),
    ]
    explained = tminus("explain", "notice", "-c", config)
    assert explained.returncode == 0, explained.stderr
    assert "2027-02-02 12:00 CET  escalation 1 · 12 hours before → phones" in explained.stdout
    assert "2027-02-03 02:00 CET  escalation 2 · 2 hours after → team, phones" in explained.stdout
