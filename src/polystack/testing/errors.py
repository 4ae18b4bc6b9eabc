"""Errors the record/replay transport raises: httpx errors, so callers handle them like transport failures."""

from __future__ import annotations

import httpx


class RecordingError(httpx.RequestError):
    """A recording could not be used (unreadable or malformed file)."""


class RecordingMissingError(RecordingError):
    """Replay mode met a request that has no recording."""
