"""``GET /timeline.svg`` on a real ``tminus run``: the picture follows what was delivered."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.daemon.conftest import webhook_config
from tests.support.daemon import iso_in, tminus
from tests.support.receiver import Receiver

pytestmark = pytest.mark.slow
SVG = "{http://www.w3.org/2000/svg}"


def _states(svg: str) -> dict[str, list[str]]:
    root = ET.fromstring(svg)
    return {
        g.get("data-row", ""): [
            t.get("data-state", "") for t in g.iter(f"{SVG}line") if t.get("data-state")
        ]
        for g in root.iter(f"{SVG}g")
        if g.get("data-row")
    }


def test_timeline_shows_a_sent_reminder_and_the_ones_ahead(make_daemon, receiver: Receiver) -> None:
    later = (datetime.now(UTC) + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    milestones = [
        {"id": "soon", "title": "Soon & <now>", "at": iso_in(2)},
        {"id": "later", "title": "Later", "at": later, "remind": ["7d", "0"]},
    ]
    d = make_daemon(webhook_config(receiver.url + "/hook", milestones)).start()
    d.wait_statuses({"sent": 1}, timeout=30)
    response = httpx.get(f"{d.base}/timeline.svg", timeout=10)
    page = httpx.get(f"{d.base}/", timeout=10)
    bad = httpx.get(f"{d.base}/timeline.svg", params={"months": "0"}, timeout=10)
    assert d.stop() == 0
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert _states(response.text) == {"soon": ["sent"], "later": ["due", "due"]}
    assert "Soon &amp; &lt;now&gt;" in response.text
    assert '<img src="timeline.svg"' in page.text
    assert bad.status_code == 422
    assert "Traceback" not in d.log()


def _escalations(svg: str) -> dict[str, list[str]]:
    root = ET.fromstring(svg)
    return {
        g.get("data-row", ""): [
            p.get("data-state", "")
            for p in g.iter(f"{SVG}polygon")
            if p.get("data-kind") == "escalation"
        ]
        for g in root.iter(f"{SVG}g")
        if g.get("data-row")
    }


def _acknowledged(base: str, milestone: str) -> bool:
    items = httpx.get(f"{base}/api/milestones", timeout=5).json()["items"]
    return any(m["id"] == milestone and m["acknowledged"] for m in items)


def test_timeline_draws_escalations_sent_due_and_acknowledged(
    make_daemon, receiver: Receiver
) -> None:
    later = (datetime.now(UTC) + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    milestones = [
        {
            "id": "soon",
            "title": "Soon",
            "at": iso_in(2),
            "escalate": [{"at": "0", "notify": ["audit"]}],
        },
        {
            "id": "later",
            "title": "Later",
            "at": later,
            "escalate": [{"at": "-1d", "notify": ["audit"]}],
        },
    ]
    d = make_daemon(webhook_config(receiver.url + "/hook", milestones)).start()
    d.wait_statuses({"sent": 2}, timeout=30)  # the reminder and the escalation of "soon"
    before = httpx.get(f"{d.base}/timeline.svg", timeout=10)
    # Acknowledged from another process: the escalation 11 days ahead has no row yet.
    env = {"TMINUS_DATABASE_URL": d.database_url}
    done = tminus("ack", "later", "-c", str(d.config), "--by", "Ana", env=env)
    assert done.returncode == 0, done.stderr
    deadline = time.monotonic() + 10
    while not _acknowledged(d.base, "later"):
        assert time.monotonic() < deadline, "the daemon did not learn of the acknowledgement"
        time.sleep(0.05)
    after = httpx.get(f"{d.base}/timeline.svg", timeout=10)
    assert d.stop() == 0
    assert _escalations(before.text) == {"soon": ["sent"], "later": ["due"]}
    assert _escalations(after.text) == {"soon": ["sent"], "later": ["acknowledged"]}
    assert _states(after.text)["later"] == ["acknowledged"]
    assert "escalation" in ET.fromstring(after.text).itertext()
    assert "Traceback" not in d.log()
