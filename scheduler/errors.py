"""The exceptions tminus raises, in one tree, mapped to exit codes in one place.

TminusError                  exit 1 unless stated
├── ConfigError              one or more Problems, each with FILE:LINE:COL
├── UsageError               exit 2: the command line itself is wrong
├── NotFoundError            a milestone, channel or delivery that does not exist
├── DeliveryError            a send failed (notify-test)
└── StoreError               the database refused or is out of reach
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a config, located in its file."""

    file: str
    line: int  # 1-based; 0 when the problem has no position (an unreadable file)
    column: int  # 1-based
    message: str
    path: str = ""  # where in the document: milestones[3].remind[1]

    def __str__(self) -> str:
        where = f" (at {self.path})" if self.path else ""
        if self.line:
            return f"{self.file}:{self.line}:{self.column}: {self.message}{where}"
        return f"{self.file}: {self.message}{where}"


class TminusError(Exception):
    """Base of every expected error; the CLI prints it without a traceback."""

    exit_code = 1


class ConfigError(TminusError):
    """A config that cannot be used; carries every problem found, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.column))
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(TminusError):
    exit_code = 2


class NotFoundError(TminusError):
    pass


class DeliveryError(TminusError):
    pass


class StoreError(TminusError):
    pass


class DatabaseInUseError(StoreError):
    """Another ``tminus run`` owns this SQLite file (a SQLite file serves one daemon)."""
