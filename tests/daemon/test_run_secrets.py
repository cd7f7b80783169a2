"""No header secret in history, the API, logs or notify-test, on a real ``tminus run``."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.daemon.conftest import PLACEHOLDER, webhook_config
from tests.support.daemon import iso_in, tminus
from tests.support.receiver import Received, Receiver, Response
from tests.support.secrets import assert_no_secret

TOKEN = "tminus-e2e-bearer-0123456789abcdef"
API_KEY = "apikey-e2e-9876543210"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "X-Api-Key": API_KEY}


def echo_or_redirect(req: Received) -> Response:
    # A chatty receiver that repeats the request's headers in its 400 answer, and a
    # moved one whose URL path ("/redirect") is a word of its own error text.
    if req.path.endswith("/redirect"):
        return Response(301, "moved: redirected elsewhere", {"Location": "/elsewhere"})
    return Response(400, f"bad request; you sent {req.headers}")


def config(url: str, milestones: list[dict[str, Any]]) -> dict[str, Any]:
    doc = webhook_config(
        url + "/hook",
        milestones,
        channel={"headers": HEADERS},
        extra_channels={"mover": {"type": "webhook", "url": url + "/redirect"}},
    )
    doc["defaults"]["notify"] = ["audit", "mover"]
    return doc


def test_header_secrets_never_shown(make_daemon) -> None:
    receiver = Receiver(echo_or_redirect).start()
    try:
        _check(receiver, make_daemon)
    finally:
        receiver.stop()


def _check(receiver: Receiver, make_daemon) -> None:
    d = make_daemon(config(receiver.url, PLACEHOLDER)).start()
    d.reload_with(config(receiver.url, [{"id": "due", "title": "Due soon", "at": iso_in(2)}]))
    d.wait_statuses({"dead": 2}, timeout=30)
    hook = next(r for r in receiver.requests if r.path == "/hook")
    assert hook.headers["authorization"] == f"Bearer {TOKEN}"  # it was sent, and echoed
    history = d.history()
    api = httpx.get(f"{d.base}/api/deliveries", params={"status": "dead"}, timeout=5).json()
    d.stop()
    shown = {
        "history --json": json.dumps(history),
        "/api/deliveries": json.dumps(api),
        "logs": d.log(),
    }
    test = tminus("notify-test", "audit", "-c", str(d.config))
    test_json = tminus("notify-test", "audit", "-c", str(d.config), "--json")
    assert test.returncode == 1 and test_json.returncode == 1
    shown["notify-test"] = test.stdout + test.stderr
    shown["notify-test --json"] = test_json.stdout + test_json.stderr
    audit = next(r for r in history if r["channel"] == "audit")
    assert "you sent" in json.dumps(audit)  # the receiver's answer is kept, scrubbed
    assert "***" in json.dumps(audit)
    for where, text in shown.items():
        assert TOKEN not in text, f"the bearer token leaked into {where}"
        assert API_KEY not in text, f"a header value leaked into {where}"
        assert_no_secret(text, [TOKEN, API_KEY, f"Bearer {TOKEN}"])
    mover = next(r for r in history if r["channel"] == "mover")
    words = json.dumps(mover)
    assert "redirected" in words and "***ed" not in words, words
