"""Channel runtimes across a config install: what carries over and what starts afresh.

A channel whose definition is unchanged keeps its runtime (bucket, lock, notifier).
A changed definition under the same name gets a new notifier and bucket, but a 429
pause still in force carries over, and the lock and send slots too, so sends in flight
and new ones stay one at a time (chat) or within the channel's concurrency. A channel
disabled by its receiver stays disabled while its definition (fingerprint) is the one
that was disabled; a changed one is re-enabled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from scheduler.delivery.policy import bucket_for
from scheduler.delivery.values import ChannelRuntime
from scheduler.model import Channel
from scheduler.notify.base import Notifier


class StoredChannelState(Protocol):
    """What the store keeps of a channel (``scheduler.db.rows.ChannelState``)."""

    @property
    def disabled_fingerprint(self) -> str | None: ...
    @property
    def disabled_reason(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Installed:
    """The runtimes to use, and what changed in the store's view of channels."""

    runtimes: dict[str, ChannelRuntime]
    re_enabled: list[str] = field(default_factory=list)  # their config changed since
    disabled: dict[str, str | None] = field(default_factory=dict)  # name -> stored reason


def install(
    channels: Mapping[str, Channel],
    *,
    current: Mapping[str, ChannelRuntime],
    states: Mapping[str, StoredChannelState],
    make_notifier: Callable[[Channel], Notifier],
) -> Installed:
    """The runtimes for ``channels``, carrying over what ``current`` holds."""
    installed = Installed(runtimes={})
    for name, channel in channels.items():
        old = current.get(name)
        state = states.get(name)
        disabled = bool(state and state.disabled_fingerprint == channel.fingerprint())
        if state and state.disabled_fingerprint and not disabled:
            installed.re_enabled.append(name)
        if disabled:
            installed.disabled[name] = state.disabled_reason if state else None
        if old is not None and old.channel == channel:
            old.disabled = disabled
            installed.runtimes[name] = old
            continue
        bucket = bucket_for(channel)
        runtime = ChannelRuntime(
            channel=channel, notifier=make_notifier(channel), bucket=bucket, disabled=disabled
        )
        if old is not None:
            runtime.lock = old.lock
            runtime.slots = old.slots
            if old.bucket is not None and old.bucket.paused_for() > 0:
                bucket.pause_for(old.bucket.paused_for())
        installed.runtimes[name] = runtime
    return installed
