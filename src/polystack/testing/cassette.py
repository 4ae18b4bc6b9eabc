"""Recordings on disk: one pretty-printed JSON file per request, written atomically, secrets scrubbed.

A file looks like::

    {"key": "<sha256>",
     "request": {"method": "POST", "path": "/v1/chat/completions", "query": {}, "body": {...}},
     "response": {"status": 200, "headers": {"content-type": "application/json"}, "body": {...}}}

The response holds exactly one of: "body" (a JSON document, or a str holding the raw text),
"body_base64" (binary), "chunks" (a stream: text chunks as received) or "chunks_base64".
"""

from __future__ import annotations

import base64
import codecs
import json
import os
import tempfile
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx

from polystack.testing.redact import scrub_text
from polystack.testing.streams import ReplayStream

# Only these response headers are kept; anything else (cookies, rate-limit detail, ...) is dropped.
SAFE_RESPONSE_HEADERS = ("content-type", "retry-after", "x-request-id", "request-id", "openai-model")
STREAM_MEDIA_TYPES = frozenset({
    "text/event-stream", "application/x-ndjson", "application/jsonl", "application/x-jsonlines",
    "application/stream+json",
})


def recording_path(directory: Path, key: str) -> Path:
    return directory / f"{key[:16]}.json"


def load_recording(path: Path) -> dict[str, Any] | None:
    """The recording at `path`, or None when there is none. A malformed file raises ValueError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        record = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"recording {path} is not valid JSON ({exc}); delete it or record it again") \
            from None
    if not isinstance(record, dict) or not isinstance(record.get("response"), dict) \
            or not isinstance(record["response"].get("status"), int):
        raise ValueError(f"recording {path} has no response.status; delete it or record it again")
    return record


def save_recording(path: Path, record: dict[str, Any], secrets: Iterable[str]) -> None:
    """Writes `record` to a temporary file beside `path`, then renames it over `path`.

    Readers (other tests, other workers) therefore see either the old file or the new one, never half.
    """
    text = scrub_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", secrets)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def response_record(status: int, headers: httpx.Headers, chunks: list[bytes]) -> dict[str, Any]:
    kept = {name: headers[name] for name in SAFE_RESPONSE_HEADERS if name in headers}
    return {"status": status, "headers": kept, **encode_body(headers.get("content-type", ""), chunks)}


def encode_body(content_type: str, chunks: list[bytes]) -> dict[str, Any]:
    """The readable form of a (decoded) body: parsed JSON, text, chunk list, or base64 as a last resort."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    is_json = media_type == "application/json" or media_type.endswith("+json")
    if media_type in STREAM_MEDIA_TYPES or (len(chunks) > 1 and not is_json):
        texts = _decode_chunks(chunks)
        if texts is None:
            return {"chunks_base64": [base64.b64encode(chunk).decode() for chunk in chunks]}
        return {"chunks": texts}
    content = b"".join(chunks)
    if is_json:
        with suppress(ValueError):
            parsed = json.loads(content)
            if not isinstance(parsed, str):  # a str "body" means raw text, so JSON strings stay raw
                return {"body": parsed}
    try:
        return {"body": content.decode("utf-8")}
    except UnicodeDecodeError:
        return {"body_base64": base64.b64encode(content).decode()}


def _decode_chunks(chunks: list[bytes]) -> list[str] | None:
    """UTF-8 text per chunk (a character split across chunks moves to the later one); None if binary."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        texts = [decoder.decode(chunk) for chunk in chunks]
        texts.append(decoder.decode(b"", final=True))
    except UnicodeDecodeError:
        return None
    return [text for text in texts if text]


def body_chunks(response: dict[str, Any]) -> list[bytes]:
    """The bytes to replay for a recorded response, chunk by chunk."""
    if "chunks" in response:
        return [str(chunk).encode() for chunk in response["chunks"]]
    if "chunks_base64" in response:
        return [base64.b64decode(chunk) for chunk in response["chunks_base64"]]
    if "body_base64" in response:
        return [base64.b64decode(response["body_base64"])]
    if "body" not in response:
        return []
    body = response["body"]
    if isinstance(body, str):
        return [body.encode()] if body else []
    return [json.dumps(body, ensure_ascii=False).encode()]


def replayed_response(record: dict[str, Any], request: httpx.Request) -> httpx.Response:
    """A real streaming httpx.Response rebuilt from a recording."""
    response = record["response"]
    return httpx.Response(
        response["status"],
        headers=response.get("headers") or {},
        stream=ReplayStream(body_chunks(response)),
        request=request,
    )
