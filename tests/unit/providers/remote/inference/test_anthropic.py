"""remote::anthropic against a fake backend written from Anthropic's public docs, not recorded."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from native_backend import CassetteBackend, failing_client
from native_harness import ANTHROPIC, chat, collect

from polystack.apis.errors import (
    AuthenticationError,
    InvalidRequestError,
    NotImplementedByProviderError,
    ProviderError,
    ProviderTimeoutError,
    UnsupportedParameterError,
)
from polystack.apis.inference.types import ChatCompletionRequest, CompletionRequest, EmbeddingsRequest
from polystack.apis.models.types import ModelType
from polystack.providers.remote.inference.anthropic.adapter import AnthropicInferenceAdapter
from polystack.providers.remote.inference.anthropic.config import AnthropicConfig
from polystack.providers.remote.inference.anthropic.request import build_messages_call
from polystack.providers.remote.inference.anthropic.stream import StreamTranslator

KEY = ANTHROPIC.key
make_adapter = ANTHROPIC.adapter
replay = ANTHROPIC.replay


# ---- plain chat ---------------------------------------------------------------------------------


async def test_plain_chat_sends_system_and_sampling_and_returns_openai_completion() -> None:
    backend, adapter, request = replay("chat_plain")
    result = await adapter.chat_completion(chat(request))

    backend.assert_requests_match()
    sent = backend.requests[0]
    assert sent.url == "https://api.anthropic.com/v1/messages"
    assert sent.headers["x-api-key"] == KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    assert result.object == "chat.completion"
    assert result.id == "msg_01XFDUDYJgAACzvnptvVoYEL"
    assert result.choices[0].message.content == "Hello!"
    assert result.choices[0].message.tool_calls is None
    assert result.choices[0].finish_reason == "stop"


async def test_usage_counts_cache_reads_as_prompt_tokens() -> None:
    backend, adapter, request = replay("chat_plain")
    usage = (await adapter.chat_completion(chat(request))).usage

    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (29, 4, 33)
    assert usage.prompt_tokens_details.cached_tokens == 8


async def test_images_become_base64_and_url_sources_and_max_tokens_maps_to_length() -> None:
    backend, adapter, request = replay("chat_vision")
    result = await adapter.chat_completion(chat(request))

    backend.assert_requests_match()
    assert result.choices[0].finish_reason == "length"


async def test_configured_default_max_tokens_is_sent_when_the_request_has_none() -> None:
    body = build_messages_call(chat(ANTHROPIC.cassette("stream_text")["openai_request"]), 1234).body
    assert body["max_tokens"] == 1234


# ---- tools --------------------------------------------------------------------------------------


async def test_multi_turn_tool_calls_and_merged_tool_results_translate_both_ways() -> None:
    backend, adapter, request = replay("chat_tools_multiturn")
    result = await adapter.chat_completion(chat(request))

    backend.assert_requests_match()
    choice = result.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "I'll look up tomorrow's forecast."
    [call] = choice.message.tool_calls
    assert call.id == "toolu_01A09q90qw90lq917835lq9"
    assert call.type == "function"
    assert call.function.name == "get_forecast"
    assert json.loads(call.function.arguments) == {"city": "Paris", "days": 1}


@pytest.mark.parametrize(("choice", "expected"), [
    ("auto", {"type": "auto"}),
    ("none", {"type": "none"}),
    ("required", {"type": "any"}),
    ({"type": "function", "function": {"name": "get_weather"}}, {"type": "tool", "name": "get_weather"}),
])
def test_tool_choice_maps_to_anthropic_tool_choice(choice: Any, expected: dict[str, Any]) -> None:
    request = ChatCompletionRequest.model_validate({
        "model": "m", "messages": [{"role": "user", "content": "hi"}], "tool_choice": choice,
        "tools": [{"type": "function", "function": {"name": "get_weather"}}]})
    body = build_messages_call(request, 100).body
    assert body["tool_choice"] == expected
    assert body["tools"] == [{"name": "get_weather", "input_schema": {"type": "object", "properties": {}}}]


# ---- JSON output --------------------------------------------------------------------------------


async def test_json_schema_is_a_forced_tool_whose_input_is_returned_as_content() -> None:
    backend, adapter, request = replay("json_schema")
    result = await adapter.chat_completion(chat(request))

    backend.assert_requests_match()
    choice = result.choices[0]
    assert json.loads(choice.message.content) == {"city": "Paris", "temp_c": 18}
    assert choice.message.tool_calls is None
    assert choice.finish_reason == "stop"


def test_json_format_with_caller_tools_lets_the_model_pick_a_tool_or_the_schema() -> None:
    request = ChatCompletionRequest.model_validate({
        "model": "m", "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "function", "function": {"name": "search"}}],
        "response_format": {"type": "json_object"}})
    call = build_messages_call(request, 100)
    assert call.json_tool == "json_response"
    assert [tool["name"] for tool in call.body["tools"]] == ["search", "json_response"]
    assert call.body["tool_choice"] == {"type": "any"}


def test_json_schema_that_is_not_an_object_is_unsupported() -> None:
    request = ChatCompletionRequest.model_validate({
        "model": "m", "messages": [{"role": "user", "content": "hi"}],
        "response_format": {"type": "json_schema",
                            "json_schema": {"name": "list", "schema": {"type": "array"}}}})
    with pytest.raises(UnsupportedParameterError):
        build_messages_call(request, 100)


# ---- streaming ----------------------------------------------------------------------------------


async def test_streaming_text_yields_role_deltas_finish_and_usage_chunks() -> None:
    backend, adapter, request = replay("stream_text")
    chunks = await collect(await adapter.chat_completion(chat(request)))

    backend.assert_requests_match()
    assert backend.requests[0].headers["accept"] == "text/event-stream"
    assert all(chunk.id == "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY" for chunk in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "Hello!"
    reasons = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert reasons == ["stop"]
    last = chunks[-1]
    assert last.choices == []
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (25, 15, 40)


async def test_streaming_tool_calls_carry_index_id_name_then_argument_fragments() -> None:
    backend, adapter, request = replay("stream_tool_calls")
    chunks = await collect(await adapter.chat_completion(chat(request)))

    calls = [call for chunk in chunks for call in (chunk.choices[0].delta.tool_calls or [])]
    assert calls[0].index == 0
    assert calls[0].id == "toolu_01T1x1fJ34qAmk2tNTrN7Up6"
    assert calls[0].function.name == "get_weather"
    assert all(call.index == 0 and call.id is None for call in calls[1:])
    arguments = "".join(call.function.arguments or "" for call in calls)
    assert json.loads(arguments) == {"location": "San Francisco, CA", "unit": "fahrenheit"}
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert text == "Okay, let me check the weather."
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    assert all(chunk.usage is None for chunk in chunks)  # include_usage was not asked for


async def test_mid_stream_error_event_raises_provider_error() -> None:
    backend, adapter, request = replay("stream_error")
    stream = await adapter.chat_completion(chat(request))
    received = []
    with pytest.raises(ProviderError, match="overloaded_error") as info:
        async for chunk in stream:
            received.append(chunk)
    assert "claude" in info.value.message
    assert "".join(c.choices[0].delta.content or "" for c in received) == "Hel"


# ---- errors -------------------------------------------------------------------------------------


async def test_connection_refused_is_a_provider_error() -> None:
    _, _, request = replay("chat_plain")
    adapter = make_adapter(failing_client(httpx.ConnectError("Connection refused")))
    with pytest.raises(ProviderError, match="cannot reach") as info:
        await adapter.chat_completion(chat(request))
    assert not isinstance(info.value, ProviderTimeoutError)


async def test_timeout_is_a_provider_timeout() -> None:
    _, _, request = replay("chat_plain")
    adapter = make_adapter(failing_client(httpx.ReadTimeout("timed out")))
    with pytest.raises(ProviderTimeoutError) as info:
        await adapter.chat_completion(chat(request))
    assert info.value.status_code == 504


async def test_missing_key_is_reported_before_any_request() -> None:
    backend, _, request = replay("chat_plain")
    adapter = AnthropicInferenceAdapter(AnthropicConfig(), client=backend.client())
    with pytest.raises(AuthenticationError, match="anthropic_api_key"):
        await adapter.chat_completion(chat(request))
    assert backend.requests == []


@pytest.mark.parametrize("update", [
    {"n": 2}, {"temperature": 1.5}, {"logprobs": True}, {"presence_penalty": 0.5}, {"logit_bias": {"1": 1}},
])
def test_parameters_anthropic_cannot_honour_are_rejected(update: dict[str, Any]) -> None:
    request = ChatCompletionRequest.model_validate({
        "model": "m", "messages": [{"role": "user", "content": "hi"}], **update})
    with pytest.raises(UnsupportedParameterError):
        build_messages_call(request, 100)


def test_tool_call_arguments_that_are_not_a_json_object_are_rejected() -> None:
    request = ChatCompletionRequest.model_validate({"model": "m", "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "tool_calls": [{"id": "t", "function": {"name": "f", "arguments": "[1]"}}]}]})
    with pytest.raises(InvalidRequestError, match="JSON object"):
        build_messages_call(request, 100)


async def test_completion_and_embeddings_are_not_implemented() -> None:
    adapter = make_adapter(failing_client(httpx.ConnectError("unused")))
    with pytest.raises(NotImplementedByProviderError, match="chat/completions"):
        await adapter.completion(CompletionRequest(model="m", prompt="hi"))
    with pytest.raises(NotImplementedByProviderError, match="embeddings"):
        await adapter.embeddings(EmbeddingsRequest(model="m", input="hi"))


# ---- models -------------------------------------------------------------------------------------


async def test_list_models_follows_pages_and_lists_llms() -> None:
    backend, adapter, _ = replay("models")
    models = await adapter.list_models()

    backend.assert_requests_match()
    assert [m.provider_resource_id for m in models] == [
        "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"]
    assert all(m.model_type == ModelType.llm for m in models)
    assert models[0].metadata["display_name"] == "Claude Sonnet 4.5"


async def test_list_models_without_a_configured_key_says_it_cannot_tell() -> None:
    backend = CassetteBackend(ANTHROPIC.cassette("models"))
    adapter = AnthropicInferenceAdapter(AnthropicConfig(), client=backend.client())
    assert await adapter.list_models() is None
    assert backend.requests == []


# ---- stream lifecycle ---------------------------------------------------------------------------


async def test_stopping_a_stream_early_closes_the_upstream_response() -> None:
    closed = []

    class Body(httpx.AsyncByteStream):
        async def __aiter__(self) -> Any:
            cassette = ANTHROPIC.cassette("stream_text")
            for line in cassette["interactions"][0]["response"]["sse_lines"]:
                yield (line + "\n").encode()

        async def aclose(self) -> None:
            closed.append(True)

    transport = httpx.MockTransport(lambda request: httpx.Response(200, stream=Body()))
    client = httpx.AsyncClient(transport=transport)
    request = chat(ANTHROPIC.cassette("stream_text")["openai_request"])
    stream = await make_adapter(client).chat_completion(request)
    await anext(stream)
    await stream.aclose()
    assert closed == [True]


def test_streamed_response_format_tool_input_becomes_content_deltas() -> None:
    translator = StreamTranslator("claude", json_tool="weather_report")
    events = [
        {"type": "message_start", "message": {"id": "msg_1", "model": "m", "usage": {"input_tokens": 3}}},
        {"type": "content_block_start", "index": 0,
         "content_block": {"type": "tool_use", "id": "toolu_1", "name": "weather_report", "input": {}}},
        {"type": "content_block_delta", "index": 0,
         "delta": {"type": "input_json_delta", "partial_json": "{\"a\""}},
        {"type": "content_block_delta", "index": 0,
         "delta": {"type": "input_json_delta", "partial_json": ": 1}"}},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 5}},
    ]
    chunks = [chunk for event in events for chunk in translator.feed(event)]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == '{"a": 1}'
    assert all(c.choices[0].delta.tool_calls is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"
