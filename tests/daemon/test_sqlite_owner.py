"""A SQLite file serves one daemon: a second ``tminus run`` on it refuses to start
(before it can release the first one's claims and send them twice), while the
offline commands keep working against it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.daemon.conftest import PLACEHOLDER, webhook_config, write_config
from tests.support.daemon import DaemonProcess, iso_in, tminus
from tests.support.receiver import Receiver

pytestmark = pytest.mark.slow


def test_a_second_daemon_on_the_same_sqlite_file_refuses_to_start(
    make_daemon: Callable[..., DaemonProcess], receiver: Receiver, tmp_path: Path
) -> None:
    soon = {"id": "soon", "title": "Soon", "at": iso_in(4)}
    config = webhook_config(receiver.url + "/hook", [*PLACEHOLDER, soon])
    first = make_daemon(config).start()
    other_dir = tmp_path / "second"
    other_dir.mkdir()
    path = other_dir / "milestones.yaml"
    write_config(path, config)
    second = DaemonProcess(workdir=other_dir, config=path, database_url=first.database_url)
    second.start(wait_ready=False)
    assert second.proc is not None
    assert second.proc.wait(30) == 1
    assert "another tminus run is using this SQLite database" in second.log()
    assert "released claims" not in second.log()
    # The first daemon is untouched and delivers once; offline commands still read the file.
    receiver.wait_for(1, timeout=15)
    first.wait_statuses({"sent": 1})
    result = tminus("history", "--json", "--database-url", first.database_url)
    assert result.returncode == 0, result.stderr
    assert len(receiver.requests) == 1
    # Once the owner stops, the file is free for the next daemon.
    assert first.stop() == 0
    second.start()
    assert second.stop() == 0
