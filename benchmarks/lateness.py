"""Lateness of ``tminus run``: 1,000 reminders spread over 10 s to a loopback webhook.

Prints arrival-minus-due percentiles. Usage: ``python -m benchmarks.lateness [N] [SPREAD_S]``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from tests.support.daemon import DaemonProcess
from tests.support.receiver import Receiver


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    spread = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    lead = 8.0  # seconds for the daemon to start before the first reminder
    receiver = Receiver().start()
    with tempfile.TemporaryDirectory() as tmp:
        start = datetime.now(UTC) + timedelta(seconds=lead)
        dues = {}
        milestones = []
        for i in range(n):
            at = start + timedelta(seconds=spread * i / n)
            milestones.append({"id": f"m{i:05d}", "title": f"Deadline {i}", "at": at.isoformat()})
            dues[f"m{i:05d}"] = at.timestamp()
        config = {
            "version": 1,
            "defaults": {"remind": ["0"], "notify": ["hook"]},
            "channels": {"hook": {"type": "webhook", "url": receiver.url}},
            "milestones": milestones,
        }
        path = Path(tmp) / "bench.yaml"
        path.write_text(yaml.safe_dump(config))
        daemon = DaemonProcess(Path(tmp), path, f"sqlite:///{tmp}/bench.db")
        t0 = time.monotonic()
        daemon.start(timeout=60)
        ready = time.monotonic() - t0
        receiver.wait_for(n, timeout=lead + spread + 60)
        daemon.stop()
        started = sorted(
            e["lateness_ms"] for e in daemon.events() if e.get("event") == "delivery sent"
        )
    receiver.stop()
    late = sorted((r.arrived - dues[r.json()["milestone"]["id"]]) * 1000 for r in receiver.requests)
    q = statistics.quantiles(late, n=100)
    print(f"reminders: {n} over {spread:.0f}s; daemon ready in {ready:.2f}s")
    qs = statistics.quantiles(started, n=100)
    print(
        f"send start - due, ms: p50 {qs[49]:.1f}  p90 {qs[89]:.1f}  p99 {qs[98]:.1f}  "
        f"max {started[-1]:.1f}"
    )
    print(
        f"lateness ms: min {late[0]:.1f}  p50 {q[49]:.1f}  p90 {q[89]:.1f}  "
        f"p99 {q[98]:.1f}  max {late[-1]:.1f}  (early: {sum(1 for x in late if x < 0)})"
    )


if __name__ == "__main__":
    main()
