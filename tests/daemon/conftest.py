"""Fixtures for end-to-end tests of ``tminus run`` subprocesses."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.daemon import DaemonProcess
from tests.support.receiver import Receiver

SECRET = "whsec_" + base64.b64encode(b"tminus-end-to-end-test-key-0001").decode()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def webhook_config(
    url: str,
    milestones: list[dict[str, Any]],
    *,
    channel: dict[str, Any] | None = None,
    catch_up: str = "1h",
    extra_channels: dict[str, Any] | None = None,
) -> dict[str, Any]:
    audit = {
        "type": "webhook",
        "url": url,
        "secret": SECRET,
        "headers": {"X-Team": "arms-control"},
        "timeout": "2s",
        "retry": {"max_attempts": 5, "initial": "1s", "max_delay": "2s"},
        **(channel or {}),
    }
    return {
        "version": 1,
        "timezone": "Europe/Brussels",
        "defaults": {"remind": ["0"], "notify": ["audit"], "catch_up": catch_up},
        "channels": {"audit": audit, **(extra_channels or {})},
        "milestones": milestones,
    }


@pytest.fixture
def make_daemon(tmp_path: Path) -> Iterator[Callable[..., DaemonProcess]]:
    made: list[DaemonProcess] = []

    def make(config: dict[str, Any], **kw: Any) -> DaemonProcess:
        path = tmp_path / "milestones.yaml"
        write_config(path, config)
        d = DaemonProcess(
            workdir=tmp_path,
            config=path,
            database_url=kw.pop("database_url", f"sqlite:///{tmp_path / 'tminus.db'}"),
            **kw,
        )
        made.append(d)
        return d

    yield make
    for d in made:
        d.close()


PLACEHOLDER = [{"id": "placeholder", "title": "Far away", "at": "2099-01-01"}]


def write_config(path: Path, config: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(config, sort_keys=False))
    tmp.replace(path)
