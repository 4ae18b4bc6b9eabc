"""Tests for the record/replay transport, driven through real httpx clients."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from polystack.testing import (
    InferenceMode,
    RecorderConfigError,
    RecordingError,
    RecordingMissingError,
    using_test_id,
    wrap_transport,
)
from polystack.testing.settings import DIR_ENV, MODE_ENV

Handler = Callable[[httpx.Request], Any]

SSE_CHUNKS = [
    b'data: {"id":"c1","choices":[{"delta":{"content":"Hel"}}]}\n\n',
    b'data: {"id":"c1","choices":[{"delta":{"content":"lo"}}]}\n\n',
    b"data: [DONE]\n\n",
]
CHAT_BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.7}


@pytest.fixture
def recordings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Path]:
    """Sets the recording dir and returns a function that switches the mode."""
    directory = tmp_path / "recordings"
    monkeypatch.setenv(DIR_ENV, str(directory))
    monkeypatch.delenv("POLYSTACK_TEST_ID", raising=False)

    def use(mode: str) -> Path:
        monkeypatch.setenv(MODE_ENV, mode)
        return directory

    return use


def client_for(handler: Handler, base_url: str = "http://upstream.test:8321/v1") -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, transport=wrap_transport(httpx.MockTransport(handler)))


def json_upstream(calls: list[httpx.Request], payload: dict[str, Any] | None = None) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json=payload or {"id": "chatcmpl-1", "object": "chat.completion",
                                                    "choices": [{"message": {"content": "hello"}}]},
                              headers={"x-request-id": "req-1", "set-cookie": "session=abc"})
    return handle


def sse_upstream(calls: list[httpx.Request], gate: asyncio.Event | None = None) -> Handler:
    async def body() -> AsyncIterator[bytes]:
        for index, chunk in enumerate(SSE_CHUNKS):
            if index == 1 and gate is not None:
                await gate.wait()
            yield chunk

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body())
    return handle


def failing_upstream(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("upstream is gone", request=request)


def files_in(directory: Path) -> list[Path]:
    return sorted(directory.iterdir()) if directory.exists() else []


async def stream_chunks(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> list[bytes]:
    request = client.build_request("POST", path, json=body, headers={"accept": "text/event-stream"})
    response = await client.send(request, stream=True)
    try:
        return [chunk async for chunk in response.aiter_raw()]
    finally:
        await response.aclose()


# ---- modes and settings ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [None, "live", "LIVE", ""])
def test_live_or_unset_mode_returns_the_inner_transport_itself(monkeypatch: pytest.MonkeyPatch,
                                                                mode: str | None) -> None:
    if mode is None:
        monkeypatch.delenv(MODE_ENV, raising=False)
    else:
        monkeypatch.setenv(MODE_ENV, mode)
    monkeypatch.delenv(DIR_ENV, raising=False)
    inner = httpx.MockTransport(failing_upstream)
    assert wrap_transport(inner) is inner


def test_non_live_mode_without_recording_dir_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODE_ENV, "replay")
    monkeypatch.delenv(DIR_ENV, raising=False)
    with pytest.raises(RecorderConfigError, match=DIR_ENV):
        wrap_transport(httpx.MockTransport(failing_upstream))


def test_unknown_mode_is_an_error_listing_the_modes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODE_ENV, "replya")
    with pytest.raises(RecorderConfigError, match="record-if-missing"):
        wrap_transport(httpx.MockTransport(failing_upstream))


def test_mode_accepts_underscores(recordings: Callable[[str], Path]) -> None:
    recordings("record_if_missing")
    transport = wrap_transport(httpx.MockTransport(failing_upstream))
    assert transport.mode is InferenceMode.RECORD_IF_MISSING  # type: ignore[attr-defined]


# ---- record, then replay with the upstream gone ----------------------------------------------------


async def test_json_response_recorded_then_replayed_identically_without_upstream(
        recordings: Callable[[str], Path]) -> None:
    directory = recordings("record")
    calls: list[httpx.Request] = []
    async with client_for(json_upstream(calls)) as client:
        recorded = await client.post("/chat/completions", json=CHAT_BODY)
    assert len(calls) == 1 and recorded.json()["choices"][0]["message"]["content"] == "hello"
    [path] = files_in(directory)
    assert path.name.endswith(".json") and len(path.stem) == 16

    stored = json.loads(path.read_text())
    assert stored["request"] == {"method": "POST", "path": "/v1/chat/completions", "query": {},
                                 "body": CHAT_BODY}
    assert stored["response"]["status"] == 200
    assert stored["response"]["body"] == recorded.json()
    assert stored["response"]["headers"] == {"content-type": "application/json", "x-request-id": "req-1"}
    assert path.read_text().startswith('{\n  "key"')  # pretty-printed

    recordings("replay")
    async with client_for(failing_upstream) as client:
        replayed = await client.post("/chat/completions", json=CHAT_BODY)
    assert replayed.status_code == 200
    assert replayed.json() == recorded.json()
    assert replayed.headers["content-type"] == "application/json"
    assert replayed.request.url.path == "/v1/chat/completions"


async def test_get_requests_are_recorded_and_replayed(recordings: Callable[[str], Path]) -> None:
    recordings("record")
    models = {"object": "list", "data": [{"id": "m1"}, {"id": "m2"}]}
    async with client_for(json_upstream([], models)) as client:
        await client.get("/models")
    recordings("replay")
    async with client_for(failing_upstream) as client:
        assert (await client.get("/models")).json() == models


async def test_error_status_is_recorded_and_replayed(recordings: Callable[[str], Path]) -> None:
    recordings("record")
    error = {"error": {"message": "model not found", "type": "invalid_request_error"}}
    async with client_for(lambda request: httpx.Response(404, json=error)) as client:
        await client.post("/chat/completions", json=CHAT_BODY)
    recordings("replay")
    async with client_for(failing_upstream) as client:
        replayed = await client.post("/chat/completions", json=CHAT_BODY)
    assert replayed.status_code == 404 and replayed.json() == error


async def test_transient_upstream_failures_are_not_recorded(recordings: Callable[[str], Path]) -> None:
    directory = recordings("record")
    async with client_for(lambda request: httpx.Response(503, json={"error": "overloaded"})) as client:
        assert (await client.post("/chat/completions", json=CHAT_BODY)).status_code == 503
    assert files_in(directory) == []


async def test_sse_stream_replays_chunk_by_chunk(recordings: Callable[[str], Path]) -> None:
    directory = recordings("record")
    async with client_for(sse_upstream([])) as client:
        recorded = await stream_chunks(client, "/chat/completions", {**CHAT_BODY, "stream": True})
    assert recorded == SSE_CHUNKS
    [path] = files_in(directory)
    stored = json.loads(path.read_text())["response"]
    assert stored["headers"]["content-type"] == "text/event-stream"
    assert stored["chunks"] == [chunk.decode() for chunk in SSE_CHUNKS]
    assert "body" not in stored

    recordings("replay")
    async with client_for(failing_upstream) as client:
        assert await stream_chunks(client, "/chat/completions", {**CHAT_BODY, "stream": True}) == SSE_CHUNKS
        request = client.build_request("POST", "/chat/completions", json={**CHAT_BODY, "stream": True})
        response = await client.send(request, stream=True)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        lines = [line async for line in response.aiter_lines() if line]
        await response.aclose()
    assert lines == [chunk.decode().strip() for chunk in SSE_CHUNKS]


async def test_recording_a_stream_passes_chunks_through_as_they_arrive(
        recordings: Callable[[str], Path]) -> None:
    directory = recordings("record")
    gate = asyncio.Event()
    async with client_for(sse_upstream([], gate)) as client:
        request = client.build_request("POST", "/chat/completions", json={**CHAT_BODY, "stream": True})
        response = await client.send(request, stream=True)
        chunks = response.aiter_raw()
        first = await asyncio.wait_for(chunks.__anext__(), timeout=5)  # upstream is still blocked
        assert first == SSE_CHUNKS[0]
        assert files_in(directory) == []  # nothing is written before the stream ends
        gate.set()
        rest = [chunk async for chunk in chunks]
        await response.aclose()
    assert [first, *rest] == SSE_CHUNKS
    assert len(files_in(directory)) == 1


async def test_caller_that_stops_reading_early_still_gets_a_complete_recording(
        recordings: Callable[[str], Path]) -> None:
    directory = recordings("record")
    async with client_for(sse_upstream([])) as client:
        request = client.build_request("POST", "/chat/completions", json={**CHAT_BODY, "stream": True})
        response = await client.send(request, stream=True)
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                break  # like a caller that stops at the first event
        await response.aclose()
    [path] = files_in(directory)
    assert json.loads(path.read_text())["response"]["chunks"] == [chunk.decode() for chunk in SSE_CHUNKS]


async def test_stream_that_fails_midway_is_not_recorded(recordings: Callable[[str], Path]) -> None:
    directory = recordings("record")

    async def broken() -> AsyncIterator[bytes]:
        yield SSE_CHUNKS[0]
        raise httpx.ReadError("connection reset")

    async with client_for(lambda request: httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=broken())) as client:
        with pytest.raises(httpx.ReadError):
            await stream_chunks(client, "/chat/completions", CHAT_BODY)
    assert files_in(directory) == []


# ---- record-if-missing, record, missing recordings ----------------------------------------------------


async def test_record_if_missing_calls_upstream_once_then_replays(recordings: Callable[[str], Path]) -> None:
    recordings("record-if-missing")
    calls: list[httpx.Request] = []
    async with client_for(json_upstream(calls)) as client:
        first = await client.post("/chat/completions", json=CHAT_BODY)
        second = await client.post("/chat/completions", json=CHAT_BODY)
        await client.post("/chat/completions", json={**CHAT_BODY, "temperature": 0.1})
    assert len(calls) == 2
    assert first.json() == second.json()


async def test_record_mode_always_calls_upstream_and_overwrites(recordings: Callable[[str], Path]) -> None:
    directory = recordings("record")
    async with client_for(json_upstream([], {"answer": 1})) as client:
        await client.post("/chat/completions", json=CHAT_BODY)
    async with client_for(json_upstream([], {"answer": 2})) as client:
        await client.post("/chat/completions", json=CHAT_BODY)
    [path] = files_in(directory)
    assert json.loads(path.read_text())["response"]["body"] == {"answer": 2}
    assert not [name for name in os.listdir(directory) if name.endswith(".tmp")]


async def test_missing_recording_error_names_the_request_and_how_to_record_it(
        recordings: Callable[[str], Path]) -> None:
    directory = recordings("replay")
    async with client_for(failing_upstream) as client:
        with pytest.raises(RecordingMissingError) as caught:
            await client.post("/chat/completions", json=CHAT_BODY)
    message = str(caught.value)
    assert "POST /v1/chat/completions" in message
    assert "POLYSTACK_TEST_INFERENCE_MODE=record" in message and "record-if-missing" in message
    assert str(directory) in message
    assert isinstance(caught.value, httpx.RequestError)
    key = message.split("(key ", 1)[1][:16]
    assert all(ch in "0123456789abcdef" for ch in key)


async def test_corrupt_recording_is_reported_with_its_path(recordings: Callable[[str], Path]) -> None:
    directory = recordings("record")
    async with client_for(json_upstream([])) as client:
        await client.post("/chat/completions", json=CHAT_BODY)
    [path] = files_in(directory)
    path.write_text("{not json")
    recordings("replay")
    async with client_for(failing_upstream) as client:
        with pytest.raises(RecordingError, match=path.name):
            await client.post("/chat/completions", json=CHAT_BODY)


# ---- the key ----------------------------------------------------------------------------------------


async def recorded_files(recordings: Callable[[str], Path], *requests: tuple[str, str, Any]) -> list[Path]:
    """Records each (base_url, path, json body) and returns the files, one per distinct key."""
    directory = recordings("record")
    for base_url, path, body in requests:
        async with client_for(json_upstream([]), base_url=base_url) as client:
            await client.post(path, content=json.dumps(body), headers={"content-type": "application/json"})
    return files_in(directory)


async def test_same_body_with_other_key_order_and_float_noise_uses_one_recording(
        recordings: Callable[[str], Path]) -> None:
    reordered = {"temperature": 0.70000000001, "messages": [{"content": "hi", "role": "user"}], "model": "m"}
    files = await recorded_files(recordings, ("http://a.test/v1", "/chat/completions", CHAT_BODY),
                                 ("http://a.test/v1", "/chat/completions", reordered))
    assert len(files) == 1


async def test_different_body_or_path_uses_another_recording(recordings: Callable[[str], Path]) -> None:
    files = await recorded_files(recordings, ("http://a.test/v1", "/chat/completions", CHAT_BODY),
                                 ("http://a.test/v1", "/chat/completions", {**CHAT_BODY, "temperature": 0.5}),
                                 ("http://a.test/v1", "/completions", CHAT_BODY))
    assert len(files) == 3


async def test_host_and_port_do_not_change_the_key(recordings: Callable[[str], Path]) -> None:
    files = await recorded_files(recordings, ("http://127.0.0.1:40001/v1", "/chat/completions", CHAT_BODY),
                                 ("https://localhost:51234/v1", "/chat/completions", CHAT_BODY))
    assert len(files) == 1


async def test_query_order_does_not_change_the_key_but_values_do(recordings: Callable[[str], Path]) -> None:
    directory = recordings("record")
    async with client_for(json_upstream([])) as client:
        await client.get("/models?b=2&a=1")
        await client.get("/models?a=1&b=2")
        await client.get("/models?a=1&b=3")
    assert len(files_in(directory)) == 2


async def test_headers_do_not_change_the_key(recordings: Callable[[str], Path]) -> None:
    directory = recordings("record")
    async with client_for(json_upstream([])) as client:
        await client.post("/chat/completions", json=CHAT_BODY,
                          headers={"authorization": "Bearer one-key-123"})
        await client.post("/chat/completions", json=CHAT_BODY, headers={"authorization": "Bearer two-key-456",
                                                                         "user-agent": "other/2.0"})
    assert len(files_in(directory)) == 1


async def test_test_id_separates_identical_requests(recordings: Callable[[str], Path],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    directory = recordings("record")
    async with client_for(json_upstream([])) as client:
        await client.post("/chat/completions", json=CHAT_BODY)
        with using_test_id("tests/test_a.py::test_one"):
            await client.post("/chat/completions", json=CHAT_BODY)
        monkeypatch.setenv("POLYSTACK_TEST_ID", "tests/test_b.py::test_two")
        await client.post("/chat/completions", json=CHAT_BODY)
    files = files_in(directory)
    assert len(files) == 3
    test_ids = {json.loads(path.read_text())["request"].get("test_id") for path in files}
    assert test_ids == {None, "tests/test_a.py::test_one", "tests/test_b.py::test_two"}


async def test_multipart_uploads_match_despite_random_boundaries(recordings: Callable[[str], Path]) -> None:
    directory = recordings("record")
    async with client_for(json_upstream([], {"id": "file-1"})) as client:
        for _ in range(2):
            await client.post("/files", data={"purpose": "batch"}, files={"file": ("a.jsonl", b"{}\n")})
        await client.post("/files", data={"purpose": "batch"}, files={"file": ("a.jsonl", b"other\n")})
    files = files_in(directory)
    assert len(files) == 2
    assert all("body_sha256" in json.loads(path.read_text())["request"] for path in files)

    recordings("replay")
    async with client_for(failing_upstream) as client:
        response = await client.post("/files", data={"purpose": "batch"},
                                     files={"file": ("a.jsonl", b"{}\n")})
    assert response.json() == {"id": "file-1"}


# ---- secrets --------------------------------------------------------------------------------------------


async def test_secrets_are_never_written_to_disk(recordings: Callable[[str], Path]) -> None:
    directory = recordings("record")
    secrets = ["sk-bearer-SECRET-0001", "x-api-SECRET-0002", "goog-SECRET-0003", "query-SECRET-0004",
               "body-SECRET-0005", "api-key-SECRET-0006"]

    def echoing(request: httpx.Request) -> httpx.Response:  # an upstream that echoes the key back
        return httpx.Response(401, json={"error": {"message": f"bad key {request.headers['authorization']}"}},
                              headers={"set-cookie": "token=cookie-SECRET-0007"})

    async with client_for(echoing) as client:
        await client.post(
            "/models/gemini:generateContent",
            params={"key": secrets[3], "alt": "sse"},
            json={"contents": [], "api_key": secrets[4]},
            headers={"Authorization": f"Bearer {secrets[0]}", "x-api-key": secrets[1],
                     "x-goog-api-key": secrets[2], "api-key": secrets[5]},
        )
    [path] = files_in(directory)
    text = path.read_text()
    for secret in [*secrets, "cookie-SECRET-0007"]:
        assert secret not in text
    assert "SECRET" not in text
    stored = json.loads(text)
    assert stored["request"]["query"] == {"alt": "sse", "key": "<redacted>"}
    assert stored["request"]["body"]["api_key"] == "<redacted>"

    recordings("replay")  # a different key in CI still finds the recording
    async with client_for(failing_upstream) as client:
        response = await client.post(
            "/models/gemini:generateContent", params={"key": "ci-key-00000000", "alt": "sse"},
            json={"contents": [], "api_key": "ci-key-11111111"}, headers={"Authorization": "Bearer fake"})
    assert response.status_code == 401


# ---- storage ----------------------------------------------------------------------------------------


async def test_failed_write_leaves_previous_recording_intact_and_no_temp_files(
        recordings: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    directory = recordings("record")
    async with client_for(json_upstream([], {"answer": 1})) as client:
        await client.post("/chat/completions", json=CHAT_BODY)
    [path] = files_in(directory)
    before = path.read_text()

    def failing_replace(source: str, target: str) -> None:
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", failing_replace)
        async with client_for(json_upstream([], {"answer": 2})) as client:
            with pytest.raises(OSError, match="disk full"):
                await client.post("/chat/completions", json=CHAT_BODY)
    assert path.read_text() == before
    assert files_in(directory) == [path]


async def test_many_concurrent_requests_record_and_replay_consistently(
        recordings: Callable[[str], Path]) -> None:
    directory = recordings("record")

    async def answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.001)
        return httpx.Response(200, json={"echo": json.loads(request.content)["n"]})

    bodies = [{"n": index % 20} for index in range(60)]  # 20 distinct keys, each written 3 times at once
    async with client_for(answer) as client:
        await asyncio.gather(*(client.post("/echo", json=body) for body in bodies))
    assert len(files_in(directory)) == 20

    recordings("replay")
    async with client_for(failing_upstream) as client:
        responses = await asyncio.gather(*(client.post("/echo", json=body) for body in bodies))
    assert [response.json()["echo"] for response in responses] == [body["n"] for body in bodies]


# ---- a real upstream over loopback ----------------------------------------------------------------


async def start_upstream() -> tuple[Any, asyncio.Task[None], int]:
    """A tiny Starlette app on a free loopback port: gzip-compressed JSON and an SSE stream."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route

    async def chat(request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse({"id": "chatcmpl-9", "model": body["model"], "filler": "x" * 2000})

    async def stream(request: Request) -> StreamingResponse:
        async def events() -> AsyncIterator[bytes]:
            for chunk in SSE_CHUNKS:
                await asyncio.sleep(0.01)
                yield chunk
        return StreamingResponse(events(), media_type="text/event-stream")

    app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]),
                            Route("/v1/stream", stream, methods=["POST"])],
                    middleware=[Middleware(GZipMiddleware, minimum_size=100)])
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, port


class HeaderSpy(httpx.AsyncHTTPTransport):
    """A real transport that remembers the raw upstream headers."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[httpx.Headers] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        self.seen.append(response.headers)
        return response


async def test_real_upstream_recorded_then_replayed_on_another_port(
        recordings: Callable[[str], Path]) -> None:
    directory = recordings("record")
    server, task, port = await start_upstream()
    spy = HeaderSpy()
    try:
        base_url = f"http://127.0.0.1:{port}/v1"
        async with httpx.AsyncClient(base_url=base_url, transport=wrap_transport(spy)) as client:
            live = await client.post("/chat/completions", json=CHAT_BODY)
            assert spy.seen[0].get("content-encoding") == "gzip"
            assert live.headers.get("content-encoding") is None  # the caller gets the decoded body
            live_stream = b"".join(await stream_chunks(client, "/stream", CHAT_BODY))
    finally:
        server.should_exit = True
        await task
    assert live.json()["model"] == "m" and live_stream == b"".join(SSE_CHUNKS)
    assert len(files_in(directory)) == 2

    recordings("replay")  # the server is gone, and the client points at another port
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port + 1}/v1",
                                 transport=wrap_transport(httpx.AsyncHTTPTransport())) as client:
        assert (await client.post("/chat/completions", json=CHAT_BODY)).json() == live.json()
        replayed = await stream_chunks(client, "/stream", CHAT_BODY)
    assert b"".join(replayed) == live_stream
    assert len(replayed) > 1
