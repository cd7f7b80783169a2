"""``${VAR}`` and ``${VAR:-default}`` in config strings, from the environment.

The grammar follows docker-compose and POSIX shells, kept small on purpose:

* ``${NAME}`` — the variable's value; unset is an error.
* ``${NAME:-default}`` — the value if set and non-empty, else ``default`` (which
  may be empty and may not contain ``}``).
* ``$${`` — a literal ``${`` (escape).

A ``$`` not followed by ``{`` is left alone, so ``price: $5`` needs no escaping.
Errors name the variable, never a value: values are often secrets.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_REFERENCE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{")


class InterpolationError(ValueError):
    """A ``${...}`` reference that cannot be resolved; the message is fit for a user."""


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Replace every ``${...}`` reference in ``text`` with its value from ``env``.

    Raises :class:`InterpolationError` for an unset variable without a default or
    a malformed reference. Strings without ``$`` are returned unchanged, quickly.
    """
    if "$" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole == "$${":
            return "${"
        name = match.group(1)
        if name is None:
            raise InterpolationError(
                "malformed variable reference: use ${NAME} or ${NAME:-default}"
                " (or $${ for a literal)"
            )
        value = env.get(name)
        default = match.group(2)
        if default is not None:
            return value if value else default
        if value is None:
            raise InterpolationError(
                f"environment variable {name} is not set"
                f" (use ${{{name}:-default}} to give a default)"
            )
        return value

    return _REFERENCE.sub(replace, text)


def variables(text: str) -> list[str]:
    """The names of the variables that ``text`` refers to (for diagnostics and docs)."""
    return [m.group(1) for m in _REFERENCE.finditer(text) if m.group(1)]
