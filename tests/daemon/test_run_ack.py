"""Acknowledging on real ``tminus run`` subprocesses: the link in a message, the CLI from
another process, a delivery already claimed in memory, two replicas, a moved milestone."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from scheduler.acknowledge import Acknowledgement, AckSource
from scheduler.acktoken import sign
from scheduler.durations import Duration
from scheduler.model import delivery_id, reminder_id
from scheduler.store import Store
from tests.daemon.conftest import PLACEHOLDER, webhook_config, write_config
from tests.support.daemon import DaemonProcess, iso_in, tminus
from tests.support.receiver import Receiver

pytestmark = pytest.mark.slow

KEY = "end-to-end-acknowledge-key-0001"
TOKEN = "api-token-for-ack-tests"
TITLE = "INF Treaty withdrawal takes effect"


def _links_env(d: DaemonProcess) -> None:
    d.env.update(TMINUS_PUBLIC_URL=d.base, TMINUS_SECRET_KEY=KEY, TMINUS_API_TOKEN=TOKEN)


def _milestone(at: str, remind: list[str], mid: str = "withdrawal") -> dict[str, Any]:
    return {"id": mid, "title": TITLE, "at": at, "remind": remind}


def _delivery(at: str, offset: str, mid: str = "withdrawal", channel: str = "audit") -> str:
    occurrence = datetime.fromisoformat(at)
    return delivery_id(reminder_id(mid, occurrence, Duration.parse(offset)), channel)


def _wait_status(url: str, delivery: str, status: str, timeout: float = 15) -> None:
    store = Store.open(url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = store.get_delivery(delivery)
            if row is not None and row.status.value == status:
                return
            time.sleep(0.02)
        raise AssertionError(f"{delivery} never became {status}")
    finally:
        store.close()


def _rows(url: str) -> list[Any]:
    store = Store.open(url)
    try:
        return store.history(limit=100)
    finally:
        store.close()


def _metric(d: DaemonProcess, line: str) -> bool:
    return line in httpx.get(f"{d.base}/metrics", timeout=5).text


def test_the_link_in_a_reminder_acknowledges_and_the_rest_never_arrive(
    receiver: Receiver, make_daemon: Callable[..., DaemonProcess]
) -> None:
    d = make_daemon(webhook_config(receiver.url, PLACEHOLDER))
    _links_env(d)
    d.start()
    at = iso_in(14)
    d.reload_with(webhook_config(receiver.url, [_milestone(at, ["10s", "5s", "0"])]))
    (first,) = receiver.wait_for(1, timeout=20)
    body = first.json()
    link = body["ack_url"]
    assert link.startswith(f"{d.base}/ack/")
    # GET shows a confirmation page and changes nothing (unfurlers fetch links).
    page = httpx.get(link, timeout=5)
    assert page.status_code == 200
    assert TITLE in page.text and 'method="post"' in page.text
    assert "form-action 'self'" in page.headers["content-security-policy"]
    statuses = sorted(r.status.value for r in _rows(d.database_url))
    assert statuses in (["scheduled", "scheduled", "sent"], ["scheduled", "sending", "sent"])
    # The form's POST acknowledges.
    posted = time.time()
    done = httpx.post(link, data={"by": "Ann <duty>", "note": "on it"}, timeout=5)
    assert done.status_code == 200
    assert "Acknowledged" in done.text and "Ann &lt;duty&gt;" in done.text
    # The webhook that got the first reminder hears of it once; the later ones never come.
    (_, notice) = receiver.wait_for(2, timeout=10)
    due = datetime.fromisoformat(at).timestamp()
    timing = f"posted at T{posted - due:+.2f}s, arrived at T{notice.arrived - due:+.2f}s"
    assert notice.json()["type"] == "milestone.acknowledged", timing
    assert notice.json()["acknowledged"]["by"] == "Ann <duty>"
    assert "ack_url" not in notice.json()
    time.sleep(max(0.0, due + 1.5 - time.time()))
    assert len(receiver.requests) == 2
    rows = {h["id"]: h for h in d.history()}
    for offset in ("5s", "0"):
        row = rows[_delivery(at, offset)]
        assert (row["status"], row["reason"]) == ("cancelled", "acknowledged")
    # The status page, the API and the metrics show who.
    assert "Ann &lt;duty&gt;" in httpx.get(d.base + "/", timeout=5).text
    (m,) = httpx.get(f"{d.base}/api/milestones", timeout=5).json()["items"]
    assert m["acknowledged"]["by"] == "Ann <duty>" and m["acknowledged"]["note"] == "on it"
    assert _metric(d, 'tminus_acknowledgements_total{source="link"} 1.0')
    again = httpx.get(link, timeout=5)
    assert again.status_code == 200 and "Already acknowledged" in again.text
    assert d.stop() == 0
    assert "Traceback" not in d.log()


def test_bad_links_and_the_api_token(
    receiver: Receiver, make_daemon: Callable[..., DaemonProcess], tmp_path: Path
) -> None:
    at = iso_in(3600)
    config = webhook_config(receiver.url, [_milestone(at, ["0"]), *PLACEHOLDER])
    d = make_daemon(config)
    _links_env(d)
    d.start()
    occurrence = datetime.fromisoformat(at)
    good = sign(KEY, "withdrawal", occurrence)
    expired = sign(KEY, "withdrawal", occurrence - timedelta(days=31))
    forged = sign("some-other-servers-key-0001", "withdrawal", occurrence)
    cases = {
        forged: 403,
        good[:-2] + ("AA" if not good.endswith("AA") else "BB"): 403,
        expired: 410,
        "not-a-token": 400,
        good.split(".")[0]: 400,
        "x" * 2000: 400,
        "x" * 5000: 414,  # past the request limits: refused before anything runs
    }
    for token, status in cases.items():
        for method in ("GET", "POST"):
            answer = httpx.request(method, f"{d.base}/ack/{token}", timeout=5)
            assert answer.status_code == status, (token, method, answer.text)
    # The API needs the bearer token to change anything.
    api = f"{d.base}/api/milestones/withdrawal/ack"
    assert httpx.post(api, json={"by": "Eve"}, timeout=5).status_code == 401
    wrong = {"authorization": "Bearer nope"}
    assert httpx.post(api, json={}, headers=wrong, timeout=5).status_code == 401
    auth = {"authorization": f"Bearer {TOKEN}"}
    unknown = httpx.post(f"{d.base}/api/milestones/nope/ack", json={}, headers=auth, timeout=5)
    assert unknown.status_code == 404
    made = httpx.post(api, json={"by": "Bob", "note": "n"}, headers=auth, timeout=5)
    assert made.status_code == 200, made.text
    assert made.json()["acknowledged"]["by"] == "Bob" and made.json()["changed"] is True
    # Taken back: the link no longer acknowledges (a link in a chat history must not
    # silently undo a deliberate unack); the API can acknowledge again.
    assert httpx.request("DELETE", api, headers=auth, timeout=5).status_code == 200
    replay = httpx.post(f"{d.base}/ack/{good}", data={"by": "Mallory"}, timeout=5)
    assert replay.status_code == 409 and "taken back" in replay.text
    assert httpx.request("DELETE", api, headers=auth, timeout=5).status_code == 404
    assert d.stop() == 0
    assert "Traceback" not in d.log()
    assert KEY not in d.log()


def test_public_url_without_a_key_is_refused_by_check_and_run(tmp_path: Path) -> None:
    config = tmp_path / "m.yaml"
    write_config(config, webhook_config("http://127.0.0.1:9/", PLACEHOLDER))
    env = {"TMINUS_PUBLIC_URL": "https://tminus.example.org", "TMINUS_SECRET_KEY": ""}
    env["TMINUS_DATABASE_URL"] = f"sqlite:///{tmp_path / 't.db'}"
    for command in (["check", "-c", str(config)], ["run", "-c", str(config), "--port", "0"]):
        done = tminus(*command, env=env, timeout=30)
        assert done.returncode == 1, done.stderr
        assert "TMINUS_SECRET_KEY" in done.stderr and "Traceback" not in done.stderr


def test_tminus_ack_from_another_process_reaches_the_running_daemon(
    receiver: Receiver, make_daemon: Callable[..., DaemonProcess]
) -> None:
    d = make_daemon(webhook_config(receiver.url, PLACEHOLDER)).start()
    at = iso_in(12)
    config = webhook_config(receiver.url, [_milestone(at, ["0"])])
    d.reload_with(config)
    env = {"TMINUS_DATABASE_URL": d.database_url}
    done = tminus("ack", "withdrawal", "-c", str(d.config), "--by", "Bob", env=env)
    assert done.returncode == 0, done.stderr
    assert "1 delivery cancelled" in done.stdout, done.stdout
    answered = time.monotonic()
    while not _metric(d, 'tminus_acknowledgements_total{source="cli"} 1.0'):
        assert time.monotonic() - answered < 2.5, "the daemon did not notice within a beat"
        time.sleep(0.05)
    (m,) = httpx.get(f"{d.base}/api/milestones", timeout=5).json()["items"]
    assert m["acknowledged"]["by"] == "Bob"
    time.sleep(max(0.0, datetime.fromisoformat(at).timestamp() + 1.5 - time.time()))
    assert receiver.requests == []
    assert {(h["status"], h["reason"]) for h in d.history()} == {("cancelled", "acknowledged")}
    assert d.stop() == 0


def test_a_delivery_claimed_ahead_in_memory_is_stopped_at_its_moment(
    receiver: Receiver, make_daemon: Callable[..., DaemonProcess]
) -> None:
    d = make_daemon(webhook_config(receiver.url, PLACEHOLDER)).start()
    at = iso_in(6)
    d.reload_with(webhook_config(receiver.url, [_milestone(at, ["0"])]))
    wanted = _delivery(at, "0")
    # The daemon claims it a second ahead and holds it in memory until its moment: the
    # database row is no longer for anyone else to change.
    _wait_status(d.database_url, wanted, "sending")
    store = Store.open(d.database_url)
    try:
        ack = Acknowledgement(
            "withdrawal", datetime.fromisoformat(at), "Cy", "", AckSource.CLI, _now()
        )
        change = store.acknowledge(ack, webhook_channels=["audit"])
    finally:
        store.close()
    assert change.changed and change.cancelled == []  # it was in the daemon's hands
    _wait_status(d.database_url, wanted, "cancelled", timeout=10)
    time.sleep(max(0.0, datetime.fromisoformat(at).timestamp() + 1.0 - time.time()))
    assert receiver.requests == []
    (row,) = d.history()
    assert row["reason"] == "acknowledged" and row["attempts"] == 0
    assert d.stop() == 0


def test_moving_the_milestone_makes_a_new_occurrence_that_is_not_acknowledged(
    receiver: Receiver, make_daemon: Callable[..., DaemonProcess]
) -> None:
    d = make_daemon(webhook_config(receiver.url, PLACEHOLDER))
    _links_env(d)
    d.start()
    d.reload_with(webhook_config(receiver.url, [_milestone(iso_in(3600), ["0"])]))
    auth = {"authorization": f"Bearer {TOKEN}"}
    made = httpx.post(
        f"{d.base}/api/milestones/withdrawal/ack", json={"by": "Ann"}, headers=auth, timeout=5
    )
    assert made.status_code == 200 and made.json()["changed"]
    moved = iso_in(4)
    d.reload_with(webhook_config(receiver.url, [_milestone(moved, ["0"])]))
    (m,) = httpx.get(f"{d.base}/api/milestones", timeout=5).json()["items"]
    assert m["acknowledged"] is None
    (got,) = receiver.wait_for(1, timeout=15)
    assert got.json()["type"] == "milestone.reached"
    assert datetime.fromisoformat(got.json()["milestone"]["at"]) == datetime.fromisoformat(moved)
    assert d.stop() == 0


@pytest.mark.postgres
def test_an_acknowledgement_on_one_replica_stops_the_other(
    tmp_path: Path, pg_databases: Callable[[], str], receiver: Receiver
) -> None:
    url = pg_databases()
    config = tmp_path / "milestones.yaml"
    write_config(config, webhook_config(receiver.url, PLACEHOLDER))
    replicas = [
        DaemonProcess(workdir=tmp_path / f"r{i}", config=config, database_url=url) for i in range(2)
    ]
    try:
        for r in replicas:
            r.workdir.mkdir()
            r.env["TMINUS_API_TOKEN"] = TOKEN
            r.start()
        at = iso_in(8)
        new = webhook_config(receiver.url, [_milestone(at, ["0"])])
        for r in replicas:
            r.reload_with(new)
        wanted = _delivery(at, "0")
        _wait_status(url, wanted, "sending")
        store = Store.open(url)
        try:
            row = store.get_delivery(wanted)
        finally:
            store.close()
        assert row is not None and row.claimed_by is not None
        holder = next(r for r in replicas if f":{r.proc.pid}:" in row.claimed_by)  # type: ignore[union-attr]
        other = next(r for r in replicas if r is not holder)
        made = httpx.post(
            f"{other.base}/api/milestones/withdrawal/ack",
            json={"by": "Dee"},
            headers={"authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )
        assert made.status_code == 200 and made.json()["cancelled"] == []
        _wait_status(url, wanted, "cancelled", timeout=10)
        time.sleep(max(0.0, datetime.fromisoformat(at).timestamp() + 1.0 - time.time()))
        assert receiver.requests == []
        for r in replicas:
            assert r.stop() == 0
    finally:
        for r in replicas:
            r.close()


def _now() -> datetime:
    return datetime.now(UTC)
