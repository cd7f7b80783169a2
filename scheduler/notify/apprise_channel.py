"""``type: apprise``: any Apprise URL(s), through the optional ``tminus[apprise]`` extra.

Apprise is not HTTP from our side: it speaks to each service itself, blocking
(``requests``), so :meth:`AppriseNotifier.send` runs its ``notify`` in a worker
thread with the channel's timeout as Apprise's own deadline. Apprise answers with
no status classes, only whether each service took the message: anything short of
every URL succeeding is ``not_delivered`` and retried until ``max_attempts`` (a
retry notifies every URL of the channel again, so a service that succeeded may
see the message twice, as any at-least-once delivery may).

Apprise logs URLs and the tokens inside them; its logger is cut off from ours
(:func:`quiet_apprise`) and an :class:`Outcome` names services by their kind
(``JSON``, ``Telegram``), never by URL. The library is imported only when an
apprise channel is checked or used, so an install without the extra works for
every other channel.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import logging
import threading
import types
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import httpx

from scheduler.logs import fields, silence
from scheduler.model import Alert, Channel, Outcome, Reason
from scheduler.notify.base import ChannelKind, Request, report_fallbacks
from scheduler.notify.classify import by_status
from scheduler.render.apprise import AppriseMessage, apprise_message
from scheduler.render.templated import TemplateFailure

if TYPE_CHECKING:
    import apprise

log = logging.getLogger("tminus.notify")

APPRISE_LOGGER = "apprise"
INSTALL_HINT = "pip install 'tminus[apprise]'"
CONTENT_TYPE = "application/json"  # the title and body handed to Apprise, as JSON
# Beyond Apprise's own deadline (the channel's timeout), how long to wait for its thread
# before answering a timeout anyway: a service stuck in a blocking call cannot hold the
# delivery for ever.
THREAD_GRACE_SECONDS = 5.0
# Apprise calls of one channel in flight at once. They block worker threads of the
# event loop's default executor, which config reloads and planning also use: a burst of
# reminders to slow services must leave it room. Each call's deadline starts once it
# has its turn, so waiting for one is never mistaken for a service timing out.
MAX_CALLS_PER_CHANNEL = 4


def apprise_installed() -> bool:
    """Whether the optional extra is installed."""
    return importlib.util.find_spec("apprise") is not None


def quiet_apprise() -> None:
    """Cut Apprise's logger off from ours before Apprise is used: its lines carry URLs
    and the tokens in them (also done by :func:`~scheduler.logs.configure`, but
    ``tminus check`` may validate URLs without configuring logs)."""
    silence(APPRISE_LOGGER)


def load_apprise() -> types.ModuleType:
    """The Apprise package with its plugins loaded, its logger cut off first.

    Apprise loads its plugins on first use, and some of them import modules Python
    deprecates (``imghdr``): they are loaded here, once (worker threads may ask at the
    same moment, and the warning filters are process-wide), with that warning (about
    Apprise's imports, not ours to show) silenced.
    """
    with _LOADING:
        return _load_once()


_LOADING = threading.Lock()


@functools.cache
def _load_once() -> types.ModuleType:
    quiet_apprise()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise
        from apprise.manager_plugins import NotificationManager

        NotificationManager().load_modules()  # type: ignore[no-untyped-call]
    return apprise


def unsupported_url(url: str) -> str | None:
    """Why Apprise cannot use ``url`` (naming only its scheme), or ``None`` when it can."""
    apprise = load_apprise()

    if apprise.Apprise.instantiate(url) is not None:
        return None
    scheme = url.partition("://")[0] if "://" in url else ""
    if scheme and scheme.isascii() and scheme.replace("+", "").replace("-", "").isalnum():
        return f"Apprise cannot use this {scheme}:// URL (unknown service, or its fields are wrong)"
    return "Apprise cannot use this URL: it has no scheme:// naming a service"


def outcome_of(result: apprise.AppriseResult) -> Outcome:
    """What Apprise's answer means for the delivery: every service took it, or it is retried."""
    apprise = load_apprise()

    if result:
        return Outcome(True, False, Reason.OK)
    services = list(result)
    failed = [s for s in services if not s]
    named = ", ".join(f"{s.name}: {s.status.name.lower()}" for s in failed)
    if result.status is apprise.AppriseResultStatus.TIMEOUT:
        reason, what = Reason.TIMEOUT, "timed out"
    else:
        reason, what = Reason.NOT_DELIVERED, "did not take the message"
    detail = f"Apprise: {len(failed)} of {len(services)} services {what}"
    return Outcome(False, True, reason, detail=f"{detail} ({named})" if named else detail)


class AppriseNotifier:
    """One Apprise notification per delivery, to every URL of the channel."""

    def __init__(self, channel: Channel, client: httpx.AsyncClient) -> None:
        self.channel = channel
        self._apprise: apprise.Apprise | None = None
        self._lock = threading.Lock()
        self._turns = asyncio.Semaphore(MAX_CALLS_PER_CHANNEL)

    def prepare(self, alerts: Sequence[Alert]) -> list[Request]:
        requests: list[Request] = []
        for alert in alerts:
            message, problem = apprise_message(alert, self.channel.templates)
            fallbacks = () if problem is None else (TemplateFailure(alert, "template", problem),)
            headers = {"content-type": CONTENT_TYPE}
            requests.append(Request((alert,), message.encode(), headers, fallbacks))
        return requests

    async def send(self, request: Request) -> Outcome:
        if len(request.alerts) != 1:
            raise ValueError(
                f"{self.channel.name}: one request carries one delivery, this one "
                f"carries {len(request.alerts)}; build requests with Notifier.prepare()"
            )
        report_fallbacks(self.channel, request)
        message = AppriseMessage.decode(request.content)
        seconds = self.channel.timeout.total_seconds()
        try:
            async with self._turns, asyncio.timeout(seconds + THREAD_GRACE_SECONDS):
                outcome = await asyncio.to_thread(self._notify, message, seconds)
        except TimeoutError:
            outcome = Outcome(False, True, Reason.TIMEOUT, detail="Apprise did not answer in time")
        log.debug(
            "request answered",
            extra=fields(channel=self.channel.name, reason=outcome.reason.value),
        )
        return outcome

    def _notify(self, message: AppriseMessage, seconds: float) -> Outcome:
        """Apprise's blocking notify (in a worker thread)."""
        apprise = load_apprise()

        try:
            result = self._services().notify(
                body=message.body,
                title=message.title,
                body_format=apprise.NotifyFormat.TEXT,
                timeout=seconds,
            )
        except Exception as exc:  # a service's bug must not end the delivery loop
            detail = f"Apprise: {type(exc).__name__}"
            return Outcome(False, True, Reason.NOT_DELIVERED, detail=detail)
        return outcome_of(result)

    def _services(self) -> apprise.Apprise:
        """The channel's URLs loaded once (Apprise paces some services per instance)."""
        with self._lock:
            if self._apprise is None:
                apprise = load_apprise()
                services = apprise.Apprise()
                for url in self.channel.apprise_urls:
                    services.add(str(url))
                self._apprise = services
            return self._apprise


APPRISE = ChannelKind(notifier=AppriseNotifier, answers=by_status)
