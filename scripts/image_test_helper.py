#!/usr/bin/env python3
"""Helper of scripts/image-test.sh: a loopback webhook receiver and the small queries the
checks make. Standard library only: it runs on the host, outside any virtualenv."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def receive(port_file: str, record: str, lifetime: str) -> None:
    """Answer every POST 200 and append it to ``record``; stop after ``lifetime`` s."""
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            try:
                milestone = json.loads(body)["milestone"]["id"]
            except (ValueError, KeyError, TypeError):
                milestone = None
            line = {
                "path": self.path,
                "id": self.headers.get("webhook-id"),
                "milestone": milestone,
                "at": time.time(),
            }
            with lock, open(record, "a") as out:
                out.write(json.dumps(line) + "\n")
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(port_file + ".tmp", "w") as out:
        out.write(str(server.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    threading.Timer(float(lifetime), server.shutdown).start()
    server.serve_forever()


def received(record: str, path: str) -> None:
    """Print JSON {milestone id: times received} of the POSTs to ``path``."""
    try:
        with open(record) as lines:
            posts = [json.loads(line) for line in lines if line.strip()]
    except FileNotFoundError:
        posts = []
    print(json.dumps(Counter(p["milestone"] for p in posts if p["path"] == path)))


def _loopback(url: str) -> str:
    """The tests talk to the daemon on this host only."""
    if not url.startswith("http://127.0.0.1:"):
        raise SystemExit(f"not a loopback URL: {url}")
    return url


def status(url: str) -> None:
    """Print the HTTP status of a GET (0: no answer)."""
    try:
        with urllib.request.urlopen(_loopback(url), timeout=3) as answer:  # noqa: S310
            print(answer.status)
    except urllib.error.HTTPError as exc:
        print(exc.code)
    except OSError:
        print(0)


def get(url: str) -> None:
    with urllib.request.urlopen(_loopback(url), timeout=5) as answer:  # noqa: S310
        sys.stdout.write(answer.read().decode())


def log_has(path: str, event: str, *pairs: str) -> None:
    """Exit 0 if a JSON log line has this event (a prefix) and these key=value fields."""
    want = dict(pair.split("=", 1) for pair in pairs)
    with open(path, errors="replace") as lines:
        for line in lines:
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if not isinstance(doc, dict) or not str(doc.get("event", "")).startswith(event):
                continue
            if all(str(doc.get(k)) == v for k, v in want.items()):
                sys.exit(0)
    sys.exit(1)


def json_lines(path: str) -> None:
    """Exit 0 if the log is one JSON object per line (the image's TMINUS_LOG_FORMAT=json)."""
    with open(path, errors="replace") as lines:
        docs = [line for line in lines if line.strip()]
    try:
        ok = bool(docs) and all(isinstance(json.loads(line), dict) for line in docs)
    except ValueError:
        ok = False
    sys.exit(0 if ok else 1)


def free_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        print(probe.getsockname()[1])


def iso_in(seconds: str) -> None:
    """Print the UTC instant ``seconds`` from now, as config `at:` takes it."""
    print((datetime.now(UTC) + timedelta(seconds=float(seconds))).strftime("%Y-%m-%dT%H:%M:%SZ"))


COMMANDS: dict[str, Callable[..., None]] = {
    "receive": receive,
    "received": received,
    "status": status,
    "get": get,
    "log-has": log_has,
    "json-lines": json_lines,
    "free-port": free_port,
    "iso-in": iso_in,
}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]](*sys.argv[2:])
