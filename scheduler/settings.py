"""Runtime settings from the environment (SPEC "Settings"); CLI flags override."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from scheduler.errors import UsageError

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
        )
