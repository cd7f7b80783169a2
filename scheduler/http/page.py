"""The status page at ``/``: server-rendered HTML for people, phone-friendly.

No build step and no external assets: one HTML document with inline CSS and a
few lines of inline JavaScript that turn each ``data-at`` timestamp into a
live countdown. Every value from the config or the database is escaped; the
Content-Security-Policy admits only this page's own script and style (hashes).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape

from starlette.concurrency import run_in_threadpool

from scheduler.acknowledge import Acknowledgement
from scheduler.http.instants import Instants
from scheduler.http.state import AppState, DeliveryRecord
from scheduler.logs import fields
from scheduler.model import AlertKind, Config, DeliveryStatus, Reminder
from scheduler.planning import plan
from scheduler.timekeeping import coarse_countdown, format_when

log = logging.getLogger("tminus.http")

MAX_MILESTONES = 200
NEXT_REMINDERS = 3
RECENT_DELIVERIES = 25
REMINDER_HORIZON = timedelta(days=366)


@dataclass(frozen=True, slots=True)
class NextReminder:
    label: str
    due_at: datetime
    channels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Withheld:
    """The planned alerts of an acknowledged occurrence still ahead: never to be sent."""

    occurrence: datetime
    reminders: int = 0
    escalations: int = 0

    @classmethod
    def of(cls, occurrence: datetime, alerts: Sequence[Reminder]) -> Withheld:
        escalations = sum(a.kind is AlertKind.ESCALATION for a in alerts)
        return cls(occurrence, len(alerts) - escalations, escalations)


@dataclass(frozen=True, slots=True)
class MilestoneView:
    id: str
    title: str
    instant: datetime | None
    status: str
    description: str
    next_reminders: tuple[NextReminder, ...]  # those that will be sent
    acknowledged: Acknowledgement | None = None
    withheld: tuple[Withheld, ...] = ()  # soonest occurrence first


@dataclass(slots=True)
class PageView:
    """Everything the page shows, gathered once per request."""

    now: datetime
    ready_reason: str | None
    milestones: list[MilestoneView] = field(default_factory=list)
    hidden_milestones: int = 0
    recent: Sequence[DeliveryRecord] = ()
    dead: Sequence[DeliveryRecord] = ()
    disabled: list[tuple[str, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    store_error: str | None = None


def _order(instant: datetime | None, now: datetime) -> tuple[int, float]:
    """Upcoming first (soonest first), then past ones (most recent first)."""
    if instant is None:
        return (2, 0.0)
    delta = (instant - now).total_seconds()
    return (0, delta) if delta >= 0 else (1, -delta)


async def gather(state: AppState, instants: Instants) -> PageView:
    """Collect the page's data: planning in a worker thread, store calls via ``db``."""
    now = state.now()
    view = PageView(now=now, ready_reason=state.ready_reason())
    config = state.config()
    if config is not None:
        acked = state.acks.current() if state.acks is not None else {}
        view.milestones, view.hidden_milestones = await run_in_threadpool(
            _milestones, instants, config, now, acked
        )
    store = state.store
    if store is None:
        view.store_error = "the database is not open yet"
        return view
    try:
        view.recent = await state.db(store.deliveries, limit=RECENT_DELIVERIES)
        view.dead = await state.db(
            store.deliveries, status=DeliveryStatus.DEAD.value, limit=RECENT_DELIVERIES
        )
        view.counts = dict(await state.db(store.counts_by_status))
        channels = await state.db(store.channel_states)
        view.disabled = [
            (name, c.disabled_reason or "disabled") for name, c in channels.items() if c.disabled
        ]
    except Exception as exc:
        log.warning("status page: store unavailable", extra=fields(error=type(exc).__name__))
        view.store_error = f"database unavailable ({type(exc).__name__})"
    return view


def _milestones(
    instants: Instants,
    config: Config,
    now: datetime,
    acked: Mapping[tuple[str, datetime], Acknowledgement] | None = None,
) -> tuple[list[MilestoneView], int]:
    """The milestones to show (soonest first) with their next reminders.

    A reminder or escalation of an acknowledged occurrence will never be sent: it is
    not one of the next reminders but counted in the milestone's ``withheld``.
    Only the shown ones are planned, so a config of 100,000 milestones costs a
    sort, not a year of reminders for each.
    """
    acked = acked or {}
    at = instants.of(config, now)
    ordered = sorted(config.milestones, key=lambda m: _order(at.get(m.id), now))
    shown = ordered[:MAX_MILESTONES]
    subset = dataclasses.replace(config, milestones=tuple(shown))
    upcoming: dict[str, list[NextReminder]] = defaultdict(list)
    withheld: dict[str, dict[datetime, list[Reminder]]] = defaultdict(dict)
    for r in plan(subset, now, now + REMINDER_HORIZON, resolved=instants.resolved(config)):
        if (r.milestone.id, r.occurrence) in acked:
            withheld[r.milestone.id].setdefault(r.occurrence, []).append(r)
            continue
        slot = upcoming[r.milestone.id]
        if len(slot) < NEXT_REMINDERS:
            slot.append(NextReminder(r.label, r.due_at, r.channels))
    views = [
        MilestoneView(
            m.id,
            m.title,
            at.get(m.id),
            m.status.value,
            m.description,
            tuple(upcoming.get(m.id, ())),
            _acknowledged(acked, m.id, at.get(m.id)),
            tuple(Withheld.of(o, alerts) for o, alerts in sorted(withheld[m.id].items())),
        )
        for m in shown
    ]
    return views, len(ordered) - len(shown)


def _acknowledged(
    acked: Mapping[tuple[str, datetime], Acknowledgement], mid: str, instant: datetime | None
) -> Acknowledgement | None:
    return None if instant is None else acked.get((mid, instant))


# -- rendering -------------------------------------------------------------------

STYLE = """
:root{color-scheme:light dark;--bad:#b3261e;--badbg:#fde7e6;--ok:#1b6e32;--mute:#6b6b6b;
--acked:#7b1fa2}
*{box-sizing:border-box}
body{font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:60rem;padding:1rem}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
.muted{color:var(--mute)}.small{font-size:.85rem}
.banner{border-radius:.5rem;padding:.6rem .8rem;margin:.6rem 0}
.alert{background:var(--badbg);color:var(--bad);border:1px solid var(--bad)}
.cards{display:grid;gap:.7rem;grid-template-columns:repeat(auto-fill,minmax(17rem,1fr))}
.card{border:1px solid #8884;border-radius:.6rem;padding:.7rem .8rem}
.card.past{opacity:.75}
.countdown{font:600 1.25rem/1.3 ui-monospace,SFMono-Regular,Menlo,monospace}
.card ul{margin:.4rem 0 0;padding-left:1.1rem}
.table{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #8883;vertical-align:top}
tr.dead td{background:var(--badbg);color:var(--bad)}
.st{font-weight:600;text-transform:uppercase;font-size:.75rem;letter-spacing:.03em}
.st-sent{color:var(--ok)}.st-dead{color:var(--bad)}.st-acked{color:var(--acked)}
.timeline{margin:0}.timeline img{display:block;width:100%;max-width:40rem;height:auto}
code{overflow-wrap:anywhere}.banner code{white-space:nowrap}
@media (prefers-color-scheme:dark){:root{--badbg:#4a1512;--bad:#ffb4ab;--ok:#7fd99a;
--acked:#ce93d8}}
"""

SCRIPT = """
(function(){
  function pad(n){return (n<10?"0":"")+n;}
  function fmt(ms){
    var sign=ms>=0?"T-":"T+",s=Math.floor(Math.abs(ms)/1000);
    var d=Math.floor(s/86400);s-=d*86400;
    var h=Math.floor(s/3600);s-=h*3600;var m=Math.floor(s/60);s-=m*60;
    return sign+d+"d "+pad(h)+":"+pad(m)+":"+pad(s);
  }
  function tick(){
    var els=document.querySelectorAll("[data-at]"),now=Date.now();
    for(var i=0;i<els.length;i++){
      var el=els[i];el.textContent=fmt(Number(el.getAttribute("data-at"))-now);
      el.setAttribute("data-live","1");
    }
  }
  tick();setInterval(tick,1000);
})();
"""


def _csp_hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src {_csp_hash(STYLE)}; script-src {_csp_hash(SCRIPT)}; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def _milestone(m: MilestoneView, now: datetime) -> str:
    e = escape
    if m.instant is None:
        when = '<div class="muted">not resolved</div>'
    else:
        ms = int(m.instant.timestamp() * 1000)
        when = (
            f'<div class="countdown" data-at="{ms}">'
            f"{e(coarse_countdown(m.instant - now))}</div>"
            f'<div class="small muted">{e(format_when(m.instant))}</div>'
        )
    past = m.instant is not None and m.instant < now
    status = "" if m.status == "active" else f' <span class="st">{e(m.status)}</span>'
    reminders = "".join(
        f"<li>{e(r.label)} · {e(format_when(r.due_at))} → {e(', '.join(r.channels) or '—')}</li>"
        for r in m.next_reminders
    )
    if reminders:
        reminders_html = f'<ul class="small">{reminders}</ul>'
    else:
        other = " other" if m.withheld else ""
        reminders_html = f'<div class="small muted">no{other} reminders in the next year</div>'
    withheld = "".join(_withheld(w, m.instant) for w in m.withheld)
    desc = f'<div class="small">{e(m.description)}</div>' if m.description else ""
    ack = ""
    if m.acknowledged is not None:
        a = m.acknowledged
        note = f" — {e(a.note)}" if a.note else ""
        ack = (
            f'<div class="small acked"><span class="st st-acked">acknowledged</span> by '
            f"<strong>{e(a.by)}</strong> · {e(format_when(a.at))}{note}</div>"
        )
    return (
        f'<article class="card{" past" if past else ""}" id="m-{e(m.id)}">'
        f"<strong>{e(m.title)}</strong>{status}"
        f'<div class="small muted"><code>{e(m.id)}</code></div>'
        f"{when}{ack}{withheld}{desc}{reminders_html}</article>"
    )


def _counted(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _withheld(w: Withheld, instant: datetime | None) -> str:
    """``2 reminders and 1 escalation still ahead will not be sent`` (under the card's
    acknowledgement), or of which other occurrence, acknowledged, they are."""
    counts = " and ".join(
        _counted(n, noun)
        for n, noun in ((w.reminders, "reminder"), (w.escalations, "escalation"))
        if n
    )
    if w.occurrence == instant:
        said = f"{counts} still ahead will not be sent"
    else:
        said = (
            f"{counts} of the {escape(format_when(w.occurrence))} occurrence will not be sent: "
            'it is <span class="st st-acked">acknowledged</span>'
        )
    return f'<div class="small muted withheld">{said}</div>'


def _delivery_rows(rows: Sequence[DeliveryRecord]) -> str:
    e = escape
    out = []
    for d in rows:
        status = DeliveryStatus(d.status).value
        cls = ' class="dead"' if status == DeliveryStatus.DEAD else ""
        out.append(
            f"<tr{cls}><td>{e(format_when(d.due_at))}</td><td><code>{e(d.milestone_id)}</code></td>"
            f'<td>{e(d.channel)}</td><td><span class="st st-{e(status)}">{e(status)}</span>'
            f"</td><td>{d.attempts}</td><td>{e(d.last_error or '')}</td></tr>"
        )
    if not out:
        return '<p class="muted">none</p>'
    head = (
        "<tr><th>due</th><th>milestone</th><th>channel</th><th>status</th>"
        "<th>attempts</th><th>last error</th></tr>"
    )
    table = f"<table><thead>{head}</thead><tbody>{''.join(out)}</tbody></table>"
    return f'<div class="table">{table}</div>'


def render(view: PageView) -> str:
    """The whole HTML document."""
    e = escape
    parts: list[str] = []
    state = (
        '<span class="st st-sent">ready</span>'
        if view.ready_reason is None
        else f'<span class="st st-dead">not ready</span> {e(view.ready_reason)}'
    )
    counts = " · ".join(f"{e(k)} {v}" for k, v in sorted(view.counts.items()) if v)
    parts.append(
        f'<header><h1>tminus</h1><div class="small muted">{state} · '
        f"{e(format_when(view.now))}{' · ' + counts if counts else ''}</div></header>"
    )
    if view.store_error:
        parts.append(f'<div class="banner alert">{e(view.store_error)}</div>')
    for name, reason in view.disabled:
        parts.append(
            f'<div class="banner alert" data-channel="{e(name)}">Channel <strong>{e(name)}</strong>'
            f" is disabled: {e(reason)}. It stays off until its config changes.</div>"
        )
    if view.dead:
        n = len(view.dead)
        parts.append(
            f'<div class="banner alert">{n} dead {"letter" if n == 1 else "letters"}: '
            "see below; <code>tminus redeliver ID</code> queues one again.</div>"
        )
    if view.milestones:
        parts.append(
            '<h2>Timeline</h2><figure class="timeline"><a href="timeline.svg">'
            '<img src="timeline.svg" width="400" alt="The next six months: each milestone '
            'with its reminders, sent and due, and today"></a></figure>'
        )
    parts.append("<h2>Milestones</h2>")
    if view.milestones:
        cards = "".join(_milestone(m, view.now) for m in view.milestones)
        parts.append(f'<section class="cards">{cards}</section>')
        if view.hidden_milestones:
            parts.append(f'<p class="muted">and {view.hidden_milestones} more</p>')
    else:
        parts.append('<p class="muted">no config loaded</p>')
    if view.dead:
        parts.append("<h2>Dead letters</h2>" + _delivery_rows(view.dead))
    parts.append("<h2>Recent deliveries</h2>" + _delivery_rows(view.recent))
    body = "".join(parts)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>tminus status</title><style>{STYLE}</style></head>"
        f"<body>{body}<script>{SCRIPT}</script></body></html>"
    )
