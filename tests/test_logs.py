"""Logging: text and JSON lines, structured fields, secrets redacted everywhere, tracebacks."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from scheduler.logs import JsonFormatter, Redactor, TextFormatter, configure, fields, redacting
from tests.support.secrets import assert_no_secret

HOOK = "https://hooks.example.org/services/T0SECRET/B0SECRET/tokentokentoken"
SIGNING = "whsec_c2VjcmV0LXNpZ25pbmcta2V5LWZvci10ZXN0cw=="
# 2019-08-02 00:00:00.250 in Brussels: the withdrawal from the INF Treaty takes effect.
CREATED = datetime(2019, 8, 1, 22, 0, 0, 250_000, tzinfo=UTC).timestamp()


class Captured:
    """A logger of its own that writes formatted lines to a buffer."""

    def __init__(self, formatter: logging.Formatter, redactor: Redactor | None) -> None:
        self.buffer = io.StringIO()
        handler = logging.StreamHandler(self.buffer)
        handler.setFormatter(formatter)
        if redactor is not None:
            handler.addFilter(redactor)
        self.logger = logging.getLogger(f"tminus.test.{id(self)}")
        self.logger.handlers = [handler]
        self.logger.propagate = False
        self.logger.setLevel(logging.DEBUG)

    def log(self, level: int, msg: str, *args: Any, exc_info: Any = None, extra: Any = None) -> str:
        """Log one event (created at :data:`CREATED`) and return what was written."""
        start = self.buffer.tell()
        name = self.logger.name
        record = self.logger.makeRecord(name, level, "f.py", 1, msg, args, exc_info, extra=extra)
        record.created = CREATED
        self.logger.handle(record)
        return self.buffer.getvalue()[start:].removesuffix("\n")


def _failure(message: str) -> Any:
    try:
        raise RuntimeError(message)
    except RuntimeError:
        return sys.exc_info()


class Secrets:
    """What a redactor's owner says is secret now (the daemon's service, in production)."""

    def __init__(self, *values: str) -> None:
        self.values = list(values)

    def __call__(self) -> list[str]:
        return self.values


def _redactor(*secrets: str) -> Redactor:
    return Redactor(Secrets(*secrets))


def test_fields_drop_missing_values() -> None:
    text = Captured(TextFormatter(), None)
    extra = fields(milestone="us-notice", delivery=None, attempt=2)
    line = text.log(logging.INFO, "delivery sent", extra=extra)
    assert line.endswith(" delivery sent  milestone=us-notice attempt=2")
    assert "delivery=" not in line


def test_text_line_has_time_level_event_and_fields() -> None:
    text = Captured(TextFormatter(), None)
    extra = fields(milestone="withdrawal-effective", title="INF Treaty", empty="", late=False)
    line = text.log(logging.WARNING, "delivery sent", extra=extra)
    assert line == (
        "2019-08-01T22:00:00.250Z WARNING delivery sent  milestone=withdrawal-effective "
        'title="INF Treaty" empty="" late=False'
    )
    assert text.log(logging.INFO, "stopped") == "2019-08-01T22:00:00.250Z INFO    stopped"


def test_text_line_formats_arguments_and_appends_the_traceback() -> None:
    text = Captured(TextFormatter(), None)
    line = text.log(logging.ERROR, "failed %d times", 3, exc_info=_failure("boom"))
    first, *rest = line.splitlines()
    assert first == "2019-08-01T22:00:00.250Z ERROR   failed 3 times"
    assert rest[0] == "Traceback (most recent call last):"
    assert rest[-1] == "RuntimeError: boom"


def test_json_line_is_one_document_with_the_fields() -> None:
    as_json = Captured(JsonFormatter(), None)
    due = datetime(2019, 8, 2, tzinfo=UTC)
    extra = fields(milestone="withdrawal-effective", attempt=1, due=due, title="Genève – INF")
    doc = json.loads(as_json.log(logging.INFO, "delivery sent", extra=extra))
    assert doc == {
        "ts": "2019-08-01T22:00:00.250Z",
        "level": "info",
        "logger": as_json.logger.name,
        "event": "delivery sent",
        "milestone": "withdrawal-effective",
        "attempt": 1,
        "due": "2019-08-02 00:00:00+00:00",
        "title": "Genève – INF",
    }
    assert "Genève – INF" in as_json.buffer.getvalue()  # not \\u-escaped


def test_json_line_carries_the_exception() -> None:
    as_json = Captured(JsonFormatter(), None)
    line = as_json.log(logging.ERROR, "dispatch failed", exc_info=_failure("boom"))
    assert "\n" not in line
    doc = json.loads(line)
    assert doc["level"] == "error"
    assert doc["exception"].startswith("Traceback (most recent call last):")
    assert doc["exception"].endswith("RuntimeError: boom")


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()], ids=["text", "json"])
def test_secrets_are_redacted_in_message_fields_and_exception(
    formatter: logging.Formatter,
) -> None:
    log = Captured(formatter, _redactor(HOOK, SIGNING, SIGNING.removeprefix("whsec_")))
    lines = [
        log.log(logging.INFO, f"posting to {HOOK}"),
        log.log(logging.INFO, "posting to %s with %s", HOOK, SIGNING),
        log.log(logging.INFO, "answer", extra=fields(url=HOOK, body=f"echo {SIGNING}", n=3)),
        log.log(logging.ERROR, "send failed", exc_info=_failure(f"cannot reach {HOOK}")),
    ]
    output = "\n".join(lines)
    assert_no_secret(output, [HOOK, SIGNING, SIGNING.removeprefix("whsec_")])
    assert output.count("***") == 6
    kept = '"n": 3' if isinstance(formatter, JsonFormatter) else " n=3"
    assert kept in lines[2]  # other values are left alone
    assert "RuntimeError: cannot reach ***" in output


def test_the_longest_secret_goes_first() -> None:
    # The signing key without its prefix is a secret inside the longer one: replacing it
    # first would leave "whsec_***", and a URL's host would survive a shorter secret.
    key = SIGNING.removeprefix("whsec_")
    text = Captured(TextFormatter(), _redactor(key, SIGNING, "tokentokentoken", HOOK))
    assert text.log(logging.INFO, f"{SIGNING} {HOOK}").endswith("INFO    *** ***")


def test_a_reload_replaces_the_secrets() -> None:
    source = Secrets("old-secret-value")
    redactor = Redactor(source)
    text = Captured(TextFormatter(), redactor)
    assert text.log(logging.INFO, "old-secret-value").endswith(" ***")
    source.values = ["new-secret-value"]
    assert text.log(logging.INFO, "old-secret-value new-secret-value").endswith(
        " old-secret-value ***"
    )
    assert redactor.scrub("new-secret-value") == "***"


def test_tiny_and_empty_secrets_are_ignored() -> None:
    # Three characters would blank out ordinary words all over the log.
    text = Captured(TextFormatter(), _redactor("", "abc"))
    assert text.log(logging.INFO, "abc and abcd").endswith(" abc and abcd")


@pytest.fixture
def root_logging() -> Iterator[None]:
    """configure() sets up the root logger; put back what pytest had."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    noisy = {name: logging.getLogger(name).level for name in ("httpx", "apscheduler")}
    yield
    root.handlers = handlers
    root.setLevel(level)
    for name, old in noisy.items():
        logging.getLogger(name).setLevel(old)


@pytest.mark.usefixtures("root_logging")
def test_configure_picks_the_format_and_level(capsys: pytest.CaptureFixture[str]) -> None:
    configure(fmt="json", level="debug")
    configure(fmt="json", level="debug")  # again: still one handler
    root = logging.getLogger()
    assert len(root.handlers) == 1
    assert root.level == logging.DEBUG
    logging.getLogger("tminus.test").debug("hello", extra=fields(n=1))
    doc = json.loads(capsys.readouterr().err)
    assert (doc["event"], doc["level"], doc["n"]) == ("hello", "debug", 1)

    configure(fmt="text", level="chatty")  # an unknown level falls back to INFO
    assert root.level == logging.INFO
    logging.getLogger("tminus.test").info("hello")
    assert capsys.readouterr().err.rstrip("\n").endswith(" INFO    hello")


@pytest.mark.usefixtures("root_logging")
def test_configure_quiets_loggers_that_print_request_urls(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure(fmt="text", level="debug")
    logging.getLogger("httpx").info(f"HTTP Request: POST {HOOK}")
    logging.getLogger("apscheduler").info("job ran")
    assert capsys.readouterr().err == ""


@pytest.mark.usefixtures("root_logging")
def test_redacting_covers_the_root_handlers_for_its_block_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure(fmt="text", level="info")
    log = logging.getLogger("tminus.test")
    with redacting(Secrets(HOOK)):
        log.info(f"posting to {HOOK}")
        assert capsys.readouterr().err.rstrip("\n").endswith(" posting to ***")
    log.info(f"posting to {HOOK}")  # the block ended: nothing is filtered any more
    assert capsys.readouterr().err.rstrip("\n").endswith(f" posting to {HOOK}")
    assert logging.getLogger().handlers[0].filters == []
