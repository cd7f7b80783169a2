"""Make docs/status-page.png: the status page of a real ``tminus run``, in headless Chromium.

Starts ``tminus run`` on the example config (``config/milestones.yaml``) with a fresh
SQLite database in a temporary directory and a free loopback port, acknowledges one
milestone with ``tminus ack`` (as a person would, so the page and its timeline show an
acknowledgement), waits until the daemon has it, then loads ``/`` (900 CSS pixels wide by
default, a phone's 390 with ``--width 390``) and captures the whole page, timeline included.

Usage, from the repository root with the dev extras installed (the DevTools client is
``websocket-client``) and Debian's ``chromium`` (``apt-get install chromium``):

    .venv/bin/python scripts/status-page-png.py [--out docs/status-page.png]
        [--config config/milestones.yaml] [--ack contract-notice] [--width 900]

The example's channels point at a closed loopback port, so nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import base64
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.http.browser import browser_page  # noqa: E402  (the tests' DevTools client)

TMINUS = str(Path(sys.executable).with_name("tminus"))
READY_TIMEOUT = 60.0

# The page is ready for its picture once the timeline image has loaded and the
# countdown script has written its first value.
PAGE_STATE = """(() => {
  const img = document.querySelector('.timeline img');
  return {
    timeline: img !== null && img.complete && img.naturalWidth > 0,
    live: document.querySelector('[data-live="1"]') !== null,
    height: Math.ceil(document.documentElement.scrollHeight),
    width: window.innerWidth,
  };
})()"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(what: str, check: object, timeout: float = READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if callable(check) and check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"status-page-png: {what} did not happen within {timeout:.0f} s")


def _acknowledged(base: str, milestone: str) -> bool:
    listed = httpx.get(f"{base}/api/milestones", params={"limit": 500}, timeout=5).json()
    items = listed["items"] if isinstance(listed, dict) else listed
    return any(m["id"] == milestone and m.get("acknowledged") for m in items)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "status-page.png"))
    parser.add_argument("--config", default=str(ROOT / "config" / "milestones.yaml"))
    parser.add_argument("--ack", default="contract-notice", help="milestone to acknowledge")
    parser.add_argument("--width", type=int, default=900, help="CSS pixels (390: a phone)")
    parser.add_argument(
        "--scale", type=float, default=0.6, help="image pixels per device pixel (2 per CSS px)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tminus-status-page-") as work:
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "TMINUS_CONFIG": args.config,
            "TMINUS_DATABASE_URL": f"sqlite:///{work}/tminus.db",
            "TMINUS_HOST": "127.0.0.1",
            "TMINUS_PORT": str(port),
        }
        for name in ("TMINUS_PUBLIC_URL", "TMINUS_API_TOKEN"):
            env.pop(name, None)
        log_path = Path(work) / "tminus.log"
        with log_path.open("w") as log:
            daemon = subprocess.Popen(  # noqa: S603  (our own console script)
                [TMINUS, "run"], stdout=log, stderr=subprocess.STDOUT, env=env, text=True
            )
        try:
            _wait("tminus run ready", lambda: httpx.get(f"{base}/readyz", timeout=2).is_success)
            if args.ack:
                subprocess.run(  # noqa: S603  (our own console script)
                    [TMINUS, "ack", args.ack, "--by", "Legal team", "--note", "Notice sent"],
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                )
                _wait("the acknowledgement in force", lambda: _acknowledged(base, args.ack))
            with browser_page(width=args.width, height=844) as page:
                page.goto(f"{base}/")
                _wait(
                    "the page and its timeline loaded",
                    lambda: (s := page.evaluate(PAGE_STATE))["timeline"] and s["live"],
                )
                seen = page.evaluate(PAGE_STATE)
                shot = page.call(
                    "Page.captureScreenshot",
                    format="png",
                    captureBeyondViewport=True,
                    clip={
                        "x": 0,
                        "y": 0,
                        "width": seen["width"],
                        "height": seen["height"],
                        "scale": args.scale,
                    },
                )
        except BaseException:
            sys.stderr.write(log_path.read_text())
            raise
        finally:
            daemon.terminate()
            daemon.wait(timeout=30)
    png = base64.b64decode(shot["data"])
    Path(args.out).write_bytes(png)
    print(f"wrote {args.out}: {len(png)} bytes, {seen['width']}x{seen['height']} CSS px")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
