"""The config watcher: a change is reported once and promptly (a file, a symlink, a
ConfigMap's swap of its data directory), nothing else is, and a cancel ends it at once."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from scheduler.watch import DEBOUNCE, watch_config, watch_targets

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="inotify is the watcher on Linux"
)

PROMPT = 2.0  # seconds: a change seen within this is seen promptly


class Changes:
    def __init__(self) -> None:
        self.seen: list[float] = []
        self.event = asyncio.Event()

    async def __call__(self, _why: str) -> None:
        self.seen.append(time.monotonic())
        self.event.set()

    async def next(self) -> None:
        await asyncio.wait_for(self.event.wait(), PROMPT)
        self.event.clear()


async def _watching(path: Path, changes: Changes) -> asyncio.Task[None]:
    task = asyncio.create_task(watch_config(path, changes, lambda: False))
    await asyncio.sleep(0.1)  # the watches are in place
    return task


async def _stop(task: asyncio.Task[None]) -> float:
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return time.monotonic() - started


def _swap(config_dir: Path, version: str, text: str) -> None:
    """What the kubelet does to a ConfigMap volume: a new data directory, then ``..data``
    renamed over to point at it, then the old directory removed."""
    new = config_dir / f"..{version}"
    new.mkdir()
    (new / "tminus.yaml").write_text(text)
    old = os.readlink(config_dir / "..data") if (config_dir / "..data").exists() else None
    (config_dir / "..data_tmp").symlink_to(new.name)
    os.rename(config_dir / "..data_tmp", config_dir / "..data")
    if old is not None:
        shutil.rmtree(config_dir / old)


async def test_a_written_file_is_one_change_and_a_cancel_is_prompt(tmp_path: Path) -> None:
    config = tmp_path / "tminus.yaml"
    config.write_text("version: 1\n")
    changes = Changes()
    task = await _watching(config, changes)
    config.write_text("version: 1\nmilestones: []\n")  # truncate, write, close: one change
    await changes.next()
    await asyncio.sleep(DEBOUNCE * 2)
    assert len(changes.seen) == 1
    assert await _stop(task) < 0.1


async def test_other_files_beside_the_config_are_not_changes(tmp_path: Path) -> None:
    config = tmp_path / "tminus.yaml"
    config.write_text("version: 1\n")
    changes = Changes()
    task = await _watching(config, changes)
    (tmp_path / "notes.txt").write_text("unrelated")
    (tmp_path / "tminus.db").write_bytes(b"\0" * 10)
    await asyncio.sleep(DEBOUNCE * 2)
    assert changes.seen == []
    config.write_text("version: 1\nmilestones: []\n")
    await changes.next()
    await _stop(task)


async def test_a_configmap_swap_is_seen_again_and_again(tmp_path: Path) -> None:
    _swap(tmp_path, "2026_12_07_a", "version: 1\n")
    config = tmp_path / "tminus.yaml"
    config.symlink_to("..data/tminus.yaml")
    assert watch_targets(config)[0] == [tmp_path, tmp_path / "..2026_12_07_a"]
    changes = Changes()
    task = await _watching(config, changes)
    _swap(tmp_path, "2026_12_07_b", "version: 1\nmilestones: []\n")
    await changes.next()
    # The watch follows the link to its new directory: a second swap, and a write in
    # place in the new directory, are seen as well.
    _swap(tmp_path, "2026_12_07_c", "version: 1\n")
    await changes.next()
    await asyncio.sleep(DEBOUNCE * 2)
    (tmp_path / "..2026_12_07_c" / "tminus.yaml").write_text("version: 1\nmilestones: []\n")
    await changes.next()
    await _stop(task)


async def test_a_config_directory_reports_any_file(tmp_path: Path) -> None:
    changes = Changes()
    task = await _watching(tmp_path, changes)
    (tmp_path / "more.yaml").write_text("milestones: []\n")
    await changes.next()
    await _stop(task)
