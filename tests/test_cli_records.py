"""``tminus history``, ``redeliver`` and ``db`` as users run them: real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from scheduler.model import DeliveryStatus as S
from scheduler.reconcile import ReconcileActions
from scheduler.store import AttemptRecord, Store
from tests.support.deliveries import T0, planned
from tests.support.store import record_dead, record_sent

TMINUS = Path(sys.executable).parent / "tminus"


def tminus(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TMINUS), *args, "--database-url", url],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'data' / 'tminus.db'}"


@pytest.fixture
def filled(url: str) -> dict[str, str]:
    """Three deliveries: one sent, one dead after a 503, one still scheduled."""
    store = Store.open(url)
    store.upgrade()
    sent = planned("us-notice", at=T0)
    dead = planned("withdrawal", at=T0 + timedelta(minutes=1))
    waiting = planned("withdrawal", at=T0 + timedelta(days=30), channel="newsroom")
    store.apply(
        ReconcileActions(insert=[(p, S.SCHEDULED, False) for p in (sent, dead, waiting)]),
        now=T0 - timedelta(days=1),
    )
    later = T0 + timedelta(hours=1)
    store.claim_due(now=later, worker="w", lease=timedelta(seconds=30), limit=2)
    ok = AttemptRecord(attempt=1, started_at=later, finished_at=later, status_code=200, body="ok")
    failed = AttemptRecord(
        attempt=1, started_at=later, status_code=503, reason="server_error", error="Service down"
    )
    assert record_sent(store, sent.id, worker="w", now=later, attempt=ok)
    assert record_dead(store, dead.id, worker="w", now=later, reason="max_attempts", attempt=failed)
    store.close()
    return {"sent": sent.id, "dead": dead.id, "waiting": waiting.id}


def test_history_on_a_fresh_database_shows_nothing(url: str) -> None:
    done = tminus("history", url=url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "No deliveries recorded yet."
    assert "Traceback" not in done.stderr
    as_json = tminus("history", "--json", url=url)
    assert json.loads(as_json.stdout) == {"deliveries": []}


NO_DATABASE = (
    "no database at {path}: nothing has been recorded yet — "
    "has `tminus run` started with this TMINUS_DATABASE_URL?"
)


def test_read_only_commands_create_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent" / "dir" / "x.db"
    url = f"sqlite:///{missing}"
    message = NO_DATABASE.format(path=missing)

    done = tminus("history", url=url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "No deliveries recorded yet."
    assert done.stderr == f"tminus history: {message}\n"
    as_json = tminus("history", "--json", "--status", "dead", url=url)
    assert as_json.returncode == 0 and json.loads(as_json.stdout) == {"deliveries": []}
    assert message in as_json.stderr

    again = tminus("redeliver", "msg_000000000000000000000000", url=url)
    assert again.returncode == 1
    assert again.stdout == ""
    assert again.stderr == (
        f"tminus redeliver: no delivery 'msg_000000000000000000000000': {message}\n"
    )
    assert not (tmp_path / "nonexistent").exists()

    # usage errors are still usage errors
    assert tminus("history", "--limit", "0", url=url).returncode == 2

    # db upgrade is the command that creates it
    assert tminus("db", "upgrade", url=url).returncode == 0
    assert missing.is_file()
    done = tminus("history", url=url)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.strip() == "No deliveries recorded yet."


def test_history_table(url: str, filled: dict[str, str]) -> None:
    done = tminus("history", url=url)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == [
        "ID",
        "STATUS",
        "ATTEMPTS",
        "DUE",
        "MILESTONE",
        "CHANNEL",
        "LAST",
        "ERROR",
    ]
    assert [line.split()[0] for line in lines[1:]] == [
        filled["waiting"],
        filled["dead"],
        filled["sent"],
    ]
    dead_line = next(line for line in lines if line.startswith(filled["dead"]))
    assert "dead" in dead_line and "503 Service down" in dead_line and "withdrawal" in dead_line
    assert "2026-03-01 12:01:00Z" in dead_line


def test_history_filters_and_json(url: str, filled: dict[str, str]) -> None:
    dead = json.loads(tminus("history", "--status", "dead", "--json", url=url).stdout)
    assert [d["id"] for d in dead["deliveries"]] == [filled["dead"]]
    assert dead["deliveries"][0]["last_status_code"] == 503
    assert dead["deliveries"][0]["snapshot"]["milestone_id"] == "withdrawal"
    mine = json.loads(tminus("history", "--milestone", "withdrawal", "--json", url=url).stdout)
    assert {d["id"] for d in mine["deliveries"]} == {filled["dead"], filled["waiting"]}
    one = json.loads(tminus("history", "--limit", "1", "--json", url=url).stdout)
    assert [d["id"] for d in one["deliveries"]] == [filled["waiting"]]
    none = tminus("history", "--status", "skipped", url=url)
    assert none.returncode == 0 and none.stdout.strip() == "No deliveries match."


@pytest.mark.parametrize("args", [["--status", "bogus"], ["--limit", "0"]])
def test_history_usage_errors(url: str, args: list[str]) -> None:
    done = tminus("history", *args, url=url)
    assert done.returncode == 2
    assert "error:" in done.stderr and "Traceback" not in done.stderr


def test_redeliver(url: str, filled: dict[str, str]) -> None:
    done = tminus("redeliver", filled["dead"], url=url)
    assert done.returncode == 0, done.stderr
    assert filled["dead"] in done.stdout and "dead → scheduled" in done.stdout
    store = Store.open(url)
    row = store.get_delivery(filled["dead"])
    store.close()
    assert row is not None and row.status is S.SCHEDULED and row.attempts == 0
    again = tminus("redeliver", filled["sent"], "--json", url=url)
    assert json.loads(again.stdout)["previous_status"] == "sent"


def test_redeliver_refuses_unknown_and_queued(url: str, filled: dict[str, str]) -> None:
    unknown = tminus("redeliver", "msg_000000000000000000000000", url=url)
    assert unknown.returncode == 1
    assert "no delivery" in unknown.stderr and "Traceback" not in unknown.stderr
    queued = tminus("redeliver", filled["waiting"], url=url)
    assert queued.returncode == 1
    assert "already queued" in queued.stderr


def test_db_upgrade_and_current(url: str) -> None:
    before = tminus("db", "current", url=url)
    assert before.returncode == 0 and "empty" in before.stdout
    up = tminus("db", "upgrade", url=url)
    assert up.returncode == 0, up.stderr
    head = Store.head_revision()
    assert f"revision {head}" in up.stdout
    assert tminus("db", "current", url=url).stdout.strip() == f"{head} (head)"
    assert "already" in tminus("db", "upgrade", url=url).stdout


def test_db_current_on_a_missing_file_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "tminus.db"
    done = tminus("db", "current", url=f"sqlite:///{path}")
    assert done.returncode == 0 and "empty" in done.stdout
    assert not path.parent.exists()


def test_unreachable_database_is_reported_without_the_url() -> None:
    done = tminus("history", url="postgresql://tminus:s3cr3t-pw@127.0.0.1:1/tminus")
    assert done.returncode == 1
    assert "database error" in done.stderr
    assert "s3cr3t-pw" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
