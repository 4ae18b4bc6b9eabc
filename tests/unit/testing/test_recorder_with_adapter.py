"""The recorder under a real provider adapter: make_http_client's transport records and replays it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from polystack.apis.inference.types import ChatCompletion, ChatCompletionRequest
from polystack.providers.utils.http_client import make_http_client
from polystack.providers.utils.openai_compat.adapter import OpenAICompatAdapter
from polystack.providers.utils.openai_compat.config import OpenAICompatConfig
from polystack.testing.settings import DIR_ENV, MODE_ENV

API_KEY = "sk-adapter-SECRET-42"


def chunk(content: str | None, finish: str | None = None) -> bytes:
    delta = {"content": content} if content is not None else {}
    data = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(data)}\n\n".encode()


def upstream(request: httpx.Request) -> httpx.Response:
    async def events() -> AsyncIterator[bytes]:
        for part in (chunk("Hel"), chunk("lo"), chunk(None, "stop"), b"data: [DONE]\n\n", b": bye\n\n"):
            yield part
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=events())


def gone(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("no upstream in replay", request=request)


def adapter(handler: object, port: int) -> OpenAICompatAdapter:
    config = OpenAICompatConfig(base_url=f"http://127.0.0.1:{port}/v1", api_key=SecretStr(API_KEY),
                                refresh_models=False)
    transport = httpx.MockTransport(handler)  # type: ignore[arg-type]
    client = make_http_client(base_url=config.base_url, transport=transport)
    return OpenAICompatAdapter(config, api_key_field="openai_api_key", client=client)


async def streamed_text(provider: OpenAICompatAdapter) -> str:
    request = ChatCompletionRequest(model="m", messages=[{"role": "user", "content": "hi"}], stream=True)
    stream = await provider.chat_completion(request)
    assert not isinstance(stream, ChatCompletion)
    parts = [choice.delta.content or "" async for item in stream for choice in item.choices]
    await provider.shutdown()
    return "".join(parts)


async def test_adapter_stream_recorded_then_replayed_without_upstream(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DIR_ENV, str(tmp_path))
    monkeypatch.setenv(MODE_ENV, "record")
    assert await streamed_text(adapter(upstream, 40001)) == "Hello"
    [path] = list(tmp_path.glob("*.json"))
    assert API_KEY not in path.read_text()
    chunks = json.loads(path.read_text())["response"]["chunks"]
    assert len(chunks) == 5  # drained after the adapter's [DONE] break

    monkeypatch.setenv(MODE_ENV, "replay")
    assert await streamed_text(adapter(gone, 40002)) == "Hello"
