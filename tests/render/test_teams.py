"""Teams Adaptive Cards: golden files, the card's required fields, hostile input, 28 KB."""

from __future__ import annotations

import itertools
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from scheduler.model import Alert
from scheduler.render import teams_payloads
from scheduler.render.teams import MAX_GROUP_ALERTS, fit_bytes
from tests.support.alerts import make_alert
from tests.support.teams_limits import TEAMS_MAX_BYTES, body_bytes, card_text, teams_problems

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("TMINUS_UPDATE_GOLDEN") == "1"  # rewrite the files, then review the diff

HOSTILE = "**bold** _it_ [click](https://evil.example) <at>everyone</at> & 💥 \x01"
TITLES = ["x" * 10_000, "💥" * 10_000, HOSTILE * 200, "\x01" * 10_000, '"\\' * 5_000]


def golden(name: str, payload: Any) -> None:
    path = GOLDEN / f"{name}.json"
    text = json.dumps(payload, ensure_ascii=False, indent=2) + "\n"
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert json.loads(path.read_text(encoding="utf-8")) == payload, f"{path} differs"


def card(payload: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = payload["attachments"][0]["content"]
    return content


def test_golden_seven_days_before() -> None:
    [(carried, payload)] = teams_payloads([alert := make_alert()])
    assert carried == [alert]
    golden("teams_seven_days_before", payload)
    assert teams_problems(payload) == []


def test_golden_reached_late_in_new_york() -> None:
    alert = make_alert(offset="0", zone="America/New_York", late_by=timedelta(minutes=40))
    [(_, payload)] = teams_payloads([alert])
    golden("teams_reached_late_new_york", payload)
    facts = {f["title"]: f["value"] for f in card(payload)["body"][1]["facts"]}
    assert facts["When"] == "Fri 2 Aug 2019 00:00 EDT"  # the milestone's zone
    assert facts["Countdown"] == "T+40m · Reached 40 minutes ago"


def test_golden_group_of_three() -> None:
    alerts = [
        make_alert(milestone_id="a", title="Alpha", at=(2019, 8, 1, 9), zone="Asia/Kolkata"),
        make_alert(milestone_id="b", title="Bravo", links=("https://example.org/b", "ftp://x")),
        make_alert(milestone_id="c", title="Charlie", tags=(), description=""),
    ]
    [(carried, payload)] = teams_payloads(alerts)
    assert [a.reminder.milestone.title for a in carried] == ["Alpha", "Bravo", "Charlie"]
    golden("teams_group_of_three", payload)
    assert teams_problems(payload) == []


def test_links_are_open_url_actions_and_others_are_text() -> None:
    links = (*(f"https://example.org/{i}" for i in range(8)), "javascript:alert(1)")
    [(_, payload)] = teams_payloads([make_alert(links=links)])
    actions = card(payload)["actions"]
    assert [a["type"] for a in actions] == ["Action.OpenUrl"] * 5
    assert [a["url"] for a in actions] == list(links[:5])
    text = card_text(payload)
    assert "https://example.org/5" in text and "…and 1 more" in text
    assert all(a["url"] != "javascript:alert(1)" for a in actions)


def test_user_text_is_shown_literally() -> None:
    [(_, payload)] = teams_payloads([make_alert(title=HOSTILE, description=HOSTILE)])
    runs = [b for b in card(payload)["body"] if b["type"] == "RichTextBlock"]
    assert runs[0]["inlines"][0]["text"].endswith(HOSTILE.replace("\x01", "").strip() + " \x01")
    # Only TextRun inlines and facts carry text: no TextBlock reads markdown.
    assert all(b["type"] != "TextBlock" for b in card(payload)["body"])
    assert "actions" not in card(payload) or all(
        "evil" not in a["url"] for a in card(payload)["actions"]
    )


@pytest.mark.parametrize("title", TITLES, ids=["ascii", "emoji", "markup", "control", "escapes"])
def test_hostile_group_stays_under_28_kb_per_post(title: str) -> None:
    alerts: list[Alert] = [
        make_alert(
            milestone_id=f"m{i:03d}",
            title=title,
            description=title * 3,
            tags=tuple(title[:500] for _ in range(20)),
            links=tuple(f"https://example.org/{'p' * 3000}/{n}" for n in range(10))
            + (title[:3000],) * 10,
            at=(2019, 8, 2, 0, i % 60),
            late_by=timedelta(minutes=i) if i % 3 else None,
        )
        for i in range(70)
    ]
    singles = [teams_payloads([a])[0][1] for a in alerts[:3]]
    posts = teams_payloads(alerts)
    assert len(posts) > 1, "a big group is several posts"
    for payload in [*singles, *(p for _, p in posts)]:
        assert teams_problems(payload) == [], teams_problems(payload)
        assert body_bytes(payload) < 28_000 < TEAMS_MAX_BYTES
    carried = list(itertools.chain.from_iterable(c for c, _ in posts))
    assert sorted(a.delivery_id for a in carried) == sorted(a.delivery_id for a in alerts)
    for group, payload in posts:
        assert len(group) <= MAX_GROUP_ALERTS
        assert teams_payloads(group) == [(group, payload)]  # stable: a group renders the same


def test_fit_bytes_counts_json_escapes() -> None:
    assert fit_bytes("abc", 3) == "abc"
    cut = fit_bytes("\x01" * 100, 20)
    assert len(json.dumps(cut, ensure_ascii=False).encode()) - 2 <= 20 and cut.endswith("…")
    assert len(fit_bytes("💥" * 100, 41).encode()) <= 41


def test_docs_show_the_golden_card() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "messages.md").read_text(encoding="utf-8")
    section = docs.split("## Microsoft Teams", 1)[1]
    shown = section.split("```json\n", 1)[1].split("\n```", 1)[0]
    golden_text = (GOLDEN / "teams_seven_days_before.json").read_text(encoding="utf-8")
    assert json.loads(shown) == json.loads(golden_text)
