"""The measured scenarios: a real ``tminus run`` and its baseline, side by side.

Each function starts what it measures (the daemon on a fresh SQLite file or PostgreSQL
database, then the baseline in its own process) against one shared receiver process,
and returns a :class:`Figures` of plain numbers; :mod:`benchmarks.__main__` compares
them with the targets and prints the table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.cputime import CpuTimeline
from benchmarks.databases import create_postgres_database, drop_postgres_database
from benchmarks.receiver import Arrival, ReceiverProcess
from tests.daemon.conftest import SECRET, write_config
from tests.support.daemon import DaemonProcess

BASELINE_LEAD = 2.0  # seconds from the baseline process being up to its first due time


@dataclass
class Figures:
    """What one scenario measured: the daemon's figures and the baseline's."""

    tminus: dict[str, float] = field(default_factory=dict)
    baseline: dict[str, float] = field(default_factory=dict)


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..1) of ``values``; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def lateness_ms(arrivals: list[Arrival], path: str | None = None) -> list[float]:
    """Arrival minus ``reminder.due_at`` of each request (optionally only to ``path``)."""
    out = []
    for arrived, at, body in arrivals:
        if path is not None and not at.startswith(path):
            continue
        due = datetime.fromisoformat(json.loads(body)["reminder"]["due_at"]).timestamp()
        out.append((arrived - due) * 1000)
    return out


def spread_ms(late: list[float]) -> dict[str, float]:
    return {"p50": pct(late, 0.5), "p99": pct(late, 0.99), "max": max(late, default=float("nan"))}


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")


def _milestones(prefix: str, dues: list[float], channel: str) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{prefix}{i:05d}",
            "title": f"Deadline {prefix}{i}",
            "at": _iso(due),
            "notify": [channel],
        }
        for i, due in enumerate(dues)
    ]


def _config(url: str, channels: list[str], milestones: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "version": 1,
        "timezone": "UTC",
        "defaults": {"remind": ["0"], "notify": channels[:1], "catch_up": "1h"},
        "channels": {
            name: {"type": "webhook", "url": f"{url}/{name}", "secret": SECRET, "timeout": "10s"}
            for name in channels
        },
        "milestones": milestones,
    }


@dataclass
class Database:
    """Where the daemon keeps its state for one run: ``sqlite`` or ``postgres``."""

    kind: str
    server: str

    @contextmanager
    def url(self, workdir: Path) -> Iterator[str]:
        if self.kind == "sqlite":
            yield f"sqlite:///{workdir / 'tminus.db'}"
            return
        url, name = create_postgres_database(self.server)
        try:
            yield url
        finally:
            drop_postgres_database(self.server, name)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time ``pid`` has used so far (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def daemon_running(
    db: Database, config: dict[str, Any], *, first_due: float, late_ok: bool = False
) -> Iterator[DaemonProcess]:
    """A ``tminus run`` on ``config``, ready before ``first_due`` (else the run is void,
    unless ``late_ok``: a burst already due is still a burst)."""
    with tempfile.TemporaryDirectory(prefix="tminus-bench-") as tmp, db.url(Path(tmp)) as url:
        workdir = Path(tmp)
        path = workdir / "milestones.yaml"
        write_config(path, config)
        daemon = DaemonProcess(workdir=workdir, config=path, database_url=url)
        try:
            daemon.start(timeout=120)
            if time.time() > first_due and not late_ok:
                raise SystemExit(
                    f"tminus run was ready {time.time() - first_due:.1f} s after the first due"
                    " time: give it a longer --lead"
                )
            yield daemon
        finally:
            daemon.stop(timeout=60)


def _baseline(*args: Any) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.baselines", *map(str, args)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def burst(receiver: ReceiverProcess, db: Database, count: int, lead: float) -> Figures:
    """``count`` reminders due at one instant on one webhook channel."""
    figures = Figures()
    receiver.take()
    due = time.time() + lead
    config = _config(receiver.url, ["a"], _milestones("m", [due] * count, "a"))
    with daemon_running(db, config, first_due=due, late_ok=True) as daemon:
        assert daemon.proc is not None
        time.sleep(max(0.0, due - time.time()))
        began = time.time()  # ready after the due time: the burst starts now
        cpu = cpu_seconds(daemon.proc.pid)
        arrived = receiver.wait_for(count, timeout=lead + 300)
        # CPU per delivery: a figure the machine's other load disturbs far less than a rate.
        figures.tminus["cpu_ms"] = (cpu_seconds(daemon.proc.pid) - cpu) / arrived * 1000
        figures.tminus["rss_mib"] = _peak_rss_mib(daemon.proc.pid)
    arrivals = receiver.take()
    last = max(a for a, _, _ in arrivals)
    figures.tminus["rate"] = arrived / (last - began)
    figures.tminus["first_ms"] = (min(a for a, _, _ in arrivals) - due) * 1000
    figures.baseline = _baseline("burst", f"{receiver.url}/a", count, 64, BASELINE_LEAD)
    receiver.take()
    return figures


def lateness(
    receiver: ReceiverProcess, db: Database, count: int, spread: float, lead: float
) -> Figures:
    """``count`` reminders spread evenly over ``spread`` seconds: arrival minus due."""
    figures = Figures()
    receiver.take()
    start = time.time() + lead
    dues = [start + spread * i / count for i in range(count)]
    config = _config(receiver.url, ["a"], _milestones("m", dues, "a"))
    with daemon_running(db, config, first_due=start):
        receiver.wait_for(count, timeout=lead + spread + 120)
    figures.tminus = spread_ms(lateness_ms(receiver.take()))
    _baseline("lateness", f"{receiver.url}/a", count, spread, BASELINE_LEAD)
    figures.baseline = spread_ms(lateness_ms(receiver.take()))
    return figures


def fairness(
    receiver: ReceiverProcess,
    db: Database,
    burst_count: int,
    count: int,
    spread: float,
    lead: float,
) -> Figures:
    """Channel A drains ``burst_count`` due at once while channel B has ``count``
    reminders spread over ``spread`` seconds, both to one receiver: B's lateness."""
    figures = Figures()
    receiver.take()
    start = time.time() + lead
    dues_b = [start + spread * (i + 1) / count for i in range(count)]
    milestones = _milestones("a", [start] * burst_count, "a") + _milestones("b", dues_b, "b")
    config = _config(receiver.url, ["a", "b"], milestones)
    with daemon_running(db, config, first_due=start) as daemon:
        assert daemon.proc is not None
        pid = daemon.proc.pid
        with CpuTimeline(pid) as timeline:
            cpu = cpu_seconds(pid)
            receiver.wait_for(burst_count + count, timeout=lead + 300)
            cpu = cpu_seconds(pid) - cpu
    arrivals = receiver.take()
    figures.tminus = spread_ms(lateness_ms(arrivals, "/b"))
    drained = max(a for a, path, _ in arrivals if path.startswith("/a"))
    figures.tminus["a_rate"] = burst_count / (drained - start)
    # Lateness in the event loop's CPU: the work that went ahead of each of B's requests,
    # which the machine's other load disturbs far less than the wall-clock figure.
    in_cpu = [
        timeline.between_ms(arrived - late / 1000, arrived)
        for (arrived, _, _), late in zip(
            (a for a in arrivals if a[1].startswith("/b")), lateness_ms(arrivals, "/b"), strict=True
        )
    ]
    figures.tminus["cpu_p50"], figures.tminus["cpu_p99"] = pct(in_cpu, 0.5), pct(in_cpu, 0.99)
    figures.tminus["cpu_ms"] = cpu / (burst_count + count) * 1000
    _baseline("fairness", receiver.url, burst_count, count, spread, 64, BASELINE_LEAD)
    figures.baseline = spread_ms(lateness_ms(receiver.take(), "/b"))
    return figures
