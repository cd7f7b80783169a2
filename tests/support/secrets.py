"""Assert that no secret leaks into logs or errors.

After Alertmanager's ``AssertNotifyLeaksNoSecret``.
"""

from __future__ import annotations

from collections.abc import Iterable


def assert_no_secret(text: str, secrets: Iterable[str]) -> None:
    for secret in secrets:
        if not secret:
            continue
        assert secret not in text, f"a secret leaked: ...{secret[-6:]!r} appears in the output"
        # URLs leak by their path as well as whole
        if "://" in secret:
            tail = secret.split("://", 1)[1].split("/", 1)[-1]
            if len(tail) >= 8:
                assert tail not in text, "a secret URL's path leaked into the output"
