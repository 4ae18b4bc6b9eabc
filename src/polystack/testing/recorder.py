"""Record/replay transport (placeholder until the recorder lands: passes traffic through)."""

from __future__ import annotations

import httpx


def wrap_transport(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
    return inner
