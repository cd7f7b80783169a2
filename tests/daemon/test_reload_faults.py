"""A reload that meets a value no object can be made of (a malformed URL) is a rejected
config: the running one stays in force, the failure is counted, and the watcher lives
on to take the next good config."""

from __future__ import annotations

import re
import signal

import httpx
import pytest
import yaml

from tests.daemon.conftest import PLACEHOLDER, webhook_config
from tests.support.receiver import Receiver

pytestmark = pytest.mark.slow


def test_a_malformed_url_on_reload_is_rejected_and_counted(receiver: Receiver, make_daemon) -> None:
    d = make_daemon(webhook_config(receiver.url, PLACEHOLDER)).start()
    bad = webhook_config("http://[::1/x", PLACEHOLDER)
    d.config.write_text(yaml.safe_dump(bad, sort_keys=False))
    d.signal(signal.SIGHUP)
    d.wait_log("config rejected: the previous config stays in force")
    problems = [e.get("problem", "") for e in d.events() if e.get("event") == "config error"]
    assert any("channels.audit.url" in p for p in problems), problems
    assert "Traceback" not in d.log()
    assert "Task exception was never retrieved" not in d.log()
    metrics = httpx.get(f"{d.base}/metrics").text
    failed = re.search(r'tminus_config_reloads_total\{result="failed"\} (\S+)', metrics)
    assert failed is not None and float(failed.group(1)) >= 1
    # The old config is in force and the next good one is taken (the watcher still runs).
    good = webhook_config(receiver.url, [{"id": "after", "title": "After", "at": "2099-06-01"}])
    d.reload_with(good)
    ids = [m["id"] for m in httpx.get(f"{d.base}/api/milestones").json()["items"]]
    assert ids == ["after"]
    assert d.stop() == 0
