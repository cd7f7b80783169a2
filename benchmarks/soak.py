"""Soak ``tminus run``: a steady trickle of reminders for a long while; watch for leaks.

Starts a real daemon on SQLite or on a fresh PostgreSQL database, a loopback webhook
receiver in its own process, a config with one milestone due every ``--every`` seconds
over the whole run, and a reload every ``--reload-minutes`` (each adds a small burst).
Every ``--report`` seconds it prints elapsed time, the daemon's RSS and open file
descriptors, deliveries so far and the lateness (arrival minus due) of the interval;
at the end a summary, including how many planned deliveries never arrived. Not run in
CI. Usage::

    python -m benchmarks.soak --minutes 30 --db sqlite
    python -m benchmarks.soak --minutes 10 --db postgres  # TMINUS_TEST_DATABASE_URL's server
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from benchmarks.databases import DEFAULT_SERVER, create_postgres_database, drop_postgres_database
from tests.daemon.conftest import write_config
from tests.support.daemon import DaemonProcess
from tests.support.plan_ids import planned_webhook_ids
from tests.support.receiver import Received, Receiver, Response

CHANNEL = "soak"
LEAD_S = 10.0  # for the daemon to start before the first reminder is due
GRACE_S = 60.0  # after the last due time, for the last deliveries to arrive
BURST = 20  # reminders each reload adds, due 30 s after it


def _serve(journal: str, conn: Connection) -> None:
    """The receiver process: answer 200 and append one JSON line per request."""
    out = open(journal, "a", buffering=1)  # noqa: SIM115 - open for the process's life

    def answer(req: Received) -> Response:
        body = req.json()
        due = body["reminder"]["due_at"]
        line = {"id": req.headers.get("webhook-id"), "due": due, "at": req.arrived}
        out.write(json.dumps(line) + "\n")
        return Response(200, b"ok")

    receiver = Receiver(answer).start()
    conn.send(receiver.url)
    conn.recv()  # blocks until the parent says stop (or closes the pipe)
    receiver.stop()


@dataclass
class Proc:
    """What /proc says about the daemon: resident memory (KiB) and open descriptors."""

    pid: int

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))


@dataclass
class Journal:
    """Reads the receiver's lines as they come; keeps every arrival."""

    path: Path
    offset: int = 0
    arrivals: list[tuple[str, float]] = field(default_factory=list)  # (id, lateness s)

    def read_new(self) -> list[float]:
        """Lateness of the requests that arrived since the last call."""
        with self.path.open() as f:
            f.seek(self.offset)
            chunk = f.read()
        complete = chunk[: chunk.rfind("\n") + 1]
        self.offset += len(complete.encode())
        fresh = []
        for line in complete.splitlines():
            row = json.loads(line)
            late = row["at"] - datetime.fromisoformat(row["due"]).timestamp()
            self.arrivals.append((row["id"], late))
            fresh.append(late)
        return fresh


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ms(values: list[float]) -> str:
    return f"p50 {_pct(values, 0.5) * 1000:7.1f} ms  p99 {_pct(values, 0.99) * 1000:7.1f} ms"


def _milestones(start: datetime, count: int, every: float, prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{prefix}{i:05d}",
            "title": f"Soak {prefix}{i}",
            "at": (start + timedelta(seconds=every * i)).isoformat(timespec="milliseconds"),
        }
        for i in range(count)
    ]


def _config(url: str, milestones: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "version": 1,
        "timezone": "UTC",
        "defaults": {"remind": ["0"], "notify": [CHANNEL], "catch_up": "1h"},
        "channels": {CHANNEL: {"type": "webhook", "url": url, "timeout": "5s"}},
        "milestones": milestones,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between reminders")
    parser.add_argument("--report", type=float, default=60.0, help="seconds between lines")
    parser.add_argument("--reload-minutes", type=float, default=5.0)
    parser.add_argument(
        "--server",
        default=DEFAULT_SERVER,
        help="PostgreSQL server for --db postgres (a fresh database is made and dropped)",
    )
    args = parser.parse_args()
    duration = args.minutes * 60.0

    with tempfile.TemporaryDirectory(prefix="tminus-soak-") as tmp:
        workdir = Path(tmp)
        journal_path = workdir / "received.jsonl"
        journal_path.touch()
        parent_end, child_end = multiprocessing.Pipe()
        receiver = multiprocessing.Process(
            target=_serve, args=(str(journal_path), child_end), daemon=True
        )
        receiver.start()
        if not parent_end.poll(30):
            raise SystemExit("the receiver did not start within 30 s")
        url = str(parent_end.recv())
        pg_name = None
        if args.db == "postgres":
            database_url, pg_name = create_postgres_database(args.server, "tminus_soak")
        else:
            database_url = f"sqlite:///{workdir / 'tminus.db'}"

        start = datetime.now(UTC) + timedelta(seconds=LEAD_S)
        milestones = _milestones(start, int(duration / args.every), args.every, "m")
        config_path = workdir / "milestones.yaml"
        write_config(config_path, _config(url, milestones))
        daemon = DaemonProcess(workdir=workdir, config=config_path, database_url=database_url)
        journal = Journal(journal_path)
        rss: list[int] = []
        fds: list[int] = []
        reloads = 0
        exit_code: int | None = None
        try:
            daemon.start(timeout=60)
            assert daemon.proc is not None
            proc = Proc(daemon.proc.pid)
            t0 = time.monotonic()
            rss.append(proc.rss_kib())
            fds.append(proc.fds())
            print(
                f"soak: {args.db}, {len(milestones)} reminders over {args.minutes:g} min, "
                f"a reload every {args.reload_minutes:g} min (+{BURST} each), "
                f"daemon pid {proc.pid}, start RSS {rss[0] / 1024:.1f} MiB, fds {fds[0]}",
                flush=True,
            )
            next_report = t0 + args.report
            next_reload = t0 + args.reload_minutes * 60
            window: list[float] = []
            end_by = t0 + LEAD_S + duration + GRACE_S
            while time.monotonic() < end_by:
                if daemon.proc.poll() is not None:
                    print(f"soak: the daemon exited {daemon.proc.returncode}", flush=True)
                    break
                window += journal.read_new()
                now = time.monotonic()
                if now >= next_reload and now < t0 + duration:
                    reloads += 1
                    at = datetime.now(UTC) + timedelta(seconds=30)
                    milestones += _milestones(at, BURST, 0.0, f"r{reloads:03d}-")
                    daemon.reload_with(_config(url, milestones), timeout=60)
                    next_reload += args.reload_minutes * 60
                if now >= next_report:
                    rss.append(proc.rss_kib())
                    fds.append(proc.fds())
                    print(
                        f"{now - t0:7.0f} s  RSS {rss[-1] / 1024:6.1f} MiB  fds {fds[-1]:3d}  "
                        f"delivered {len(journal.arrivals):5d}  last {len(window):4d}: "
                        f"{_ms(window)}",
                        flush=True,
                    )
                    window = []
                    next_report += args.report
                if now > t0 + LEAD_S + duration and len({i for i, _ in journal.arrivals}) >= len(
                    milestones
                ):
                    break  # everything planned has arrived
                time.sleep(0.5)
            if daemon.proc.poll() is None:
                rss.append(proc.rss_kib())
                fds.append(proc.fds())
            exit_code = daemon.stop(timeout=60)
        finally:
            daemon.close()
            parent_end.send("stop")
            receiver.join(10)
            if pg_name is not None:
                drop_postgres_database(args.server, pg_name)

        journal.read_new()
        planned = planned_webhook_ids(milestones, CHANNEL)
        received = {i for i, _ in journal.arrivals}
        lost = set(planned) - received
        unplanned = received - set(planned)
        lateness = [late for _, late in journal.arrivals]
        print(
            f"summary: {args.db}, {time.monotonic() - t0:.0f} s, {reloads} reloads, "
            f"daemon exit {exit_code}\n"
            f"  RSS MiB  start {rss[0] / 1024:.1f}  end {rss[-1] / 1024:.1f}  "
            f"max {max(rss) / 1024:.1f}\n"
            f"  fds      start {fds[0]}  end {fds[-1]}  max {max(fds)}\n"
            f"  deliveries {len(journal.arrivals)} requests, {len(received)} ids of "
            f"{len(planned)} planned; lost {len(lost)}, unplanned {len(unplanned)}, "
            f"repeats {len(journal.arrivals) - len(received)}\n"
            f"  lateness {_ms(lateness)}  max {max(lateness, default=0) * 1000:.1f} ms\n"
            f"  early    {sum(late < 0 for late in lateness)}",
            flush=True,
        )
        if lost or unplanned or exit_code != 0:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
