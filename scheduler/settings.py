"""Runtime settings from the environment (SPEC "Settings"); CLI flags override."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scheduler.errors import TminusError, UsageError
from scheduler.model import Secret

if TYPE_CHECKING:
    from scheduler.acktoken import AckLinks

DEFAULT_CONFIG = "config/milestones.yaml"
DEFAULT_DATABASE_URL = "sqlite:///./tminus.db"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
MAX_PORT = 65535


def parse_port(text: str) -> int:
    """A TCP port 0–65535 (0: any free port); ``ValueError`` with a user's message."""
    raw = text.strip()
    if not raw.isdigit() or not raw.isascii():
        raise ValueError(f"expected a port number 0-{MAX_PORT}, got {text!r}")
    port = int(raw)
    if port > MAX_PORT:
        raise ValueError(f"port {port} is out of range: expected 0-{MAX_PORT}")
    return port


@dataclass(frozen=True, slots=True)
class Settings:
    config: str = DEFAULT_CONFIG
    database_url: str = DEFAULT_DATABASE_URL
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    api_token: str | None = None
    log_format: str = "text"
    log_level: str = "INFO"
    public_url: str | None = None
    secret_key: Secret | None = None
    secret_key_file: str | None = None

    def ack_links(self) -> AckLinks | None:
        """The acknowledge-link signer, or None without ``TMINUS_PUBLIC_URL``.

        A public URL needs a key (every replica must share it): without one, or with
        an unreadable key file, or a key too short to be a key, :class:`TminusError`
        says so (``check`` and ``run`` exit 1).
        """
        from scheduler.acktoken import MIN_KEY_CHARS, AckLinks

        if self.public_url is None:
            return None
        if not self.public_url.startswith(("https://", "http://")):
            raise TminusError(
                f"TMINUS_PUBLIC_URL must be an http(s) URL such as https://tminus.example.org,"
                f" got {self.public_url!r}"
            )
        key = self.secret_key
        if key is None and self.secret_key_file is not None:
            try:
                key = Secret(Path(self.secret_key_file).read_text(encoding="utf-8").strip())
            except (OSError, UnicodeDecodeError) as exc:
                raise TminusError(
                    f"TMINUS_SECRET_KEY_FILE: cannot read {self.secret_key_file}: "
                    f"{getattr(exc, 'strerror', None) or type(exc).__name__}"
                ) from None
        if not key:
            raise TminusError(
                "TMINUS_PUBLIC_URL is set, so acknowledge links are signed: set "
                "TMINUS_SECRET_KEY (or TMINUS_SECRET_KEY_FILE) to a random key shared by "
                "every replica, e.g. the output of `openssl rand -hex 32`"
            )
        if len(key) < MIN_KEY_CHARS:
            raise TminusError(
                f"TMINUS_SECRET_KEY is too short: use at least {MIN_KEY_CHARS} random characters"
            )
        return AckLinks(public_url=self.public_url, key=key)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        try:
            port = parse_port(env.get("TMINUS_PORT") or str(DEFAULT_PORT))
        except ValueError as exc:
            raise UsageError(f"TMINUS_PORT: {exc}") from None
        return cls(
            config=env.get("TMINUS_CONFIG", DEFAULT_CONFIG),
            database_url=env.get("TMINUS_DATABASE_URL", DEFAULT_DATABASE_URL),
            host=env.get("TMINUS_HOST", DEFAULT_HOST),
            port=port,
            api_token=env.get("TMINUS_API_TOKEN") or None,
            log_format=env.get("TMINUS_LOG_FORMAT", "text").lower(),
            log_level=env.get("TMINUS_LOG_LEVEL", "INFO").upper(),
            public_url=env.get("TMINUS_PUBLIC_URL", "").strip() or None,
            secret_key=Secret(env["TMINUS_SECRET_KEY"]) if env.get("TMINUS_SECRET_KEY") else None,
            secret_key_file=env.get("TMINUS_SECRET_KEY_FILE") or None,
        )
