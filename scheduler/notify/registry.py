"""Placeholder until the registry lands."""

from scheduler.notify.base import make_notifier

__all__ = ["make_notifier"]
