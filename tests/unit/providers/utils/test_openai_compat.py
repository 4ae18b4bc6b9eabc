"""The shared OpenAI-compatible client against httpx.MockTransport upstreams."""

import json

import httpx
import pytest

from polystack.apis.errors import InvalidRequestError, NotFoundError, ProviderError, ProviderTimeoutError
from polystack.apis.inference.types import ChatCompletionRequest
from polystack.core.request_context import reset_provider_data, set_provider_data
from polystack.providers.remote.inference.openai.config import OpenaiConfig
from polystack.providers.utils.openai_compat.adapter import OpenAICompatAdapter

SECRET = "sk-very-secret-value"
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
COMPLETION = {"id": "c1", "object": "chat.completion", "created": 1, "model": "m",
              "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "yo"}}]}


def adapter(handler) -> OpenAICompatAdapter:
    config = OpenaiConfig(api_key=SECRET, base_url="http://upstream.test/v1")
    client = httpx.AsyncClient(base_url=config.base_url, transport=httpx.MockTransport(handler))
    impl = OpenAICompatAdapter(config, api_key_field="openai_api_key", client=client)
    impl.provider_id = "up"
    return impl


async def test_request_is_forwarded_with_bearer_key_and_extra_fields():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["auth"] = request.headers["authorization"]
        seen["body"] = json.loads(request.content)
        return httpx.Response(200, json=COMPLETION)

    reply = await adapter(handler).chat_completion(ChatCompletionRequest(**CHAT, top_k=5))
    assert reply.choices[0].message.content == "yo"
    assert seen["auth"] == f"Bearer {SECRET}"
    assert seen["body"]["top_k"] == 5 and "temperature" not in seen["body"]


async def test_provider_data_key_overrides_the_configured_one():
    seen = {}

    def handler(request):
        seen["auth"] = request.headers["authorization"]
        return httpx.Response(200, json=COMPLETION)

    token = set_provider_data({"openai_api_key": "sk-user", "unrelated": 1})
    try:
        await adapter(handler).chat_completion(ChatCompletionRequest(**CHAT))
    finally:
        reset_provider_data(token)
    assert seen["auth"] == "Bearer sk-user"


async def test_upstream_401_does_not_echo_the_key():
    def handler(request):
        return httpx.Response(401, json={"error": {"message": f"Incorrect API key provided: {SECRET}"}})

    with pytest.raises(ProviderError) as info:
        await adapter(handler).chat_completion(ChatCompletionRequest(**CHAT))
    assert SECRET not in info.value.message and "'up'" in info.value.message and info.value.status_code == 502


@pytest.mark.parametrize(("status", "error"), [(400, InvalidRequestError), (404, NotFoundError), (500, ProviderError)])
async def test_upstream_status_maps_to_polystack_errors(status, error):
    def handler(request):
        return httpx.Response(status, json={"error": {"message": "upstream says no"}})

    with pytest.raises(error, match="upstream says no"):
        await adapter(handler).chat_completion(ChatCompletionRequest(**CHAT))


async def test_unreachable_upstream_is_502_and_timeout_is_504():
    def refuse(request):
        raise httpx.ConnectError("refused", request=request)

    def slow(request):
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(ProviderError, match="cannot reach") as info:
        await adapter(refuse).chat_completion(ChatCompletionRequest(**CHAT))
    assert info.value.status_code == 502
    with pytest.raises(ProviderTimeoutError) as info:
        await adapter(slow).chat_completion(ChatCompletionRequest(**CHAT))
    assert info.value.status_code == 504


async def test_stream_parses_sse_and_stops_at_done():
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"content": "a"}}]}
    body = f"data: {json.dumps(chunk)}\n\n: keep-alive\n\ndata: {json.dumps(chunk)}\n\ndata: [DONE]\n\n"

    def handler(request):
        return httpx.Response(200, content=body.encode(), headers={"content-type": "text/event-stream"})

    stream = await adapter(handler).chat_completion(ChatCompletionRequest(**CHAT, stream=True))
    assert [c.choices[0].delta.content async for c in stream] == ["a", "a"]


async def test_error_event_mid_stream_raises_provider_error():
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"content": "a"}}]}
    body = f"data: {json.dumps(chunk)}\n\ndata: {json.dumps({'error': {'message': 'overloaded'}})}\n\n"

    def handler(request):
        return httpx.Response(200, content=body.encode(), headers={"content-type": "text/event-stream"})

    stream = await adapter(handler).chat_completion(ChatCompletionRequest(**CHAT, stream=True))
    with pytest.raises(ProviderError, match="overloaded"):
        async for _ in stream:
            pass


async def test_list_models_reads_ids():
    def handler(request):
        return httpx.Response(200, json={"object": "list", "data": [{"id": "a"}, {"id": "b"}]})

    assert [m.provider_resource_id for m in await adapter(handler).list_models()] == ["a", "b"]


CHUNK = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
         "choices": [{"index": 0, "delta": {"content": "yo"}, "finish_reason": None}]}


def streaming(*events: bytes):
    def handler(request: httpx.Request) -> httpx.Response:
        body = b"".join(b"data: " + event + b"\n\n" for event in events) + b"data: [DONE]\n\n"
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    return handler


@pytest.mark.parametrize(("bad", "message"), [
    (b"{not json", "sent a stream event that is not JSON"),
    (b"[1, 2]", "sent a stream event that is not a JSON object"),
    (b'{"id": "c2"}', "answered with an invalid ChatCompletionChunk: 'created'"),
    (b'{"error": {"message": "overloaded"}}', "overloaded"),
])
async def test_streamed_chunks_are_validated_from_their_bytes_and_a_bad_one_is_named(bad, message):
    stream = await adapter(streaming(json.dumps(CHUNK).encode(), bad)).chat_completion(
        ChatCompletionRequest(**CHAT, stream=True))
    first = await anext(stream)
    assert first.choices[0].delta.content == "yo"
    with pytest.raises(ProviderError) as failure:
        await anext(stream)
    assert message in failure.value.message
