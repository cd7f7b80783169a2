"""``python -m benchmarks all``: tminus against bare libraries, one table with targets.

Starts one loopback receiver in its own process, then for each database a real
``tminus run`` and, right after it in the same run, its baseline (a bare
``httpx.AsyncClient``, a bare APScheduler), and prints every figure beside its baseline
with the ratio and whether the target is met. The machine is shared and noisy, so only
the comparison within one run means much; ``--repeat`` runs everything several times
and reports the medians. Targets live here, not in timed tests.

    python -m benchmarks all                     # SQLite and PostgreSQL, default sizes
    python -m benchmarks all --db sqlite --burst 2000 --repeat 3
    python -m benchmarks burst --db postgres     # one scenario

Other scripts in this package measure other things (``check_100k``, ``startup``, ``memory``,
``plan_100k``, ``store_bench``, ``soak``).
"""

from __future__ import annotations

import argparse
import os
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks import scenarios
from benchmarks.databases import DEFAULT_SERVER
from benchmarks.receiver import ReceiverProcess
from benchmarks.scenarios import Database, Figures

BURST_RATIO = {"sqlite": 0.85, "postgres": 0.75}  # deliveries/s over the bare client's
LATENESS_MARGIN_MS = 5.0  # p99 within this of the bare APScheduler's
FAIRNESS_P99_MS = 100.0  # channel B's p99 while channel A drains a burst


@dataclass(frozen=True)
class Line:
    """One row of the table."""

    what: str
    tminus: str
    baseline: str
    ratio: str
    target: str
    met: bool


def _median(runs: list[Figures], side: str, key: str) -> float:
    return statistics.median(getattr(f, side)[key] for f in runs)


def burst_line(db: str, runs: list[Figures], count: int) -> Line:
    rate, base = _median(runs, "tminus", "rate"), _median(runs, "baseline", "rate")
    rss = _median(runs, "tminus", "rss_mib")
    cpu, base_cpu = _median(runs, "tminus", "cpu_ms"), _median(runs, "baseline", "cpu_ms")
    need = BURST_RATIO[db]
    return Line(
        f"{count:,} due at once, one webhook, {db}",
        f"{rate:.0f}/s, CPU {cpu:.2f} ms each (peak RSS {rss:.0f} MiB)",
        f"bare httpx c=64: {base:.0f}/s, CPU {base_cpu:.2f} ms each",
        f"{rate / base:.2f}x",
        f">= {need:.2f}x",
        rate / base >= need,
    )


def lateness_line(db: str, runs: list[Figures], count: int, spread: float) -> Line:
    p99, base = _median(runs, "tminus", "p99"), _median(runs, "baseline", "p99")
    p50, worst = _median(runs, "tminus", "p50"), _median(runs, "tminus", "max")
    return Line(
        f"lateness, {count:,} over {spread:g} s, {db}",
        f"p50 {p50:.1f} p99 {p99:.1f} max {worst:.0f} ms",
        f"bare APScheduler+httpx: p99 {base:.1f} ms",
        f"{p99 - base:+.1f} ms",
        f"p99 <= baseline + {LATENESS_MARGIN_MS:g} ms",
        p99 <= base + LATENESS_MARGIN_MS,
    )


def fairness_line(db: str, runs: list[Figures], burst_count: int, count: int) -> Line:
    p99, base = _median(runs, "tminus", "p99"), _median(runs, "baseline", "p99")
    p50, a_rate = _median(runs, "tminus", "p50"), _median(runs, "tminus", "a_rate")
    cpu50, cpu99 = _median(runs, "tminus", "cpu_p50"), _median(runs, "tminus", "cpu_p99")
    cpu = _median(runs, "tminus", "cpu_ms")
    return Line(
        f"channel B ({count}) while A drains {burst_count:,}, {db}",
        f"B p50 {p50:.1f} p99 {p99:.1f} ms (event-loop CPU p50 {cpu50:.1f} p99 {cpu99:.1f} ms);"
        f" A {a_rate:.0f}/s, CPU {cpu:.2f} ms each",
        f"receiver alone: B p99 {base:.1f} ms",
        f"{p99 - base:+.1f} ms",
        f"B p99 < {FAIRNESS_P99_MS:g} ms",
        p99 < FAIRNESS_P99_MS,
    )


def print_table(lines: list[Line]) -> None:
    header = Line("scenario", "tminus run", "baseline (same run)", "vs", "target", True)
    rows = [header, *lines]
    cells = [[r.what, r.tminus, r.baseline, r.ratio, r.target] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(5)]
    for n, (row, cell) in enumerate(zip(rows, cells, strict=True)):
        verdict = "result" if n == 0 else ("met" if row.met else "MISSED")
        print(" | ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)) + " | " + verdict)
        if n == 0:
            print("-+-".join("-" * w for w in widths) + "-+-------")


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument("scenario", choices=["all", "burst", "lateness", "fairness"])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--server", default=DEFAULT_SERVER, help="PostgreSQL server URL")
    parser.add_argument("--burst", type=int, default=10_000, help="reminders due at once")
    parser.add_argument("--lateness", type=int, default=2_000, help="reminders spread out")
    parser.add_argument("--spread", type=float, default=20.0, help="seconds they spread over")
    parser.add_argument("--fair-a", type=int, default=5_000, help="channel A's burst")
    parser.add_argument("--fair-b", type=int, default=100, help="channel B's reminders")
    parser.add_argument("--fair-spread", type=float, default=10.0, help="seconds B spreads over")
    parser.add_argument("--lead", type=float, default=30.0, help="seconds for tminus to start")
    parser.add_argument("--repeat", type=int, default=1, help="runs per figure (medians)")
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    wanted = ["burst", "lateness", "fairness"] if args.scenario == "all" else [args.scenario]

    receiver = ReceiverProcess.start()
    lines: list[Line] = []
    try:
        for kind in kinds:
            db = Database(kind, args.server)
            plans: dict[str, tuple[Callable[[], Figures], Callable[[list[Figures]], Line]]] = {
                "burst": (
                    lambda db=db: scenarios.burst(receiver, db, args.burst, args.lead),
                    lambda runs, k=kind: burst_line(k, runs, args.burst),
                ),
                "lateness": (
                    lambda db=db: scenarios.lateness(
                        receiver, db, args.lateness, args.spread, args.lead
                    ),
                    lambda runs, k=kind: lateness_line(k, runs, args.lateness, args.spread),
                ),
                "fairness": (
                    lambda db=db: scenarios.fairness(
                        receiver, db, args.fair_a, args.fair_b, args.fair_spread, args.lead
                    ),
                    lambda runs, k=kind: fairness_line(k, runs, args.fair_a, args.fair_b),
                ),
            }
            for name in wanted:
                run, line = plans[name]
                runs = []
                for i in range(args.repeat):
                    runs.append(run())
                    print(f"# {name} {kind} run {i + 1}: {runs[-1]}", flush=True)
                lines.append(line(runs))
    finally:
        receiver.stop()
    load = os.getloadavg()
    print(
        f"\n{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f};"
        f" medians of {args.repeat} run(s)\n"
    )
    print_table(lines)


if __name__ == "__main__":
    main()
