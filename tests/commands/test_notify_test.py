"""``tminus notify-test`` against loopback receivers, through the real CLI entry point."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from scheduler.cli import main
from tests.support.receiver import Receiver, Response, running_receiver
from tests.support.secrets import assert_no_secret

SECRET = "whsec_dGVzdC1zaWduaW5nLXNlY3JldC1mb3Itbm90aWZ5"
SLACK_PATH = "/services/T0SECRET/B0SECRET/notifytestslacktoken"


@pytest.fixture(scope="module")
def shared() -> Iterator[Receiver]:
    with running_receiver(Response(200, "ok")) as r:
        yield r


@pytest.fixture
def receiver(shared: Receiver) -> Receiver:
    shared.requests.clear()
    shared.script.clear()
    return shared


def write_config(tmp_path: Path, receiver: Receiver, *, future: bool = True) -> Path:
    soon = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    when = soon if future else "2019-08-02"
    path = tmp_path / "milestones.yaml"
    path.write_text(
        f"""\
version: 1
timezone: America/New_York
defaults:
  remind: [7d, 0]
  notify: [newsroom, audit]
channels:
  newsroom:
    type: slack
    url: {receiver.url}{SLACK_PATH}
  audit:
    type: webhook
    url: {receiver.url}/audit
    secret: {SECRET}
    headers: {{X-Team: arms-control}}
milestones:
  - id: past
    title: Long ago
    at: 2019-02-02
  - id: soon
    title: Treaty review conference opens
    at: {when}
    notify: [audit]
""",
        encoding="utf-8",
    )
    return path


def test_webhook_sample_is_signed_and_reported(
    tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, receiver)
    assert main(["notify-test", "audit", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("audit: 200 ok ok\n")
    assert "T-7d: Treaty review conference opens" in out
    [req] = receiver.requests
    body = Webhook(SECRET).verify(req.body, req.headers)
    assert body["milestone"]["id"] == "soon"
    assert req.headers["webhook-id"].startswith("msg_test_")  # never the real delivery's id
    assert req.headers["x-team"] == "arms-control"


def test_slack_sample_falls_back_to_any_upcoming_reminder(
    tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, receiver)
    assert main(["notify-test", "newsroom", "-c", str(config)]) == 0
    [req] = receiver.requests
    assert req.path == SLACK_PATH
    assert req.json()["text"].startswith("T-7d: Treaty review conference opens")
    assert_no_secret(capsys.readouterr().out, [receiver.url + SLACK_PATH])


def test_builtin_sample_when_nothing_is_upcoming(
    tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, receiver, future=False)
    assert main(["notify-test", "newsroom", "-c", str(config), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is True and result["status_code"] == 200 and result["reason"] == "ok"
    assert result["text"].startswith(
        "T-7d: INF Treaty withdrawal takes effect (tminus test message)"
    )
    blocks = receiver.requests[0].json()["blocks"]
    assert blocks[1]["text"]["text"].startswith("*In 7 days* · ")
    assert blocks[1]["text"]["text"].splitlines()[0].endswith(("EST", "EDT"))


def test_failure_exits_1_with_the_receivers_answer(
    tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver.script.append(Response(410, "channel_is_archived"))
    config = write_config(tmp_path, receiver)
    assert main(["notify-test", "newsroom", "-c", str(config)]) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0] == "newsroom: 410 gone channel_is_archived"
    assert "archived" in lines[1]
    assert_no_secret(captured.out + captured.err, [receiver.url + SLACK_PATH, SECRET])


def test_json_failure(
    tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver.script.append(Response(503, "down", {"Retry-After": "30"}))
    config = write_config(tmp_path, receiver)
    assert main(["notify-test", "audit", "-c", str(config), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["reason"] == "server_error" and result["retry_after"] == 30.0
    assert result["retryable"] is True and result["body"] == "down"


def test_unknown_channel_lists_the_known_ones(
    tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, receiver)
    assert main(["notify-test", "nope", "-c", str(config)]) == 1
    err = capsys.readouterr().err
    assert "no channel named 'nope'" in err and "audit, newsroom" in err
    assert receiver.requests == []


def test_moment_only_sample_tells_one_story(
    tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    # Issue 13: a header "🏁 X", a body "Reached in 150 days" and a fallback "Now: X".
    far = (datetime.now(UTC) + timedelta(days=150, minutes=10)).isoformat(timespec="seconds")
    path = tmp_path / "moment.yaml"
    path.write_text(
        f"""\
version: 1
defaults: {{remind: ["0"], notify: [newsroom]}}
channels:
  newsroom: {{type: slack, url: "{receiver.url}{SLACK_PATH}"}}
milestones:
  - {{id: far, title: Far deadline, at: "{far}"}}
""",
        encoding="utf-8",
    )
    assert main(["notify-test", "newsroom", "-c", str(path)]) == 0
    out = capsys.readouterr().out
    message = receiver.requests[0].json()
    header = message["blocks"][0]["text"]["text"]
    status = message["blocks"][1]["text"]["text"].split(" · ")[0]
    assert (header, status) == ("⏳ Far deadline", "*In 150 days*")
    assert message["text"].startswith("T-150d: Far deadline")
    assert "message: T-150d: Far deadline" in out
