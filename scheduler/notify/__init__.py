"""Channels: one notifier per channel type behind the :class:`Notifier` protocol."""

from scheduler.notify.base import Notifier, Request
from scheduler.notify.classify import classify_error, classify_response
from scheduler.notify.pacing import TokenBucket, acquire
from scheduler.notify.registry import answers_for, make_notifier

__all__ = [
    "Notifier",
    "Request",
    "TokenBucket",
    "acquire",
    "answers_for",
    "classify_error",
    "classify_response",
    "make_notifier",
]
