"""How long it takes to load and check a config of 100,000 milestones, 4 reminders each.

Usage: ``python -m benchmarks.check_100k [N]``. Writes a ~10 MB config in a temporary
directory, then times, in this process, ``load_config`` on the fast route (yaml_rs),
``load_config`` forced onto the PyYAML route, and the same file with one error (the
path that composes the node tree to locate it); and ``tminus check`` as a subprocess.
The target: ``tminus check`` under 10 s on a 2-core machine.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from scheduler.config import load_config
from scheduler.config import parse as parse_module
from scheduler.config.parse import fast_available
from scheduler.errors import ConfigError

HEADER = """\
version: 1
timezone: Europe/Brussels
defaults:
  remind: [30d, 7d, 1d, 0]
  notify: [newsroom, audit]
  catch_up: 6h
channels:
  newsroom:
    type: slack
    url: ${SLACK_WEBHOOK_URL:-http://127.0.0.1:9/slack}
  audit:
    type: webhook
    url: https://hooks.example.org/treaty
    secret: ${AUDIT_SECRET:-whsec_ZXhhbXBsZQ==}
milestones:
"""


def generate(n: int) -> str:
    """A config of ``n`` milestones; every tenth is relative to the one before it."""
    parts = [HEADER]
    for i in range(n):
        day = 1 + i % 28
        month = 1 + (i // 28) % 12
        parts.append(f"  - id: deadline-{i:06d}\n    title: Filing deadline number {i}\n")
        if i % 10 == 9:
            parts.append(f"    after: deadline-{i - 1:06d}\n    offset: 2 weeks\n")
        else:
            parts.append(f"    at: 2027-{month:02d}-{day:02d}T09:00\n")
        parts.append("    remind: [30d, 7d, 1d, 0]\n    tags: [filing]\n")
    return "".join(parts)


def timed(label: str, action: Callable[[], object]) -> float:
    """Run ``action``; print wall-clock and CPU time (this process and its children).

    CPU time shows the cost when the machine is busy with other work; on an idle
    machine the two are close.
    """
    start = time.perf_counter()
    cpu = time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    action()
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = time.process_time() - cpu
    used += (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    print(f"{label:<42} wall {elapsed:6.2f} s   cpu {used:6.2f} s", flush=True)
    return elapsed


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.yaml"
        text = generate(n)
        path.write_text(text)
        print(f"{n} milestones, {len(text) / 1e6:.1f} MB, fast parser: {fast_available()}")

        def load() -> None:
            config = load_config(path, env={})
            assert len(config.milestones) == n

        timed("load_config (fast route)", load)

        saved = parse_module._yaml_rs
        parse_module._yaml_rs = None
        try:
            timed("load_config (PyYAML route)", load)
        finally:
            parse_module._yaml_rs = saved

        broken = Path(tmp) / "broken.yaml"
        broken.write_text(text.replace("at: 2027-02-10T09:00", "at: 2027-02-30T09:00", 1))

        def load_broken() -> None:
            try:
                load_config(broken, env={})
            except ConfigError as exc:
                print(f"  {exc.problems[0]}")
            else:
                raise AssertionError("the broken config loaded")

        timed("load_config with one error (locate)", load_broken)

        def check() -> None:
            result = subprocess.run(
                [sys.executable, "-m", "scheduler", "check", "-c", str(path)],
                capture_output=True,
                text=True,
                check=False,
            )
            print(f"  {result.stdout.strip() or result.stderr.strip()[-300:]}")

        elapsed = timed("tminus check (subprocess)", check)
        print(f"target: tminus check under 10 s — {'met' if elapsed < 10 else 'MISSED'}")
        print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
