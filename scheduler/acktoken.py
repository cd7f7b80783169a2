"""Acknowledge-link tokens: which occurrence a link acknowledges, signed, with an expiry.

Pure: values in, values out; the clock is a parameter. A token is
``base64url(payload) "." base64url(HMAC-SHA256(key, payload))`` where the payload is
``v1``, the milestone id, the occurrence instant (UTC, microseconds) and the expiry
(Unix seconds), joined by ``\\x1f``. It names no secret and carries no state: anyone
holding the link may acknowledge that one occurrence until it expires, 30 days after
the occurrence (a link in a chat history should not work for ever). The key is
``TMINUS_SECRET_KEY``, shared by every replica, so any of them can check a link
another one minted.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from scheduler.timekeeping import utc_iso_micro

TOKEN_LIFETIME = timedelta(days=30)  # after the occurrence (SPEC "Acknowledge")
VERSION = "v1"
SEPARATOR = "\x1f"
MAX_TOKEN_CHARS = 1024  # a milestone id is a short slug: anything longer is not ours
MIN_KEY_CHARS = 16


class TokenProblem(enum.StrEnum):
    """Why a token was refused: the page's wording and a log field."""

    MALFORMED = "malformed"  # not a token of ours at all (cut short, garbled)
    FORGED = "forged"  # well formed, but the signature does not match the key
    EXPIRED = "expired"


class TokenError(ValueError):
    def __init__(self, problem: TokenProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class AckClaim:
    """What a valid token names: one occurrence of one milestone, until ``expires``."""

    milestone_id: str
    occurrence: datetime  # aware, UTC
    expires: datetime  # aware, UTC


def expiry_of(occurrence: datetime) -> datetime:
    """When a link to ``occurrence`` stops working (whole seconds, UTC)."""
    end = occurrence.astimezone(UTC) + TOKEN_LIFETIME
    return end.replace(microsecond=0)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """Strict: a character outside the URL-safe alphabet is an error, not skipped."""
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def _mac(key: str, payload: bytes) -> bytes:
    return hmac.new(key.encode(), payload, hashlib.sha256).digest()


def sign(key: str, milestone_id: str, occurrence: datetime) -> str:
    """The token for acknowledging ``occurrence`` of ``milestone_id``."""
    expires = int(expiry_of(occurrence).timestamp())
    parts = (VERSION, milestone_id, utc_iso_micro(occurrence), str(expires))
    payload = SEPARATOR.join(parts).encode()
    return f"{_b64(payload)}.{_b64(_mac(key, payload))}"


def verify(key: str, token: str, *, now: datetime) -> AckClaim:
    """The occurrence a token names, or :class:`TokenError` saying why not.

    The signature is checked (in constant time) before anything in the payload is
    believed; only then the expiry.
    """
    if len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        raise TokenError(TokenProblem.MALFORMED)
    encoded, signature = token.split(".")
    try:
        payload = _unb64(encoded)
        given = _unb64(signature)
    except (binascii.Error, ValueError):
        raise TokenError(TokenProblem.MALFORMED) from None
    if not hmac.compare_digest(_mac(key, payload), given):
        raise TokenError(TokenProblem.FORGED)
    try:
        version, milestone_id, occurrence_text, expires_text = payload.decode().split(SEPARATOR)
        occurrence = datetime.strptime(occurrence_text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        expires = datetime.fromtimestamp(int(expires_text), UTC)
    except (UnicodeDecodeError, ValueError, OverflowError, OSError):
        raise TokenError(TokenProblem.MALFORMED) from None
    if version != VERSION or not milestone_id:
        raise TokenError(TokenProblem.MALFORMED)
    if now >= expires:
        raise TokenError(TokenProblem.EXPIRED)
    return AckClaim(milestone_id=milestone_id, occurrence=occurrence, expires=expires)


@dataclass(frozen=True, slots=True)
class AckLinks:
    """Mints the acknowledge link of an occurrence: ``{public_url}/ack/{token}``."""

    public_url: str
    key: str

    def url(self, milestone_id: str, occurrence: datetime) -> str:
        return f"{self.public_url.rstrip('/')}/ack/{sign(self.key, milestone_id, occurrence)}"

    def verify(self, token: str, *, now: datetime) -> AckClaim:
        return verify(self.key, token, now=now)
