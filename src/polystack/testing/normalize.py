"""The recording key: a sha256 of the request reduced to what decides the upstream's answer."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import httpx

from polystack.testing.redact import REDACTED, header_secrets, is_secret_query_param, redact_json

FLOAT_DIGITS = 5
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_FIXED_BOUNDARY = b"polystack-recording-boundary"


@dataclass(frozen=True)
class NormalizedRequest:
    """What is hashed into the key and written as the recording's "request" section.

    Host, port and headers are left out: a test server on another free port, a new key or a new
    client version must still find the recording.
    """

    data: dict[str, Any]
    secrets: frozenset[str]  # credential values seen in the request, to scrub from anything written

    @property
    def key(self) -> str:
        canonical = json.dumps(self.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


def normalize_request(request: httpx.Request, content: bytes,
                      test_id: str | None = None) -> NormalizedRequest:
    """Method, path, sorted query and body (JSON with rounded floats, or a hash of the bytes)."""
    secrets = header_secrets(request.headers)
    data: dict[str, Any] = {
        "method": request.method.upper(),
        "path": request.url.path,
        "query": _grouped(request.url.params.multi_items(), secrets),
    }
    data.update(_body(content, request.headers.get("content-type", ""), secrets))
    if test_id:
        data["test_id"] = test_id
    return NormalizedRequest(data, frozenset(secrets))


def _grouped(pairs: Iterable[tuple[str, str]], secrets: set[str],
             is_secret: Callable[[str], bool] = is_secret_query_param) -> dict[str, str | list[str]]:
    """Pairs as a name-sorted dict (repeated names keep their values' order), secrets redacted."""
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        if is_secret(name) and value:
            secrets.add(value)
            value = REDACTED
        grouped.setdefault(name, []).append(value)
    return {name: values[0] if len(values) == 1 else values for name, values in sorted(grouped.items())}


def _body(content: bytes, content_type: str, secrets: set[str]) -> dict[str, Any]:
    if not content:
        return {"body": None}
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/x-www-form-urlencoded":
        form = parse_qsl(content.decode("utf-8", "replace"), keep_blank_values=True)
        return {"form": _grouped(form, secrets)}
    if media_type.startswith("multipart/"):
        content = _with_fixed_boundary(content, content_type)
    else:
        try:
            parsed = json.loads(content)
        except ValueError:  # not JSON (or not UTF-8): the bytes decide
            pass
        else:
            return {"body": round_floats(redact_json(parsed, secrets))}
    return {"body_sha256": hashlib.sha256(content).hexdigest()}


def _with_fixed_boundary(content: bytes, content_type: str) -> bytes:
    """httpx picks a random multipart boundary per request; a fixed one makes the bytes repeatable."""
    match = _BOUNDARY.search(content_type)
    return content.replace(match.group(1).encode(), _FIXED_BOUNDARY) if match else content


def round_floats(value: Any, digits: int = FLOAT_DIGITS) -> Any:
    """`value` with every float rounded, so 0.7 and 0.7000000001 give the same key."""
    if isinstance(value, float):
        return round(value, digits) + 0.0  # + 0.0 turns -0.0 into 0.0
    if isinstance(value, dict):
        return {name: round_floats(item, digits) for name, item in value.items()}
    if isinstance(value, list):
        return [round_floats(item, digits) for item in value]
    return value
