"""A stop is prompt: SIGTERM to exit while idle does not wait for a timer (the liveness
session's next ping, the config watcher's next look)."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from scheduler.db.session import PING_EVERY
from tests.daemon.conftest import PLACEHOLDER, webhook_config, write_config
from tests.support.daemon import DaemonProcess
from tests.support.receiver import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

STOP_WITHIN = 2.0  # seconds from SIGTERM to exit, idle (the session pings every 3 s)


def _stop_seconds(d: DaemonProcess) -> float:
    d.start()
    time.sleep(1.0)  # idle: the session and the watcher are in their waits
    assert d.proc is not None
    started = time.monotonic()
    d.proc.send_signal(signal.SIGTERM)
    assert d.proc.wait(30) == 0
    return time.monotonic() - started


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_sigterm_ends_an_idle_daemon_promptly(
    backend: str,
    receiver: Receiver,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    assert STOP_WITHIN < PING_EVERY
    if backend == "postgres":
        make_db: Callable[[], str] = request.getfixturevalue("pg_databases")
        url = make_db()
    else:
        url = f"sqlite:///{tmp_path / 'tminus.db'}"
    config = tmp_path / "milestones.yaml"
    write_config(config, webhook_config(receiver.url, PLACEHOLDER))
    d = DaemonProcess(workdir=tmp_path, config=config, database_url=url)
    try:
        took = _stop_seconds(d)
    finally:
        d.close()
    assert took < STOP_WITHIN, f"SIGTERM to exit took {took:.2f} s\n{d.log()}"
