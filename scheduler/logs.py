"""Logging: one line per event on stderr, as text or JSON, with secrets redacted.

Events are logged as ``log.info("delivery sent", extra=fields(milestone=..., ...))``;
the fields become ``key=value`` pairs in text and keys in JSON. A redaction
filter (:func:`redacting`) replaces every configured secret (webhook URLs,
signing secrets, header values, tokens) wherever it appears, and third-party
loggers that print request URLs (httpx, httpcore, uvicorn's access log) are
kept quiet.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from scheduler.timekeeping import utc_iso_millis

_FIELDS = "tminus_fields"
REDACTED = "***"
_STD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


def fields(**values: Any) -> dict[str, Any]:
    """``extra=`` for a log call: structured fields of one event."""
    return {_FIELDS: {k: v for k, v in values.items() if v is not None}}


class Redactor(logging.Filter):
    """Replaces the secrets its ``source`` names in every record it filters.

    ``source`` is asked on each record, so whoever owns the config (the daemon's
    service) answers with what is in force; nothing global is changed at run time.
    """

    def __init__(self, source: Callable[[], Iterable[str]]) -> None:
        super().__init__()
        self._source = source
        self._seen: Iterable[str] | None = None
        self._ordered: tuple[str, ...] = ()

    def _secrets(self) -> tuple[str, ...]:
        """The source's secrets, longest first; ordered again only when the source
        hands out a new collection (a reload), not on every log line."""
        current = self._source()
        if current is not self._seen:
            self._seen, self._ordered = current, ordered_secrets(current)
        return self._ordered

    def scrub(self, text: str) -> str:
        return _replace(text, self._secrets())

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self._secrets()
        if not secrets:
            return True
        record.msg = _replace(record.getMessage(), secrets)
        record.args = None
        extra = getattr(record, _FIELDS, None)
        if extra:
            setattr(
                record,
                _FIELDS,
                {k: _replace(v, secrets) if isinstance(v, str) else v for k, v in extra.items()},
            )
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = _replace(text, secrets)
            record.exc_info = None
        return True


def ordered_secrets(secrets: Iterable[str]) -> tuple[str, ...]:
    """Unique secrets, longest first, so a URL is replaced before a shorter secret in it."""
    unique = {s for s in secrets if s and len(s) >= 4}
    return tuple(sorted(unique, key=len, reverse=True))


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every one of ``secrets`` replaced by ``***``."""
    return _replace(text, ordered_secrets(secrets))


def _replace(text: str, ordered: tuple[str, ...]) -> str:
    for secret in ordered:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


@contextlib.contextmanager
def redacting(source: Callable[[], Iterable[str]]) -> Iterator[Redactor]:
    """Redact ``source``'s secrets in every line the root logger's handlers write, for
    the life of the ``with`` block (a daemon's run, one command)."""
    redactor = Redactor(source)
    handlers = list(logging.getLogger().handlers)
    for handler in handlers:
        handler.addFilter(redactor)
    try:
        yield redactor
    finally:
        for handler in handlers:
            handler.removeFilter(redactor)


def _timestamp(record: logging.LogRecord) -> str:
    return utc_iso_millis(datetime.fromtimestamp(record.created, UTC))


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra: dict[str, Any] = getattr(record, _FIELDS, {})
        pairs = " ".join(f"{k}={_text_value(v)}" for k, v in extra.items())
        line = f"{_timestamp(record)} {record.levelname:<7} {record.getMessage()}"
        if pairs:
            line += f"  {pairs}"
        if record.exc_text:
            line += "\n" + record.exc_text
        elif record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        doc.update(getattr(record, _FIELDS, {}))
        if record.exc_text:
            doc["exception"] = record.exc_text
        elif record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str, ensure_ascii=False)


def _text_value(value: Any) -> str:
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if (" " in text or not text) else text


def silence(name: str) -> None:
    """Cut the logger ``name`` off from ours, for a library whose every line may carry a
    secret: not propagated and above every level, so neither our handlers nor Python's
    last-resort handler see it (the library can still capture its own lines)."""
    logger = logging.getLogger(name)
    logger.propagate = False
    logger.setLevel(logging.CRITICAL + 10)
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())


def configure(*, fmt: str = "text", level: str = "INFO") -> None:
    """Install the stderr handler on the root logger (idempotent)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if level.upper() in logging.getLevelNamesMapping() else "INFO")
    # These log full request URLs (which are secrets for webhooks) at INFO.
    # requests and urllib3 (under Apprise) log them at DEBUG.
    for noisy in (
        "httpx",
        "httpcore",
        "uvicorn.access",
        "apscheduler",
        "alembic",
        "watchfiles",
        "urllib3",
        "requests",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Apprise logs its URLs, tokens included, at every level: never into ours.
    silence("apprise")
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    logging.captureWarnings(True)
