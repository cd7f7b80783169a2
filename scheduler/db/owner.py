"""One daemon per SQLite file: a lock held for the life of ``tminus run``.

A SQLite file serves one daemon (replicas need PostgreSQL). A second ``tminus run`` on
the same file would "release claims left by a previous run" that the first still holds
and send them twice, so it must refuse to start. The lock is an ``flock`` on the
database file itself: it is independent of SQLite's own POSIX record locks, so
``history``, ``ack`` and ``redeliver`` from other processes keep working, and the
kernel drops it the moment the holder dies (kill -9 included), so a crash never
leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from scheduler.errors import DatabaseInUseError


@contextlib.contextmanager
def owning(path: Path) -> Iterator[None]:
    """Hold the daemon lock on the SQLite file at ``path`` for the ``with`` block."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseInUseError(
                f"{path}: another tminus run is using this SQLite database; a SQLite file "
                "serves one daemon (stop the other one, or use PostgreSQL for replicas)"
            ) from None
        yield
    finally:
        os.close(fd)
