"""The record/replay transport that wraps every provider's httpx transport (see make_http_client)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx

from polystack.testing.cassette import (
    load_recording,
    recording_path,
    replayed_response,
    response_record,
    save_recording,
)
from polystack.testing.context import current_test_id
from polystack.testing.errors import RecordingError, RecordingMissingError
from polystack.testing.normalize import NormalizedRequest, normalize_request
from polystack.testing.settings import DIR_ENV, MODE_ENV, InferenceMode, RecorderSettings, settings_from_env
from polystack.testing.streams import RecordingStream

logger = logging.getLogger("polystack.testing")

# The caller gets the decoded body, so the upstream's encoding and length no longer describe it.
_STALE_HEADERS = frozenset({"content-encoding", "content-length"})


def wrap_transport(inner: httpx.AsyncBaseTransport,
                   settings: RecorderSettings | None = None) -> httpx.AsyncBaseTransport:
    """`inner` itself in live mode (no overhead), else a RecordReplayTransport around it.

    Settings come from POLYSTACK_TEST_INFERENCE_MODE and POLYSTACK_TEST_RECORDING_DIR unless given.
    """
    settings = settings or settings_from_env()
    if settings.mode is InferenceMode.LIVE or settings.directory is None:
        return inner
    return RecordReplayTransport(inner, settings.mode, settings.directory)


def _is_transient(status: int) -> bool:
    """Rate limits and server errors are not kept: replaying one would fail the test for good."""
    return status == 429 or status >= 500


class RecordReplayTransport(httpx.AsyncBaseTransport):
    """Answers from `<directory>/<key[:16]>.json` or calls `inner` and records, depending on `mode`."""

    def __init__(self, inner: httpx.AsyncBaseTransport, mode: InferenceMode, directory: Path) -> None:
        self.inner = inner
        self.mode = mode
        self.directory = directory

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        normalized = normalize_request(request, await request.aread(), current_test_id())
        path = recording_path(self.directory, normalized.key)
        if self.mode is not InferenceMode.RECORD:
            record = self._load(path, request)
            if record is not None:
                logger.debug("replaying %s %s from %s", request.method, request.url.path, path)
                return replayed_response(record, request)
            if self.mode is InferenceMode.REPLAY:
                raise RecordingMissingError(self._missing_message(normalized, path), request=request)
        return await self._record(request, normalized, path)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def _load(self, path: Path, request: httpx.Request) -> dict[str, Any] | None:
        try:
            return load_recording(path)
        except (OSError, ValueError) as exc:
            raise RecordingError(str(exc), request=request) from None

    async def _record(self, request: httpx.Request, normalized: NormalizedRequest,
                      path: Path) -> httpx.Response:
        upstream = await self.inner.handle_async_request(request)
        upstream.request = request

        def save(chunks: list[bytes]) -> None:
            if _is_transient(upstream.status_code):
                logger.warning("not recording %s %s: upstream answered HTTP %d",
                               request.method, request.url.path, upstream.status_code)
                return
            response = response_record(upstream.status_code, upstream.headers, chunks)
            save_recording(path, {"key": normalized.key, "request": normalized.data, "response": response},
                           normalized.secrets)
            logger.debug("recorded %s %s to %s", request.method, request.url.path, path)

        headers = [(name, value) for name, value in upstream.headers.multi_items()
                   if name.lower() not in _STALE_HEADERS]
        return httpx.Response(upstream.status_code, headers=headers, stream=RecordingStream(upstream, save),
                              request=request, extensions=upstream.extensions)

    def _missing_message(self, normalized: NormalizedRequest, path: Path) -> str:
        data = normalized.data
        test = f", test id {data['test_id']!r}" if "test_id" in data else ""
        return (
            f"no recording for {data['method']} {data['path']} (key {normalized.key[:16]}{test}): "
            f"{path} does not exist. To record it, run against the live provider with "
            f"{MODE_ENV}=record (or record-if-missing) and {DIR_ENV}={self.directory}"
        )
