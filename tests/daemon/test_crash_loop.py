"""A crash loop: ``tminus run`` SIGKILLed at random moments, again and again, mid-burst.

A burst of reminders falls due over a few seconds; the daemon is killed at a random
moment after each start (seeded: the seed is printed, and ``TMINUS_CRASH_SEED`` replays
it) for at least ten restarts while deliveries are still owed, then started once more
and left to finish. Nothing may be lost, and the only repeats allowed are same-id
redeliveries (a kill between the POST and its record): no request under an id the
plan does not hold.
"""

from __future__ import annotations

import os
import random
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.daemon.conftest import webhook_config, write_config
from tests.support.daemon import DaemonProcess, iso_in
from tests.support.plan_ids import planned_webhook_ids
from tests.support.receiver import Receiver, Response
from tests.support.waiting import wait_until

# A dozen kills and restarts: minutes on a busy machine, more than the default guard.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

BURST = 300  # reminders
SPREAD_S = 6.0  # due over this many seconds
KILLS = 12  # restarts killed while deliveries are still owed (at least 10 must be)
KILL_AFTER_S = (0.0, 1.2)  # a kill comes this long after the daemon is ready
SEED_ENV = "TMINUS_CRASH_SEED"


def _burst(lead_s: float) -> list[dict[str, object]]:
    return [
        {"id": f"m{i:03d}", "title": f"Deadline {i}", "at": iso_in(lead_s + SPREAD_S * i / BURST)}
        for i in range(BURST)
    ]


def _crash_loop(tmp_path: Path, database_url: str, env: dict[str, str]) -> None:
    seed = int(os.environ.get(SEED_ENV) or random.SystemRandom().randrange(2**32))
    print(f"crash loop seed: {seed} (replay with {SEED_ENV}={seed})")
    rng = random.Random(seed)
    # A slow receiver, so that each run is killed with requests in flight: most runs end
    # (0–1.2 s after ready) before a request is answered, so a dozen kills come while
    # deliveries are still owed however fast the daemon drains its claims.
    receiver = Receiver(Response(200, b"ok", delay=1.0)).start()
    milestones = _burst(lead_s=4.0)
    planned = planned_webhook_ids(milestones, "audit")
    config = tmp_path / "milestones.yaml"
    write_config(config, webhook_config(receiver.url, milestones))
    d = DaemonProcess(workdir=tmp_path, config=config, database_url=database_url, env=env)
    try:
        owed_at_kill = []
        for _ in range(KILLS):
            d.start(timeout=30)
            _run_for(d, rng.uniform(*KILL_AFTER_S))
            owed_at_kill.append(BURST - len(receiver.webhook_ids()))
            d.kill()
        killed_mid_burst = sum(owed > 0 for owed in owed_at_kill)
        assert killed_mid_burst >= 10, (
            f"seed {seed}: only {killed_mid_burst} kills came while deliveries were owed "
            f"({owed_at_kill}); the loop proves too little"
        )
        d.start(timeout=30)
        wait_until(
            lambda: not _lost(planned, receiver),
            timeout=45,
            message=lambda: f"seed {seed}: lost {_lost(planned, receiver)}",
        )
        d.wait_statuses({"sent": BURST}, timeout=30)
        assert d.stop() == 0  # a graceful stop: every request in flight has arrived
        ids = receiver.webhook_ids()
        unplanned = set(ids) - set(planned)
        assert not unplanned, f"seed {seed}: requests under ids never planned: {unplanned}"
        for req in list(receiver.requests):  # a repeat is the same delivery, not another one
            assert planned[req.headers["webhook-id"]] == req.json()["milestone"]["id"]
        repeats = Counter({i: n - 1 for i, n in ids.items() if n > 1})
        print(
            f"crash loop seed {seed}: {len(owed_at_kill)} kills, owed at each {owed_at_kill}; "
            f"{len(receiver.requests)} requests for {BURST} ids, "
            f"{sum(repeats.values())} same-id repeats"
        )
    finally:
        d.close()
        receiver.stop()


def _lost(planned: dict[str, str], receiver: Receiver) -> str:
    """The planned deliveries that have not arrived yet, in a few words."""
    missing = sorted(set(planned) - set(receiver.webhook_ids()))
    return f"{len(missing)}: {[planned[i] for i in missing[:5]]}" if missing else ""


def _run_for(d: DaemonProcess, seconds: float) -> None:
    """Let the daemon run ``seconds`` (the random kill delay); it must not exit meanwhile."""
    assert d.proc is not None
    try:
        code = d.proc.wait(seconds)
    except subprocess.TimeoutExpired:  # still running: the normal case
        return
    raise AssertionError(f"tminus run exited {code} on its own:\n{d.log()}")


def test_crash_loop_on_sqlite_loses_nothing(tmp_path: Path) -> None:
    _crash_loop(tmp_path, f"sqlite:///{tmp_path / 'tminus.db'}", env={})


@pytest.mark.postgres
def test_crash_loop_on_postgres_loses_nothing(
    tmp_path: Path, pg_databases: Callable[[], str]
) -> None:
    # A killed process's claims are taken over once their lease runs out: keep it short.
    _crash_loop(tmp_path, pg_databases(), env={"TMINUS_LEASE_SECONDS": "3"})
