"""Start-to-ready time of ``tminus run`` for a config of 100,000 milestones.

Usage: ``python -m benchmarks.startup [N]``. Milestones are spread over the next year,
four reminders each, so the first start plans them all and materialises the horizon.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from tests.support.daemon import DaemonProcess


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    now = datetime.now(UTC).replace(microsecond=0)
    milestones = [
        {
            "id": f"deadline-{i:06d}",
            "title": f"Filing deadline {i}",
            "at": (now + timedelta(minutes=10 + i * 525_600 // n)).isoformat(),
        }
        for i in range(n)
    ]
    config = {
        "version": 1,
        "defaults": {"remind": ["30d", "7d", "1d", "0"], "notify": ["hook"]},
        "channels": {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/unused"}},
        "milestones": milestones,
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        size = path.stat().st_size / 1e6
        for run in ("first start (empty database)", "restart (warm database)"):
            daemon = DaemonProcess(Path(tmp), path, f"sqlite:///{tmp}/big.db")
            t0 = time.monotonic()
            daemon.start(timeout=300)
            ready = time.monotonic() - t0
            daemon.stop()
            print(f"{n} milestones ({size:.1f} MB YAML), {run}: ready in {ready:.2f}s")


if __name__ == "__main__":
    main()
