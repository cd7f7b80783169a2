"""tminus: a deadline and milestone notifier."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tminus")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
