"""Two replicas on PostgreSQL keep one Slack channel's pace (1 per second), not twice it."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.daemon.conftest import PLACEHOLDER, write_config
from tests.support.daemon import DaemonProcess, iso_in
from tests.support.receiver import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(300)]

POSTS = 10


def _config(url: str, milestones: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "version": 1,
        "defaults": {"remind": ["0"], "notify": ["newsroom"]},
        "channels": {
            "newsroom": {
                "type": "slack",
                "url": url + "/services/T000/B000/XXXXXXXX",
                "rate_limit": 1,
                "group_window": "0s",  # one post per reminder: a burst of posts
                "timeout": "15s",
            }
        },
        "milestones": milestones,
    }


def test_two_replicas_send_to_one_slack_channel_one_post_a_second(
    tmp_path: Path, pg_databases: Callable[[], str]
) -> None:
    url = pg_databases()
    receiver = Receiver().start()
    config = tmp_path / "milestones.yaml"
    write_config(config, _config(receiver.url, PLACEHOLDER))
    replicas = []
    for i in range(2):
        (tmp_path / f"r{i}").mkdir()
        replicas.append(
            DaemonProcess(
                workdir=tmp_path / f"r{i}",
                config=config,
                database_url=url,
                # Claims one reminder at a time, so both replicas take a share of the burst.
                env={"TMINUS_LOOKAHEAD_SECONDS": "0.1"},
            )
        )
    try:
        for r in replicas:
            r.start(timeout=90)
        burst = [
            {"id": f"filing-{i:02d}", "title": f"Filing {i}", "at": iso_in(8 + i * 0.3)}
            for i in range(POSTS)
        ]
        for r in replicas:
            r.reload_with(_config(receiver.url, burst))
        receiver.wait_for(POSTS, timeout=60)
        for r in replicas:
            r.wait_statuses({"sent": POSTS}, timeout=30)
            assert r.stop() == 0
        senders = [sum(e.get("event") == "delivery sent" for e in r.events()) for r in replicas]
        assert sum(senders) == POSTS and min(senders) > 0, f"posts per replica: {senders}"
        arrivals = sorted(p.arrived for p in receiver.requests)
        gaps = [round(b - a, 3) for a, b in itertools.pairwise(arrivals)]
        print(f"replica pacing: posts per replica {senders}, gaps {gaps}")
        # Due 0.3 s apart: a token bucket each would let the first three out 0.3 s apart.
        assert len(arrivals) == POSTS
        assert min(gaps) >= 0.9, gaps
    finally:
        for r in replicas:
            r.close()
        receiver.stop()
