"""Run real ``tminus run`` subprocesses for end-to-end tests."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml

TMINUS = str(Path(sys.executable).with_name("tminus"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def iso_in(seconds: float, *, base: datetime | None = None) -> str:
    """An ISO instant ``seconds`` from now (UTC, millisecond precision)."""
    moment = (base or datetime.now(UTC)) + timedelta(seconds=seconds)
    return moment.isoformat(timespec="milliseconds")


def tminus(*args: str, env: Mapping[str, str] | None = None, timeout: float = 60) -> Any:
    return subprocess.run(
        [TMINUS, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )


@dataclass
class DaemonProcess:
    """One ``tminus run`` with its own config file, database and port."""

    workdir: Path
    config: Path
    database_url: str
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[str] | None = None
    log_path: Path | None = None
    runs: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait_ready: bool = True, timeout: float = 30) -> DaemonProcess:
        self.runs += 1
        self.log_path = self.workdir / f"tminus-{self.runs}.log"
        env = {
            **os.environ,
            "TMINUS_CONFIG": str(self.config),
            "TMINUS_DATABASE_URL": self.database_url,
            "TMINUS_PORT": str(self.port),
            "TMINUS_HOST": "127.0.0.1",
            "TMINUS_LOG_FORMAT": "json",
            **self.env,
        }
        with self.log_path.open("w") as log:
            self.proc = subprocess.Popen(
                [TMINUS, "run"], stdout=log, stderr=subprocess.STDOUT, env=env, text=True
            )
        if wait_ready:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"tminus run exited {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"tminus run not ready within {timeout}s:\n{self.log()}")

    def reload_with(self, config: dict[str, Any], *, timeout: float = 15) -> None:
        """Write a new config, send SIGHUP and wait until it is in force."""
        before = len(self._events_named("config reloaded"))
        watched = len(self._watcher_reloads())
        tmp = self.config.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump(config, sort_keys=False))
        tmp.replace(self.config)
        self.signal(signal.SIGHUP)
        self.wait_log("config reloaded", count=before + 1, timeout=timeout)
        self.wait_reloads_settled(watcher_reloads=watched + 1, timeout=timeout)

    def wait_reloads_settled(
        self, *, watcher_reloads: int | None = None, quiet: float = 0.6, timeout: float = 15
    ) -> None:
        """Wait until every reload started (by SIGHUP or the file watcher) has finished.

        The write of a config file makes the file watcher reload too, up to ~0.4 s later:
        once ``watcher_reloads`` reloads by the watcher have started (and, like all the
        others, finished), nothing more is coming. The watcher may not have been
        watching yet (a write right after the start), so that reload is not sure to
        come: then no reload starting for ``quiet`` seconds is taken as settled.
        """
        finished = {
            "config reloaded",
            "config rejected: the previous config stays in force",
            "config could not be applied: the previous config stays in force",
        }
        deadline = time.monotonic() + timeout
        last_change = time.monotonic()
        last_counts = (-1, -1)
        while time.monotonic() < deadline:
            events = [e.get("event") for e in self.events()]
            counts = (events.count("reloading config"), sum(e in finished for e in events))
            if counts != last_counts:
                last_counts, last_change = counts, time.monotonic()
            if counts[0] == counts[1]:
                expected = watcher_reloads
                if expected is not None and len(self._watcher_reloads()) >= expected:
                    return
                if time.monotonic() - last_change >= quiet:
                    return
            time.sleep(0.05)
        raise AssertionError(f"reloads did not settle within {timeout}s:\n{self.log()}")

    def _events_named(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.events() if e.get("event") == event]

    def _watcher_reloads(self) -> list[dict[str, Any]]:
        reloads = self._events_named("reloading config")
        return [e for e in reloads if e.get("trigger") == "file changed"]

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def log(self) -> str:
        texts = []
        for i in range(1, self.runs + 1):
            path = self.workdir / f"tminus-{i}.log"
            if path.exists():
                texts.append(path.read_text())
        return "\n".join(texts)

    def events(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log().splitlines():
            if line.startswith("{"):
                with contextlib.suppress(json.JSONDecodeError):
                    out.append(json.loads(line))
        return out

    def wait_log(self, event: str, *, count: int = 1, timeout: float = 15) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.events() if e.get("event") == event]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no {count}x {event!r} in log within {timeout}s:\n{self.log()}"
                )
            time.sleep(0.05)

    def history(self, *extra: str) -> list[dict[str, Any]]:
        result = tminus(
            "history", "--json", "--limit", "100000", "--database-url", self.database_url, *extra
        )
        assert result.returncode == 0, result.stderr
        rows: list[dict[str, Any]] = json.loads(result.stdout)["deliveries"]
        return rows

    def wait_statuses(self, expected: dict[str, int], *, timeout: float = 30) -> None:
        """Poll ``history`` until the delivery statuses are exactly ``expected``."""
        deadline = time.monotonic() + timeout
        while True:
            counts: dict[str, int] = {}
            for row in self.history():
                counts[row["status"]] = counts.get(row["status"], 0) + 1
            if counts == expected:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"statuses {counts}, expected {expected}")
            time.sleep(0.2)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
