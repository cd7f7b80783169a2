"""Channels: one notifier per channel type behind the :class:`Notifier` protocol."""

from scheduler.notify.base import Notifier, make_notifier
from scheduler.notify.classify import classify_error, classify_response
from scheduler.notify.pacing import TokenBucket, acquire

__all__ = [
    "Notifier",
    "TokenBucket",
    "acquire",
    "classify_error",
    "classify_response",
    "make_notifier",
]
