"""The database work of a burst, without the HTTP: claim a batch, record its outcomes.

``python -m benchmarks.store_burst [--db postgres|sqlite] [--count 10000] [--batch 32]``

Inserts ``count`` deliveries all due, then does what the daemon's database thread does
while they drain: claims of ``claim_batch`` rows (the daemon's 500) and outcome batches
of ``batch`` marks (what the recorder gathers while the previous batch is written),
each a ``sent`` with its attempt. Prints the CPU time of this process (the client side:
SQLAlchemy, the driver, tminus's rows) and the wall time, per delivery. CPU per
delivery is the figure a busy machine disturbs least; the server's own CPU is not in it.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from benchmarks.databases import DEFAULT_SERVER, create_postgres_database, drop_postgres_database
from scheduler.delivery.policy import CLAIM_BATCH
from scheduler.store import Mark, Store
from tests.support.deliveries import T0, many
from tests.support.store import LEASE, attempt, insert


def drain(store: Store, *, count: int, batch: int) -> dict[str, float]:
    """Claim and record ``count`` due deliveries; CPU and wall milliseconds per delivery."""
    insert(store, many(count, step=timedelta(0)))
    now = T0 + timedelta(seconds=1)
    done = 0
    cpu, wall = time.process_time(), time.perf_counter()
    while True:
        rows = store.claim_due(now=now, worker="w", lease=LEASE, limit=CLAIM_BATCH)
        if not rows:
            break
        for start in range(0, len(rows), batch):
            marks = [
                Mark("sent", r.id, "w", now, attempt=attempt(r.attempts), generation=r.attempts)
                for r in rows[start : start + batch]
            ]
            held = store.record(marks)
            assert all(held), "a claim was lost"
            done += len(marks)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert done == count, done
    return {"cpu_ms": cpu / count * 1000, "wall_ms": wall / count * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--server", default=DEFAULT_SERVER, help="PostgreSQL server URL")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=32, help="marks per outcome batch")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tminus-store-burst-") as tmp:
        name = None
        if args.db == "sqlite":
            url = f"sqlite:///{Path(tmp) / 'tminus.db'}"
        else:
            url, name = create_postgres_database(args.server)
        try:
            store = Store.open(url)
            store.upgrade()
            try:
                found = drain(store, count=args.count, batch=args.batch)
            finally:
                store.close()
        finally:
            if name is not None:
                drop_postgres_database(args.server, name)
    print(
        f"{args.db}: {args.count:,} claimed and recorded, outcome batches of {args.batch}:"
        f" CPU {found['cpu_ms']:.3f} ms, wall {found['wall_ms']:.3f} ms per delivery"
    )


if __name__ == "__main__":
    main()
