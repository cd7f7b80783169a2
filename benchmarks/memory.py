"""Memory of ``tminus run`` at N milestones: ready time, RSS when ready, peak RSS.

Usage::

    python -m benchmarks.memory 10000 100000 1000000     # real daemons, one per size
    python -m benchmarks.memory --holders 100000         # what holds memory, in-process

Each size gets a generated config (milestones spread over the next year, four
reminders each, one webhook channel) and a fresh SQLite database. The daemon's
``/proc/PID/status`` is sampled while it starts: ``VmRSS`` when ``/readyz`` first
answers 200, ``VmHWM`` (the kernel's high-water mark) then and again a few seconds
later, once the first reconcile's aftermath has settled. ``CPU s`` is the daemon's
user + system time when ready (``/proc/PID/stat``): on a shared machine it moves far
less than the wall-clock ready time.

``--holders`` runs the daemon's start-up stages in this process under
:mod:`tracemalloc` and prints, for each stage, what it added and what stays held
(the top allocation sites of what is alive at the end).
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support.daemon import DaemonProcess

SETTLE_SECONDS = 5.0


def write_config(path: Path, n: int) -> None:
    """The benchmark config of ``benchmarks.startup``, written as text (fast at 1M)."""
    now = datetime.now(UTC).replace(microsecond=0)
    lines = [
        "version: 1",
        "defaults:",
        "  remind: ['30d', '7d', '1d', '0']",
        "  notify: [hook]",
        "channels:",
        "  hook: {type: webhook, url: 'http://127.0.0.1:9/unused'}",
        "milestones:",
    ]
    for i in range(n):
        at = (now + timedelta(minutes=10 + i * 525_600 // n)).isoformat()
        lines.append(f"- id: deadline-{i:07d}\n  title: Filing deadline {i}\n  at: '{at}'")
    path.write_text("\n".join(lines) + "\n")


def _status(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` of ``pid`` in KiB."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` (all threads) in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_daemon(n: int, timeout: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.yaml"
        write_config(path, n)
        size = path.stat().st_size / 1e6
        daemon = DaemonProcess(Path(tmp), path, f"sqlite:///{tmp}/big.db")
        t0 = time.monotonic()
        daemon.start(timeout=timeout)
        ready = time.monotonic() - t0
        assert daemon.proc is not None
        at_ready = _status(daemon.proc.pid)
        cpu = _cpu_seconds(daemon.proc.pid)
        time.sleep(SETTLE_SECONDS)
        settled = _status(daemon.proc.pid)
        daemon.stop()
    return {
        "n": n,
        "yaml_mb": size,
        "ready_s": ready,
        "cpu_s": cpu,
        "rss_ready_mib": at_ready["VmRSS"] / 1024,
        "hwm_ready_mib": at_ready["VmHWM"] / 1024,
        "rss_settled_mib": settled["VmRSS"] / 1024,
        "peak_mib": settled["VmHWM"] / 1024,
    }


def holders(n: int, top: int) -> None:
    """The start-up stages in this process, under tracemalloc (slow: about 3× slower)."""
    from scheduler.config import load_config
    from scheduler.digests import no_acknowledgements, plan_digests
    from scheduler.planning import plan, resolve
    from scheduler.reconcile import HORIZON, plan_deliveries

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.yaml"
        write_config(path, n)
        gc.collect()
        tracemalloc.start(1)
        base = tracemalloc.take_snapshot()
        kept: dict[str, object] = {}
        now = datetime.now(UTC)
        stages = [
            ("load_config", lambda: load_config(path)),
            ("resolve", lambda: resolve(kept["load_config"])),  # type: ignore[arg-type]
            (
                "plan horizon",
                lambda: (
                    plan(
                        kept["load_config"],  # type: ignore[arg-type]
                        now - timedelta(hours=1),
                        now + HORIZON,
                        resolved=kept["resolve"],  # type: ignore[arg-type]
                    )
                    + plan_digests(
                        kept["load_config"],  # type: ignore[arg-type]
                        now,
                        now + HORIZON,
                        resolved=kept["resolve"],  # type: ignore[arg-type]
                        acknowledged=no_acknowledgements,
                    )
                ),
            ),
            ("plan_deliveries", lambda: plan_deliveries(kept["plan horizon"])),  # type: ignore[arg-type]
        ]
        for name, stage in stages:
            tracemalloc.reset_peak()
            before, _ = tracemalloc.get_traced_memory()
            kept[name] = stage()
            after, peak = tracemalloc.get_traced_memory()
            print(
                f"{name:16} keeps {(after - before) / 2**20:8.1f} MiB, "
                f"peak during {(peak - before) / 2**20:8.1f} MiB above the start of the stage"
            )
        snap = tracemalloc.take_snapshot()
        print(f"\ntop {top} allocation sites alive at the end (all stages kept):")
        for stat in snap.compare_to(base, "lineno")[:top]:
            size = stat.size_diff / 2**20
            print(f"  {size:8.1f} MiB {stat.count_diff:>10,} blocks  {stat.traceback}")
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--holders", action="store_true", help="in-process tracemalloc report")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    if args.holders:
        for n in args.sizes:
            print(f"== {n:,} milestones")
            holders(n, args.top)
        return
    print(
        f"{'milestones':>10} {'YAML MB':>8} {'ready s':>8} {'CPU s':>6} {'RSS ready':>10} "
        f"{'peak@ready':>10} {'RSS +5s':>8} {'peak +5s':>9}  (MiB)"
    )
    for n in args.sizes:
        f = measure_daemon(n, args.timeout)
        print(
            f"{n:>10,} {f['yaml_mb']:>8.1f} {f['ready_s']:>8.2f} {f['cpu_s']:>6.1f} "
            f"{f['rss_ready_mib']:>10.0f} "
            f"{f['hwm_ready_mib']:>10.0f} {f['rss_settled_mib']:>8.0f} {f['peak_mib']:>9.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
