"""``tminus notify-test`` to an apprise channel and to templated channels, on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from scheduler.cli import main
from tests.support.receiver import Response, running_receiver
from tests.support.secrets import assert_no_secret

SECRET = "whsec_dG1pbnVzLW5vdGlmeS10ZXN0LWtleS0wMDAx"


def _write(tmp_path: Path, channel: str) -> Path:
    config = tmp_path / "milestones.yaml"
    config.write_text(
        "version: 1\n"
        "timezone: Europe/Brussels\n"
        "defaults: {remind: [7d], notify: [x]}\n"
        f"channels:\n  x:\n{channel}"
        "milestones:\n  - {id: past, title: Long ago, at: 2019-02-02}\n",
        encoding="utf-8",
    )
    return config


def test_apprise_sample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with running_receiver(Response(200, b"ok")) as receiver:
        url = receiver.url.replace("http://", "json://") + "/push/s3cret-t0pic"
        config = _write(tmp_path, f"    type: apprise\n    urls: ['{url}']\n")
        assert main(["notify-test", "x", "-c", str(config)]) == 0
        [req] = receiver.requests
    out = capsys.readouterr().out
    assert out.startswith("x: - ok")
    assert "INF Treaty withdrawal takes effect (tminus test message)" in req.json()["title"]
    assert req.json()["message"].startswith("In 7 days · ")
    assert_no_secret(out, [url, "/push/s3cret-t0pic"])


def test_apprise_refusal_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with running_receiver(Response(503, b"down")) as receiver:
        url = receiver.url.replace("http://", "form://") + "/push/s3cret-t0pic"
        config = _write(tmp_path, f"    type: apprise\n    urls: ['{url}']\n")
        assert main(["notify-test", "x", "-c", str(config), "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["type"] == "apprise"
    assert document["reason"] == "not_delivered" and document["retryable"] is True
    assert "s3cret" not in json.dumps(document)


def test_templated_slack_sample(tmp_path: Path) -> None:
    with running_receiver(Response(200, b"ok")) as receiver:
        channel = (
            "    type: slack\n"
            f"    url: {receiver.url}/services/T0/B0/slacksecret\n"
            "    template: '{{ countdown }}: *{{ milestone.title }}* ({{ reminder.label }})'\n"
        )
        assert main(["notify-test", "x", "-c", str(_write(tmp_path, channel))]) == 0
        [req] = receiver.requests
    assert req.json() == {
        "text": "T-7d: *INF Treaty withdrawal takes effect (tminus test message)* (7 days before)"
    }


def test_templated_webhook_sample_is_signed(tmp_path: Path) -> None:
    with running_receiver(Response(202)) as receiver:
        channel = (
            "    type: webhook\n"
            f"    url: {receiver.url}/enqueue\n"
            f"    secret: {SECRET}\n"
            '    body_template: \'{"summary": {{ text | tojson }}, "id": "{{ delivery_id }}"}\'\n'
        )
        assert main(["notify-test", "x", "-c", str(_write(tmp_path, channel))]) == 0
        [req] = receiver.requests
    body = Webhook(SECRET).verify(req.body, req.headers)
    assert body["id"] == req.headers["webhook-id"]
    assert body["summary"].startswith("T-7d: INF Treaty withdrawal takes effect")
