"""Parsing base64 `data:` URLs, as OpenAI clients send inline images and files."""

from __future__ import annotations

import re
from typing import NamedTuple

_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)(?:;[^,]*)?;base64,(?P<data>.*)$", re.DOTALL)


class DataURL(NamedTuple):
    mime: str
    data: str  # still base64


def parse_data_url(url: str) -> DataURL | None:
    """The lower-cased MIME type and base64 payload of a data URL, or None for any other URL."""
    match = _DATA_URL.match(url)
    return DataURL(match["mime"].lower(), match["data"]) if match else None
