"""The acknowledge link: ``GET /ack/{token}`` shows a confirmation page, ``POST`` acknowledges.

``GET`` changes nothing: chat unfurlers, link previews and mail scanners fetch every
link they see. The page's button posts a plain form to the same URL; the ``POST``
checks the token again (the token is the capability, so there is no CSRF token to
add). Every refusal is a small page and a 4xx, never a traceback:

* malformed (cut short, garbled): 400; forged (signed with another key): 403;
  expired (30 days after the occurrence): 410; links off (no ``TMINUS_PUBLIC_URL``): 404;
* taken back: once an acknowledgement of the occurrence was taken back with ``unack``,
  its links no longer acknowledge it (409): the unack was a deliberate decision, and a
  link sitting in a chat history or a mailbox must not silently undo it. Acknowledge
  again with ``tminus ack`` or the API.

Acknowledging an occurrence already acknowledged changes nothing and says who did it.
Every value shown is HTML-escaped.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from scheduler.acknowledge import Acknowledgement, AckSource
from scheduler.acktoken import MAX_TOKEN_CHARS, TokenError, TokenProblem
from scheduler.errors import TminusError
from scheduler.http.state import AckDesk, AppState
from scheduler.logs import fields
from scheduler.timekeeping import format_when

log = logging.getLogger("tminus.http")

MAX_FORM_BYTES = 8192

STYLE = """
:root{color-scheme:light dark}
body{font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:34rem;padding:1.2rem}
h1{font-size:1.3rem}label{display:block;margin:.8rem 0 .2rem}
input,textarea{width:100%;font:inherit;padding:.4rem}
button{margin-top:1rem;font:inherit;font-weight:600;padding:.55rem 1.2rem;cursor:pointer}
.muted{color:#6b6b6b}.ok{color:#1b6e32}.bad{color:#b3261e}
"""


def _csp_hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src {_csp_hash(STYLE)}; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
_REFUSALS = {
    TokenProblem.MALFORMED: (
        400,
        "This acknowledge link is not valid: it may have been cut short.",
    ),
    TokenProblem.FORGED: (403, "This acknowledge link was not issued by this server."),
    TokenProblem.EXPIRED: (410, "This acknowledge link has expired (30 days after the deadline)."),
}


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )
    return HTMLResponse(
        document,
        status_code=status,
        headers={
            "content-security-policy": CONTENT_SECURITY_POLICY,
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",  # the token is in the URL
            "cache-control": "no-store",
        },
    )


def _refused(message: str, status: int) -> HTMLResponse:
    return _page(
        "Cannot acknowledge",
        f'<h1 class="bad">Cannot acknowledge</h1><p>{escape(message)}</p>',
        status,
    )


def _done(ack: Acknowledgement, heading: str) -> str:
    note = f"<p>Note: {escape(ack.note)}</p>" if ack.note else ""
    return (
        f'<h1 class="ok">{escape(heading)}</h1>'
        f"<p>Acknowledged by <strong>{escape(ack.by)}</strong> on "
        f"{escape(format_when(ack.at))}.</p>{note}"
        '<p class="muted">Its remaining reminders and escalations are cancelled.</p>'
    )


def _html(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


PAGES: dict[int | str, dict[str, Any]] = {
    200: _html("the confirmation page, or who acknowledged it"),
    400: _html("a malformed link (or form)"),
    403: _html("a link this server did not sign"),
    404: _html("acknowledge links are not enabled"),
    409: _html("the acknowledgement was taken back: the link no longer acknowledges"),
    410: _html("the link expired (30 days after the occurrence)"),
    413: _html("the form is too large"),
    422: _html("a name or note that cannot be stored"),
    503: _html("the service is still starting"),
}


def build_router(state: AppState) -> APIRouter:
    """The ``/ack/{token}`` routes, bound to ``state``."""
    router = APIRouter(tags=["ack"])
    # No length limit here: an overlong token gets the same page as any malformed one
    # (``verify`` refuses past MAX_TOKEN_CHARS); the request limits cap paths at 4 KiB.
    Token = Path(description=f"the signed token (at most {MAX_TOKEN_CHARS} characters)")

    def describe(milestone_id: str, occurrence: datetime) -> tuple[str, str]:
        config = state.config()
        m = config.milestone(milestone_id) if config is not None else None
        if m is None:
            return milestone_id, format_when(occurrence)
        return m.title, format_when(occurrence.astimezone(m.zone))

    async def check(token: str) -> tuple[AckDesk, str, datetime] | HTMLResponse:
        desk = state.acks
        if desk is None:
            return _refused("The service is still starting; try again in a moment.", 503)
        try:
            claim = desk.claim(token)
        except TokenError as exc:
            status, message = _REFUSALS[exc.problem]
            log.warning("acknowledge link refused", extra=fields(problem=exc.problem.value))
            return _refused(message, status)
        except TminusError:
            return _refused("Acknowledge links are not enabled on this server.", 404)
        return desk, claim.milestone_id, claim.occurrence

    async def taken_back_or_done(
        desk: AckDesk, milestone_id: str, occurrence: datetime
    ) -> HTMLResponse | None:
        found = await desk.lookup(milestone_id, occurrence)
        if found is None:
            return None
        if found.active:
            return _page("Already acknowledged", _done(found, "Already acknowledged"))
        return _refused(
            f"This acknowledgement was taken back by {found.revoked_by or 'someone'}, so this "
            "link no longer acknowledges it. Use `tminus ack` or the API to acknowledge again.",
            409,
        )

    @router.get("/ack/{token}", response_class=HTMLResponse, responses=PAGES)
    async def confirm(token: str = Token) -> HTMLResponse:
        """The confirmation page; changes nothing."""
        checked = await check(token)
        if isinstance(checked, HTMLResponse):
            return checked
        desk, milestone_id, occurrence = checked
        answered = await taken_back_or_done(desk, milestone_id, occurrence)
        if answered is not None:
            return answered
        title, when = describe(milestone_id, occurrence)
        body = (
            f"<h1>Acknowledge {escape(title)}?</h1>"
            f'<p>{escape(when)} <span class="muted">({escape(milestone_id)})</span></p>'
            "<p>Its remaining reminders and escalations will stop, on every channel.</p>"
            '<form method="post">'
            '<label for="by">Your name</label><input id="by" name="by" maxlength="200">'
            '<label for="note">Note (optional)</label>'
            '<textarea id="note" name="note" rows="3" maxlength="2000"></textarea>'
            '<button type="submit">Acknowledge</button></form>'
        )
        return _page(f"Acknowledge {title}", body)

    @router.post("/ack/{token}", response_class=HTMLResponse, responses=PAGES)
    async def acknowledge(request: Request, token: str = Token) -> HTMLResponse:
        """Acknowledge the occurrence the link names (the token is checked again)."""
        checked = await check(token)
        if isinstance(checked, HTMLResponse):
            return checked
        desk, milestone_id, occurrence = checked
        answered = await taken_back_or_done(desk, milestone_id, occurrence)
        if answered is not None:
            return answered
        raw = await request.body()
        if len(raw) > MAX_FORM_BYTES:
            return _refused("The form is too large.", 413)
        try:
            form = parse_qs(raw.decode("utf-8", "replace"), max_num_fields=10)
        except ValueError:
            return _refused("The form has too many fields.", 400)
        by = (form.get("by") or [""])[0]
        note = (form.get("note") or [""])[0]
        try:
            change = await desk.acknowledge_occurrence(
                milestone_id, occurrence, by=by, note=note, source=AckSource.LINK
            )
        except TminusError as exc:
            return _refused(str(exc), 422)
        heading = "Acknowledged" if change.changed else "Already acknowledged"
        return _page(heading, _done(change.acknowledgement, heading))

    return router
