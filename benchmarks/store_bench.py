"""Store throughput: bulk reconciliation inserts and claims, on SQLite and PostgreSQL.

Usage: ``python -m benchmarks.store_bench [N] [URL ...]``. Default N = 400,000
deliveries (100,000 milestones, 4 reminders each, one channel) and the URLs are a
temporary SQLite file plus ``TMINUS_TEST_DATABASE_URL`` when set (a scratch
database is created on that server and dropped afterwards).

Measures, per backend: planning the deliveries (pure), ``reconcile`` against an
empty store, ``Store.apply`` (one transaction), ``open_deliveries`` over all of
them, a second ``reconcile`` + ``apply`` with nothing changed, and draining 20,000
of them with ``claim_due`` in batches of 100.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine

from scheduler.db.engine import normalize_url
from scheduler.durations import Duration
from scheduler.model import Milestone, Reminder
from scheduler.reconcile import plan_deliveries, reconcile
from scheduler.store import Store

NOW = datetime(2026, 3, 1, tzinfo=UTC)
OFFSETS = tuple(Duration.parse(o) for o in ("30d", "7d", "1d", "0"))


def reminders(n_deliveries: int) -> list[Reminder]:
    out: list[Reminder] = []
    for i in range((n_deliveries + len(OFFSETS) - 1) // len(OFFSETS)):
        m = Milestone(id=f"m{i:06d}", title=f"Milestone {i}", notify=("hook",))
        at = NOW + timedelta(days=31, seconds=i)
        out.extend(Reminder(m, at, o, o.subtract_from(at), ("hook",)) for o in OFFSETS)
    return out[:n_deliveries]


def timed(label: str, n: int, fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    print(f"  {label:<34} {elapsed:7.2f} s  {n / elapsed:>10,.0f} rows/s")
    return result


def bench(url: str, n: int) -> None:
    store = Store.open(url)
    store.upgrade()
    window = (NOW - timedelta(hours=1), NOW + timedelta(days=62))
    rems = reminders(n)
    planned = timed("plan_deliveries", n, lambda: plan_deliveries(rems))
    actions = timed(
        "reconcile (empty store)",
        n,
        lambda: reconcile(
            planned, {}, now=NOW, window_start=window[0], window_end=window[1], planned_through=None
        ),
    )
    timed("Store.apply (insert)", n, lambda: store.apply(actions, now=NOW))
    stored = timed("Store.open_deliveries", n, store.open_deliveries)
    again = timed(
        "reconcile (nothing changed)",
        n,
        lambda: reconcile(
            planned,
            stored,
            now=NOW,
            window_start=window[0],
            window_end=window[1],
            planned_through=NOW,
        ),
    )
    assert again.empty, "a second reconciliation should change nothing"
    claim_n = min(n, 20_000)
    later = NOW + timedelta(days=62)

    def drain() -> int:
        taken = 0
        while taken < claim_n:
            batch = store.claim_due(
                now=later, worker="bench", lease=timedelta(seconds=30), limit=100
            )
            if not batch:
                break
            taken += len(batch)
        return taken

    taken = timed(f"claim_due x{claim_n // 100} (limit 100)", claim_n, drain)
    assert taken == claim_n
    store.close()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 400_000
    urls = sys.argv[2:]
    scratch: tuple[str, str] | None = None
    with tempfile.TemporaryDirectory() as tmp:
        if not urls:
            urls = [f"sqlite:///{Path(tmp) / 'bench.db'}"]
            server = os.environ.get("TMINUS_TEST_DATABASE_URL")
            if server:
                name = f"tminus_bench_{secrets.token_hex(4)}"
                admin = create_engine(normalize_url(server), isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
                scratch = (server, name)
                urls.append(
                    normalize_url(server).set(database=name).render_as_string(hide_password=False)
                )
        try:
            for url in urls:
                print(f"{normalize_url(url).get_backend_name()}: {n:,} deliveries")
                bench(url, n)
        finally:
            if scratch is not None:
                admin = create_engine(normalize_url(scratch[0]), isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{scratch[1]}" WITH (FORCE)')


if __name__ == "__main__":
    main()
