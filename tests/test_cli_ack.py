"""``tminus ack`` and ``tminus unack`` as users run them: real subprocesses on a SQLite file."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from scheduler.model import DeliveryStatus as S
from scheduler.reconcile import ReconcileActions
from scheduler.store import Store
from tests.support.deliveries import planned

TMINUS = Path(sys.executable).parent / "tminus"
AT = datetime(2030, 1, 1, 9, 0, tzinfo=ZoneInfo("Europe/Brussels"))


def tminus(*args: str, url: str, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TMINUS), *args, "-c", str(config), "--database-url", url],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def setup(tmp_path: Path) -> tuple[str, Path, list[str]]:
    config = tmp_path / "m.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "timezone": "Europe/Brussels",
                "channels": {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/x"}},
                "milestones": [
                    {
                        "id": "deadline",
                        "title": "A deadline",
                        "at": "2030-01-01T09:00",
                        "remind": ["1d", "0"],
                        "notify": ["hook"],
                    }
                ],
            }
        )
    )
    url = f"sqlite:///{tmp_path / 'tminus.db'}"
    store = Store.open(url)
    store.upgrade()
    rows = [planned("deadline", at=AT, offset=o) for o in ("1d", "0")]
    store.apply(
        ReconcileActions(insert=[(p, S.SCHEDULED, False) for p in rows]),
        now=AT - timedelta(days=2),
    )
    store.close()
    return url, config, sorted(p.id for p in rows)


def _statuses(url: str) -> set[tuple[str, str | None]]:
    store = Store.open(url)
    try:
        return {(r.status.value, r.reason) for r in store.history()}
    finally:
        store.close()


def test_ack_then_unack(setup: tuple[str, Path, list[str]]) -> None:
    url, config, ids = setup
    done = tminus(
        "ack", "deadline", "--by", "Ann", "--note", "seen", "--json", url=url, config=config
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["changed"] is True and answer["cancelled"] == ids
    assert answer["acknowledged"]["by"] == "Ann" and answer["acknowledged"]["source"] == "cli"
    assert datetime.fromisoformat(answer["acknowledged"]["occurrence"]) == AT
    assert _statuses(url) == {("cancelled", "acknowledged")}
    again = tminus("ack", "deadline", "--by", "Bob", url=url, config=config)
    assert again.returncode == 0
    assert "already acknowledged by Ann" in again.stdout and "nothing changed" in again.stdout
    back = tminus("unack", "deadline", url=url, config=config)
    assert back.returncode == 0, back.stderr
    assert "2 deliveries scheduled again" in back.stdout
    assert _statuses(url) == {("scheduled", None)}
    twice = tminus("unack", "deadline", url=url, config=config)
    assert twice.returncode == 1
    assert "is not acknowledged" in twice.stderr and "Traceback" not in twice.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["ack", "nope"], 1, "no milestone 'nope'"),
        (["ack", "deadline", "--occurrence", "yesterday"], 2, "--occurrence"),
        (["ack", "deadline", "--occurrence", "2030-01-02T09:00"], 1, "has no occurrence"),
        (["ack", "deadline", "--by", "x" * 300], 2, "too long"),
    ],
)
def test_what_cannot_be_acknowledged(
    setup: tuple[str, Path, list[str]], args: list[str], code: int, message: str
) -> None:
    url, config, _ids = setup
    done = tminus(*args, url=url, config=config)
    assert done.returncode == code, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert _statuses(url) == {("scheduled", None)}


def test_a_named_occurrence_in_the_milestones_zone(setup: tuple[str, Path, list[str]]) -> None:
    url, config, _ids = setup
    done = tminus("ack", "deadline", "--occurrence", "2030-01-01T09:00", url=url, config=config)
    assert done.returncode == 0, done.stderr
    assert "2030-01-01 09:00 CET" in done.stdout and "2 deliveries cancelled" in done.stdout
