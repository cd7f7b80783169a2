"""Readiness tells whether SQLite can work: a lock held elsewhere, a deleted or replaced
database file and a full disk all show, stop the claims, and (but for a lost file)
clear again by themselves."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.daemon.conftest import PLACEHOLDER, webhook_config
from tests.support.daemon import DaemonProcess, iso_in
from tests.support.receiver import Receiver

pytestmark = pytest.mark.slow


def _readyz(daemon: DaemonProcess) -> tuple[int, str]:
    try:
        r = httpx.get(f"{daemon.base}/readyz", timeout=5)
    except httpx.HTTPError as exc:
        return 0, type(exc).__name__
    return r.status_code, r.text


def _wait_ready_status(daemon: DaemonProcess, status: int, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    seen: tuple[int, str] = (0, "")
    while time.monotonic() < deadline:
        seen = _readyz(daemon)
        if seen[0] == status:
            return seen[1]
        time.sleep(0.1)
    raise AssertionError(f"/readyz was {seen}, not {status}, for {timeout}s:\n{daemon.log()}")


def _errors(daemon: DaemonProcess, event: str) -> int:
    return sum(1 for e in daemon.events() if e.get("event", "").startswith(event))


def test_a_lock_held_by_another_process_makes_it_unready_until_released(
    make_daemon: Callable[..., DaemonProcess], receiver: Receiver, tmp_path: Path
) -> None:
    daemon = make_daemon(webhook_config(receiver.url, PLACEHOLDER)).start()
    locker = sqlite3.connect(tmp_path / "tminus.db", isolation_level=None, timeout=10)
    # Due while the lock is held: not claimed then, delivered once it is released.
    daemon.reload_with(
        webhook_config(receiver.url, [*PLACEHOLDER, {"id": "m", "title": "M", "at": iso_in(4)}])
    )
    locker.execute("BEGIN EXCLUSIVE")
    try:
        reason = _wait_ready_status(daemon, 503, timeout=5)
        assert "database_locked" in reason
        for _ in range(8):  # stays unready the whole time, not in short windows
            time.sleep(1)
            assert _readyz(daemon)[0] == 503
        assert receiver.requests == []
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    _wait_ready_status(daemon, 200, timeout=5)
    receiver.wait_for(1, timeout=10)
    daemon.wait_statuses({"sent": 1})
    assert _errors(daemon, "store cannot work") == 1  # one line, not one per second
    assert _errors(daemon, "store healthy again") == 1
    assert daemon.stop() == 0


def _delete(path: Path) -> None:
    path.unlink()


def _replace(path: Path) -> None:
    copy = path.with_name("copy.db")
    shutil.copyfile(path, copy)
    copy.replace(path)


@pytest.mark.parametrize("lose", [_delete, _replace], ids=["deleted", "replaced"])
def test_a_lost_database_file_stops_the_daemon_before_it_sends_into_the_void(
    make_daemon: Callable[..., DaemonProcess],
    receiver: Receiver,
    tmp_path: Path,
    lose: Callable[[Path], None],
) -> None:
    first = [{"id": f"a{i}", "title": f"A {i}", "at": iso_in(3)} for i in range(3)]
    later = [{"id": f"b{i}", "title": f"B {i}", "at": iso_in(9)} for i in range(3)]
    daemon = make_daemon(webhook_config(receiver.url, [*PLACEHOLDER, *first, *later])).start()
    receiver.wait_for(3, timeout=15)
    daemon.wait_statuses({"scheduled": 3, "sent": 3})
    lose(tmp_path / "tminus.db")
    assert daemon.proc is not None
    assert daemon.proc.wait(30) == 1
    assert _errors(daemon, "database file lost") == 1
    time.sleep(max(0.0, 7 - 0.5))  # past the moment the later ones were due
    assert len(receiver.requests) == 3, "delivered while writing to a file nobody can see"


@contextlib.contextmanager
def _small_filesystem(path: Path, size: str) -> Iterator[Path]:
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_full_disk_makes_it_unready_until_there_is_room(
    make_daemon: Callable[..., DaemonProcess], receiver: Receiver, tmp_path: Path
) -> None:
    with _small_filesystem(tmp_path / "small", "4m") as small:
        daemon = make_daemon(
            webhook_config(receiver.url, PLACEHOLDER), database_url=f"sqlite:///{small}/t.db"
        ).start()
        filler = small / "filler"
        with filler.open("wb") as f, contextlib.suppress(OSError):
            while True:
                f.write(b"\0" * 65536)
                f.flush()
                os.fsync(f.fileno())
        reason = _wait_ready_status(daemon, 503, timeout=5)
        assert "disk_full" in reason
        filler.unlink()
        _wait_ready_status(daemon, 200, timeout=5)
        assert _errors(daemon, "store cannot work") == 1
        assert daemon.stop() == 0
