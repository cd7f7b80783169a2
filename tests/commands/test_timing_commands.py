"""simulate, upcoming and explain show digests and quiet-hour holds (real console script)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_cli_offline import tminus

CONFIG = """\
version: 1
timezone: Europe/Brussels
defaults: {notify: [office]}
channels:
  office:
    type: webhook
    url: https://hooks.example.org/office
    hours: {days: mon-fri, between: "09:00-18:00"}
  chat:
    type: slack
    url: https://hooks.slack.com/services/T000/B000/XXXX
digests:
  - id: weekly
    schedule: "0 9 * * mon"
    within: 14d
    notify: [chat, office]
    tags: [contracts]
milestones:
  - {id: renewal, title: Contract renewal, at: 2026-12-10T10:00, tags: [contracts]}
  - {id: saturday, title: Filing on a Saturday, at: 2026-12-12T00:00}
"""


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG)
    return str(path)


def test_simulate_shows_digests_and_holds(config: str) -> None:
    done = tminus("simulate", "-c", config, "--from", "2026-12-07", "--until", "2026-12-13")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "2026-12-07 09:00 CET  [chat, office]  Digest weekly: 1 milestone in the next 14 days"
        " — T-3d: Contract renewal — Thu 10 Dec 2026 10:00 CET",
        "2026-12-10 10:00 CET  [office]  Now: Contract renewal — Thu 10 Dec 2026 10:00 CET",
        "2026-12-12 00:00 CET  [office]  Now: Filing on a Saturday — Sat 12 Dec 2026 00:00 CET",
        "    held on office until 2026-12-14 09:00 CET (quiet hours)",
    ]
    assert "(1 held for quiet hours)" in done.stderr


def test_simulate_json_renders_a_held_body_at_the_opening(config: str) -> None:
    done = tminus(
        "simulate", "-c", config, "--from", "2026-12-11", "--until", "2026-12-13", "--json"
    )
    assert done.returncode == 0, done.stderr
    (alert,) = json.loads(done.stdout)
    assert alert["held_until"] == {"office": "2026-12-14T09:00:00+01:00"}
    (delivery,) = alert["deliveries"]
    assert delivery["sent_at"] == "2026-12-14T09:00:00+01:00"
    body = json.loads(delivery["body"])
    assert body["held"] is True and body["sent_at"].startswith("2026-12-14T09:00")


def test_simulate_json_gives_each_channel_its_digest(config: str) -> None:
    done = tminus(
        "simulate", "-c", config, "--from", "2026-12-07", "--until", "2026-12-08", "--json"
    )
    (alert,) = json.loads(done.stdout)
    assert alert["type"] == "digest" and alert["milestones"] == ["renewal"]
    bodies = {d["channel"]: json.loads(d["body"]) for d in alert["deliveries"]}
    assert bodies["office"]["digest"]["id"] == "weekly"
    assert bodies["chat"]["blocks"][0]["text"]["text"].startswith("📋 Digest weekly")


def test_upcoming_lists_digests_and_holds(config: str) -> None:
    done = tminus("upcoming", "-c", config, "--now", "2026-12-06T12:00", "--within", "7d")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "digest:weekly" in lines[1] and "digest" in lines[1]
    assert lines[-1].endswith("office (held until 2026-12-14 09:00 CET)")


def test_explain_a_digest(config: str) -> None:
    done = tminus("explain", "weekly", "-c", config, "--json")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["schedule"] == "0 9 * * mon" and found["within"] == "P14D"
    assert found["quiet_hours"] == {"office": "mon-fri 09:00-18:00 Europe/Brussels"}
    assert len(found["fires"]) == 5
    text = tminus("explain", "digest:weekly", "-c", config)
    assert text.returncode == 0
    assert text.stdout.startswith("digest weekly (digest:weekly in history)\n")
    assert "schedule: 0 9 * * mon (Europe/Brussels)" in text.stdout
    missing = tminus("explain", "weekley", "-c", config)
    assert missing.returncode == 1
