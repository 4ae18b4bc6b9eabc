"""remote::gemini against a fake backend written from the public Gemini API docs, not recorded."""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import httpx
import pytest
from native_backend import failing_client
from native_harness import GEMINI, chat, collect

from polystack.apis.errors import (
    InvalidRequestError,
    NotImplementedByProviderError,
    ProviderError,
    ProviderTimeoutError,
    UnsupportedParameterError,
)
from polystack.apis.inference.types import CompletionRequest, EmbeddingsRequest
from polystack.apis.models.types import ModelType
from polystack.providers.remote.inference.gemini.request import build_generate_body, model_path

KEY = GEMINI.key
make_adapter = GEMINI.adapter
replay = GEMINI.replay


# ---- plain chat ---------------------------------------------------------------------------------


async def test_plain_chat_sends_system_instruction_and_generation_config() -> None:
    backend, adapter, request = replay("chat_plain")
    result = await adapter.chat_completion(chat(request))

    backend.assert_requests_match()
    sent = backend.requests[0]
    assert sent.url == ("https://generativelanguage.googleapis.com/v1beta"
                        "/models/gemini-2.5-flash:generateContent")
    assert sent.headers["x-goog-api-key"] == KEY
    assert KEY not in str(sent.url)
    assert result.id == "chatcmpl-mAitaLmkHPPlz7IPvtfUqQ4"
    assert [c.message.content for c in result.choices] == ["Hello!", "Hi there."]
    assert [c.index for c in result.choices] == [0, 1]
    assert [c.finish_reason for c in result.choices] == ["stop", "length"]


async def test_usage_counts_thinking_tokens_as_reasoning_completion_tokens() -> None:
    backend, adapter, request = replay("chat_plain")
    usage = (await adapter.chat_completion(chat(request))).usage

    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (9, 16, 25)
    assert usage.completion_tokens_details.reasoning_tokens == 10


def test_model_names_cannot_reshape_the_url_path() -> None:
    assert model_path("gemini-2.5-flash", "embedContent") == "/models/gemini-2.5-flash:embedContent"
    assert model_path("models/gemini-2.5-flash", "generateContent") == ("/models/gemini-2.5-flash"
                                                                        ":generateContent")
    assert model_path("tunedModels/mine-1", "generateContent") == "/tunedModels/mine-1:generateContent"
    for bad in ("../files/x", "gemini?alt=json", "a/b/c"):
        with pytest.raises(InvalidRequestError):
            model_path(bad, "generateContent")


# ---- tools --------------------------------------------------------------------------------------


async def test_multi_turn_function_calls_and_responses_translate_both_ways() -> None:
    backend, adapter, request = replay("chat_tools_multiturn")
    result = await adapter.chat_completion(chat(request))

    backend.assert_requests_match()
    choice = result.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Let me also check tomorrow."
    [call] = choice.message.tool_calls
    assert call.id.startswith("call_")
    assert call.function.name == "get_forecast"
    assert json.loads(call.function.arguments) == {"city": "Paris", "days": 1}
    # the thought signature travels as Google's OpenAI-compatible endpoint sends it, to be echoed back
    assert call.model_extra["extra_content"] == {"google": {"thought_signature": "c2lnLWZvcmVjYXN0"}}


@pytest.mark.parametrize(("choice", "expected"), [
    ("auto", {"mode": "AUTO"}),
    ("none", {"mode": "NONE"}),
    ("required", {"mode": "ANY"}),
    ({"type": "function", "function": {"name": "lookup"}},
     {"mode": "ANY", "allowedFunctionNames": ["lookup"]}),
])
def test_tool_choice_maps_to_function_calling_config(choice: Any, expected: dict[str, Any]) -> None:
    body = build_generate_body(chat({
        "model": "m", "messages": [{"role": "user", "content": "hi"}], "tool_choice": choice,
        "tools": [{"type": "function", "function": {"name": "lookup"}}]}))
    assert body["toolConfig"] == {"functionCallingConfig": expected}
    assert body["tools"] == [{"functionDeclarations": [{"name": "lookup"}]}]


def test_tool_result_for_an_unknown_call_id_is_rejected() -> None:
    with pytest.raises(InvalidRequestError, match="tool_call_id"):
        build_generate_body(chat({"model": "m", "messages": [
            {"role": "user", "content": "hi"}, {"role": "tool", "tool_call_id": "nope", "content": "x"}]}))


def test_images_and_audio_become_inline_data_and_http_urls_are_unsupported() -> None:
    body = build_generate_body(chat({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}]}]}))
    assert body["contents"][0]["parts"] == [{"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQ"}},
                                            {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}}]
    with pytest.raises(UnsupportedParameterError):
        build_generate_body(chat({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}]}]}))


# ---- JSON output --------------------------------------------------------------------------------


async def test_json_schema_becomes_response_mime_type_and_json_schema() -> None:
    backend, adapter, request = replay("json_schema")
    result = await adapter.chat_completion(chat(request))

    backend.assert_requests_match()
    assert json.loads(result.choices[0].message.content) == {"city": "Paris", "temp_c": 18}


def test_json_object_sets_only_the_mime_type() -> None:
    body = build_generate_body(chat({"model": "m", "messages": [{"role": "user", "content": "hi"}],
                                     "response_format": {"type": "json_object"}}))
    assert body["generationConfig"] == {"responseMimeType": "application/json"}


# ---- streaming ----------------------------------------------------------------------------------


async def test_streaming_text_uses_sse_and_yields_deltas_finish_and_usage() -> None:
    backend, adapter, request = replay("stream_text")
    chunks = await collect(await adapter.chat_completion(chat(request)))

    backend.assert_requests_match()
    assert "key" not in str(backend.requests[0].url)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello world!"
    reasons = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert reasons == ["stop"]
    assert all(c.id == "chatcmpl-stream-1" for c in chunks)
    last = chunks[-1]
    assert last.choices == []
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (5, 3, 8)


async def test_streaming_function_calls_arrive_whole_with_indexes_and_ids() -> None:
    backend, adapter, request = replay("stream_tool_calls")
    chunks = await collect(await adapter.chat_completion(chat(request)))

    calls = [call for c in chunks for call in (c.choices[0].delta.tool_calls or [])]
    assert [call.index for call in calls] == [0, 1]
    assert all(call.id.startswith("call_") and call.type == "function" for call in calls)
    assert [json.loads(call.function.arguments) for call in calls] == [{"city": "Paris"}, {"city": "London"}]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    assert all(chunk.usage is None for chunk in chunks)


async def test_mid_stream_error_raises_provider_error() -> None:
    backend, adapter, request = replay("stream_error")
    stream = await adapter.chat_completion(chat(request))
    with pytest.raises(ProviderError, match="UNAVAILABLE") as info:
        await collect(stream)
    assert "gem" in info.value.message


# ---- errors -------------------------------------------------------------------------------------


async def test_connection_refused_and_timeout() -> None:
    request = chat(GEMINI.cassette("chat_plain")["openai_request"])
    with pytest.raises(ProviderError, match="cannot reach"):
        await make_adapter(failing_client(httpx.ConnectError("refused"))).chat_completion(request)
    with pytest.raises(ProviderTimeoutError):
        await make_adapter(failing_client(httpx.ConnectTimeout("slow"))).chat_completion(request)


@pytest.mark.parametrize("update", [{"logprobs": True}, {"logit_bias": {"1": 2}}])
def test_parameters_gemini_cannot_honour_are_rejected(update: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedParameterError):
        build_generate_body(chat({"model": "m", "messages": [{"role": "user", "content": "hi"}], **update}))


async def test_legacy_completion_is_not_implemented() -> None:
    adapter = make_adapter(failing_client(httpx.ConnectError("unused")))
    with pytest.raises(NotImplementedByProviderError, match="chat/completions"):
        await adapter.completion(CompletionRequest(model="m", prompt="hi"))


# ---- embeddings ---------------------------------------------------------------------------------


async def test_embeddings_use_batch_embed_contents_with_output_dimensionality() -> None:
    backend, adapter, request = replay("embeddings")
    result = await adapter.embeddings(EmbeddingsRequest.model_validate(request))

    backend.assert_requests_match()
    assert [item.embedding for item in result.data] == [[0.5, -0.25, 0.125], [1.0, 0.0, -2.0]]
    assert [item.index for item in result.data] == [0, 1]
    assert result.model == "gemini-embedding-001"


async def test_base64_embeddings_are_packed_float32_little_endian() -> None:
    backend, adapter, request = replay("embeddings")
    result = await adapter.embeddings(
        EmbeddingsRequest.model_validate({**request, "encoding_format": "base64"}))

    raw = base64.b64decode(result.data[0].embedding)
    assert struct.unpack("<3f", raw) == (0.5, -0.25, 0.125)
    assert result.model_dump(mode="json")["data"][1]["embedding"] == base64.b64encode(
        struct.pack("<3f", 1.0, 0.0, -2.0)).decode()


async def test_token_id_input_is_unsupported() -> None:
    adapter = make_adapter(failing_client(httpx.ConnectError("unused")))
    with pytest.raises(UnsupportedParameterError):
        await adapter.embeddings(EmbeddingsRequest(model="gemini-embedding-001", input=[1, 2, 3]))


# ---- models -------------------------------------------------------------------------------------


async def test_list_models_maps_generation_methods_and_known_embedding_dimensions() -> None:
    backend, adapter, _ = replay("models")
    models = await adapter.list_models()

    backend.assert_requests_match()
    by_id = {m.provider_resource_id: m for m in models}
    assert set(by_id) == {"gemini-2.5-flash", "gemini-embedding-001"}  # imagen and unknown embedders left out
    assert by_id["gemini-2.5-flash"].model_type == ModelType.llm
    assert by_id["gemini-2.5-flash"].metadata["context_length"] == 1048576
    assert by_id["gemini-embedding-001"].model_type == ModelType.embedding
    assert by_id["gemini-embedding-001"].metadata["embedding_dimension"] == 3072


async def test_a_blocked_prompt_ends_with_content_filter() -> None:
    body = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 4}}
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(200, json=body)))
    request = chat(GEMINI.cassette("stream_text")["openai_request"], stream=False)
    result = await make_adapter(client).chat_completion(request)
    assert result.choices[0].finish_reason == "content_filter"
    assert result.choices[0].message.content is None
