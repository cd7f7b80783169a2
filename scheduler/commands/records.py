"""``tminus history``, ``tminus redeliver`` and ``tminus db``: the delivery records.

Each opens the database named by ``--database-url`` / ``TMINUS_DATABASE_URL``;
``history`` and ``redeliver`` migrate it first if needed, so a fresh database
answers "nothing yet" rather than with a missing-table error. They only read,
though: a SQLite file that does not exist is reported and left uncreated (a
mistyped path must not leave an empty database behind); ``db upgrade`` creates it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scheduler.db.engine import normalize_url
from scheduler.db.rows import DeliveryRow
from scheduler.errors import NotFoundError, UsageError
from scheduler.model import DeliveryStatus
from scheduler.settings import Settings
from scheduler.store import Store
from scheduler.timekeeping import format_utc

ERROR_COLUMN_CHARS = 60


def _open(settings: Settings, *, migrate: bool = True) -> Store:
    store = Store.open(settings.database_url)
    if migrate:
        try:
            store.ensure_schema()
        except BaseException:
            store.close()
            raise
    return store


def _missing_sqlite(url: str) -> Path | None:
    """The path of a SQLite database file that does not exist yet, else ``None``."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:") or "mode=memory" in database:
        return None
    path = Path(database).expanduser()
    return None if path.exists() else path


def _no_database(path: Path) -> str:
    return (
        f"no database at {path}: nothing has been recorded yet — "
        "has `tminus run` started with this TMINUS_DATABASE_URL?"
    )


def _emit_json(document: Any) -> None:
    json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    lines = [headers, *rows]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def _when(moment: datetime | None) -> str:
    return "" if moment is None else format_utc(moment)


def _last_error(row: DeliveryRow) -> str:
    parts = [str(row.last_status_code)] if row.last_status_code is not None else []
    if row.last_error:
        parts.append(" ".join(row.last_error.split()))
    elif row.status in (DeliveryStatus.DEAD, DeliveryStatus.SKIPPED, DeliveryStatus.CANCELLED):
        parts.append(row.reason or "")
    text = " ".join(p for p in parts if p)
    return text if len(text) <= ERROR_COLUMN_CHARS else text[: ERROR_COLUMN_CHARS - 1] + "…"


def _status(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return DeliveryStatus(text.strip().lower()).value
    except ValueError:
        known = ", ".join(s.value for s in DeliveryStatus)
        raise UsageError(f"--status: unknown status {text!r} (one of {known})") from None


def history(args: argparse.Namespace, settings: Settings) -> int:
    """Deliveries from the database, newest first, with status, attempts and last error."""
    status = _status(args.status)
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    missing = _missing_sqlite(settings.database_url)
    if missing is not None:
        print(f"tminus history: {_no_database(missing)}", file=sys.stderr)
        rows: list[DeliveryRow] = []
    else:
        store = _open(settings)
        try:
            rows = store.history(status=status, milestone=args.milestone, limit=args.limit)
        finally:
            store.close()
    if args.json:
        _emit_json({"deliveries": [row.to_json() for row in rows]})
        return 0
    if not rows:
        filtered = status is not None or args.milestone is not None
        print("No deliveries match." if filtered else "No deliveries recorded yet.")
        return 0
    table = [
        [
            r.id,
            r.status.value + (" (late)" if r.late and r.status is DeliveryStatus.SENT else ""),
            str(r.attempts),
            _when(r.due_at),
            r.milestone_id,
            r.channel,
            _last_error(r),
        ]
        for r in rows
    ]
    print(_table(["ID", "STATUS", "ATTEMPTS", "DUE", "MILESTONE", "CHANNEL", "LAST ERROR"], table))
    return 0


def redeliver(args: argparse.Namespace, settings: Settings) -> int:
    """Put a dead, sent, skipped or cancelled delivery back in the queue, same id."""
    missing = _missing_sqlite(settings.database_url)
    if missing is not None:
        raise NotFoundError(f"no delivery {args.delivery_id!r}: {_no_database(missing)}")
    store = _open(settings)
    try:
        before = store.get_delivery(args.delivery_id)
        row = store.redeliver(args.delivery_id, now=datetime.now(UTC))
    finally:
        store.close()
    previous = before.status.value if before is not None else None
    if args.json:
        _emit_json({"delivery": row.to_json(), "previous_status": previous})
        return 0
    print(
        f"Queued {row.id} again ({previous} → {row.status.value}): "
        f"{row.milestone_id} to {row.channel}, same webhook-id; "
        "the daemon sends it at its next wake-up."
    )
    return 0


def db(args: argparse.Namespace, settings: Settings) -> int:
    """``db upgrade``: migrate to the newest revision; ``db current``: show the revision."""
    if args.db_command == "current" and _missing_sqlite(settings.database_url) is not None:
        # Looking must not create: a typo in the path would otherwise leave a new file.
        print("No revision: the database is empty (no file yet; run `tminus db upgrade`).")
        return 0
    store = _open(settings, migrate=False)
    try:
        head = store.head_revision()
        if args.db_command == "upgrade":
            before = store.current_revision()
            store.upgrade()
            now = store.current_revision()
            if before == now:
                print(f"Database already at revision {now} (head).")
            else:
                print(f"Database upgraded from {before or 'empty'} to revision {now} (head).")
            return 0
        current = store.current_revision()
    finally:
        store.close()
    if current is None:
        print("No revision: the database is empty (run `tminus db upgrade`).")
    elif current == head:
        print(f"{current} (head)")
    else:
        print(f"{current} (head is {head}: run `tminus db upgrade`)")
    return 0
