"""Polystack: an OpenAI-compatible AI application server with pluggable providers."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("polystack")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+local"


def connect(config: str, **kwargs):  # type: ignore[no-untyped-def]
    """Open an in-process stack from a distribution name or a config path (see core.library)."""
    from polystack.core.library import connect as _connect

    return _connect(config, **kwargs)


__all__ = ["__version__", "connect"]
