"""Validation of an email channel's keys into :class:`scheduler.model.EmailSettings`.

An email channel names its SMTP server with ``smtp`` (``smtp://host:587``, upgraded
with STARTTLS when the server offers it, or ``smtps://host:465``, TLS from the
start), its envelope with ``from`` and ``to``, and optionally ``username`` with
``password`` or ``password_file``. It has no ``url``, ``headers`` or ``secret``;
other channel types have none of these keys. The server URL and the credentials
are secrets: a problem with one names the field, never its content.

Addresses are read by the standard library's own header parser
(:mod:`email.headerregistry`), the one that will write them into the message: an
address it finds a defect in is refused here, not at send time.
"""

from __future__ import annotations

import ipaddress
from email.headerregistry import Address
from email.policy import default as default_policy
from typing import Any, Protocol
from urllib.parse import urlsplit

from scheduler.config.checker import Checker, DocPath
from scheduler.config.values import kind
from scheduler.model import EmailSettings, Mailbox, Secret, StartTLS

EMAIL_KEYS = frozenset(
    {"smtp", "username", "password", "password_file", "from", "to", "starttls", "attach_ics"}
)
# Keys of other channel types that mean nothing to an email channel.
NOT_FOR_EMAIL = ("url", "url_file", "headers")
# Ports when the URL names none: mail submission (RFC 6409) and submission over TLS (RFC 8314).
SUBMISSION_PORT = 587
SUBMISSIONS_PORT = 465
SCHEMES = {"smtp": False, "smtps": True}  # scheme -> TLS from the start


class SecretReader(Protocol):
    """How the channel section reads ``field`` or ``field_file`` into a :class:`Secret`."""

    def __call__(
        self, checker: Checker, body: dict[str, Any], path: DocPath, field: str, *, required: bool
    ) -> Secret | None: ...


def refuse_email_keys(checker: Checker, body: dict[str, Any], path: DocPath, type_: str) -> None:
    """A channel of another type that carries email keys is told so, at each key."""
    for key in sorted(EMAIL_KEYS & body.keys()):
        checker.fail(
            (*path, key), f"'{key}' is only used by email channels, not {type_}", on_key=True
        )


def check_email(
    checker: Checker, body: dict[str, Any], path: DocPath, *, read_secret: SecretReader
) -> tuple[EmailSettings, Secret] | None:
    """The settings of an email channel and its server URL (the channel's ``url``)."""
    before = len(checker.issues)
    for key in NOT_FOR_EMAIL:
        if key in body:
            checker.fail(
                (*path, key),
                f"'{key}' is not used by email channels: name the server with 'smtp'",
                on_key=True,
            )
    server = _server(checker, body.get("smtp"), path)
    username = None
    if "username" in body:
        text = checker.string(body["username"], (*path, "username"), "username")
        username = Secret(text.strip()) if text is not None else None
    password = read_secret(checker, body, path, "password", required=False)
    has_password = "password" in body or "password_file" in body
    if "username" in body and not has_password:
        checker.fail(path, "email channel has a 'username' but no 'password' (or 'password_file')")
    if has_password and "username" not in body:
        checker.fail(path, "email channel has a password but no 'username'")
    sender = None
    if "from" not in body:
        checker.fail(path, "email channel is missing the required key 'from'")
    else:
        sender = _mailbox(checker, body["from"], (*path, "from"), "from")
    recipients = _recipients(checker, body.get("to"), (*path, "to"))
    starttls = StartTLS.AUTO
    if "starttls" in body:
        picked = checker.choice(
            body["starttls"], (*path, "starttls"), "starttls", [s.value for s in StartTLS]
        )
        starttls = StartTLS(picked) if picked else starttls
        if server is not None and server[2] and picked == StartTLS.REQUIRED:
            checker.fail(
                (*path, "starttls"),
                "starttls applies to smtp:// only: smtps:// is TLS from the first byte",
            )
    attach_ics = True
    if "attach_ics" in body:
        value = body["attach_ics"]
        if isinstance(value, bool):
            attach_ics = value
        else:
            checker.fail(
                (*path, "attach_ics"), f"attach_ics must be true or false, got {kind(value)}"
            )
    if len(checker.issues) > before or server is None or sender is None or not recipients:
        return None
    url, host, implicit_tls, port = server
    settings = EmailSettings(
        host=host,
        port=port,
        implicit_tls=implicit_tls,
        sender=sender,
        recipients=recipients,
        starttls=starttls,
        username=username,
        password=password,
        attach_ics=attach_ics,
    )
    return settings, url


def _server(checker: Checker, value: Any, path: DocPath) -> tuple[Secret, str, bool, int] | None:
    """``smtp``: (the URL, host, TLS from the start, port), or None after a located problem."""
    where = (*path, "smtp")
    if value is None:
        checker.fail(path, "email channel is missing the required key 'smtp' (smtp://host:587)")
        return None
    text = checker.string(value, where, "smtp")
    if text is None:
        return None
    text = text.strip()
    problem = _server_problem(text)
    if problem is not None:
        checker.fail(where, problem)
        return None
    parts = urlsplit(text)
    implicit_tls = SCHEMES[parts.scheme.lower()]
    host = parts.hostname or ""
    port = parts.port or (SUBMISSIONS_PORT if implicit_tls else SUBMISSION_PORT)
    return Secret(text), host, implicit_tls, port


def _server_problem(text: str) -> str | None:
    """Why ``text`` cannot name an SMTP server, or None. Never quotes it (it is a secret)."""
    if any(c.isspace() or not c.isprintable() for c in text):
        return "smtp must not contain spaces or control characters"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return "smtp is not a valid URL (check the port and the brackets around an IPv6 address)"
    if parts.scheme.lower() not in SCHEMES or not parts.netloc:
        return "smtp must be an smtp:// or smtps:// URL, such as smtp://mail.example.org:587"
    if parts.username is not None or parts.password is not None:
        return "smtp must not carry credentials: give them as 'username' and 'password'"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return "smtp names a server only: no path, query or fragment"
    if not parts.hostname:
        return "smtp has no host name"
    if port == 0:
        return "smtp has an invalid port: use 1-65535"
    if not _valid_host(parts.hostname):
        return "smtp has an invalid host name (not a valid DNS name or IP address)"
    return None


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return True
    try:  # the resolver's own encoding: empty or overlong labels raise here, not at send time
        encoded = host.removesuffix(".").encode("idna")
    except UnicodeError:
        return False
    return 0 < len(encoded) <= 253


def _mailbox(checker: Checker, value: Any, path: DocPath, what: str) -> Mailbox | None:
    """One address, bare or with a display name, as the message's header parser reads it."""
    text = checker.string(value, path, what)
    if text is None:
        return None
    shown = text if len(text) <= 80 else text[:77] + "..."
    if "\r" in text or "\n" in text:
        checker.fail(path, f"{what} must be a single line")
        return None
    header = default_policy.header_factory("to", text.strip())
    addresses: tuple[Address, ...] = getattr(header, "addresses", ())
    if len(addresses) == 1 and not addresses[0].addr_spec.isascii():
        checker.fail(
            path,
            f"{what} {shown!r}: the address must be ASCII (write the domain in its xn-- form)",
        )
        return None
    if len(addresses) != 1 or header.defects or not addresses[0].domain:
        checker.fail(path, f"{what} {shown!r} is not one email address (name@example.org)")
        return None
    address = addresses[0]
    return Mailbox(address=address.addr_spec, name=address.display_name)


def _recipients(checker: Checker, value: Any, path: DocPath) -> tuple[Mailbox, ...]:
    """``to``: a non-empty list of distinct addresses."""
    if value is None:
        checker.fail(path[:-1], "email channel is missing the required key 'to' (a list)")
        return ()
    items = checker.sequence(value, path, "to")
    if items is None:
        return ()
    if not items:
        checker.fail(path, "to must list at least one address")
        return ()
    out: list[Mailbox] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        box = _mailbox(checker, item, (*path, i), "each of to")
        if box is None:
            continue
        if box.address.lower() in seen:
            checker.fail((*path, i), f"{box.address!r} is listed twice in to")
            continue
        seen.add(box.address.lower())
        out.append(box)
    return tuple(out)
