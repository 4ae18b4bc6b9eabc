"""inline::llama-cpp tool calls on the real packaged SmolLM2-135M: auto, none, required, named, streamed.

Which tool a model picks, and whether it calls one at all under `auto`, depends on the CPU's kernels;
these tests assert what the grammar and the server guarantee instead.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from polystack.apis.inference.types import ChatCompletionRequest
from polystack.providers.inline.inference.llama_cpp import create
from polystack.providers.inline.inference.llama_cpp.adapter import LlamaCppInferenceAdapter
from polystack.providers.inline.inference.llama_cpp.config import LlamaCppConfig, LlamaCppModelConfig

MODEL = "SmolLM2-135M-Instruct"
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather in a city",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city"]}}}
TIME = {"type": "function", "function": {
    "name": "get_time", "description": "Get the local time in a timezone",
    "parameters": {"type": "object", "properties": {"timezone": {"type": "string"}}, "required": ["timezone"]}}}
ASK_WEATHER = [{"role": "user", "content": "What is the weather in Paris?"}]


@pytest.fixture(scope="module")
async def adapter() -> AsyncIterator[LlamaCppInferenceAdapter]:
    impl = await create(LlamaCppConfig(), {})
    yield impl
    await impl.shutdown()


def chat(**fields: Any) -> ChatCompletionRequest:
    fields.setdefault("messages", ASK_WEATHER)
    fields.setdefault("tools", [WEATHER, TIME])
    return ChatCompletionRequest.model_validate({"model": MODEL, "temperature": 0, "max_tokens": 48, **fields})


def assert_valid_weather_arguments(arguments: str) -> None:
    parsed = json.loads(arguments)
    assert isinstance(parsed["city"], str)
    assert set(parsed) <= {"city", "unit"} and parsed.get("unit", "celsius") in ("celsius", "fahrenheit")


def assert_valid_arguments(name: str, arguments: str) -> None:
    if name == "get_weather":
        assert_valid_weather_arguments(arguments)
    else:
        assert name == "get_time" and isinstance(json.loads(arguments)["timezone"], str)


def assert_no_protocol_text(content: str | None) -> None:
    assert content is not None
    lines = [line.strip().lower() for line in content.splitlines()]
    assert not any(line.startswith(("functions.", "function.", "message:")) for line in lines), content


async def test_required_makes_a_tool_call_whose_arguments_fit_the_tool(adapter: LlamaCppInferenceAdapter) -> None:
    reply = await adapter.chat_completion(chat(tool_choice="required", tools=[WEATHER]))
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    (call,) = choice.message.tool_calls or []
    assert call.id.startswith("call_") and call.type == "function"
    assert call.function.name == "get_weather"
    assert_valid_weather_arguments(call.function.arguments)


async def test_a_named_tool_choice_calls_that_tool(adapter: LlamaCppInferenceAdapter) -> None:
    reply = await adapter.chat_completion(chat(
        tool_choice={"type": "function", "function": {"name": "get_time"}},
        messages=[{"role": "user", "content": "What time is it in Tokyo?"}]))
    (call,) = reply.choices[0].message.tool_calls or []
    assert call.function.name == "get_time"
    assert isinstance(json.loads(call.function.arguments)["timezone"], str)


@pytest.mark.parametrize("question", ["What is the weather in Paris?", "Hello! How are you?"])
async def test_auto_replies_with_valid_calls_or_a_message_never_both(adapter: LlamaCppInferenceAdapter,
                                                                     question: str) -> None:
    reply = await adapter.chat_completion(chat(messages=[{"role": "user", "content": question}]))
    choice = reply.choices[0]
    if choice.message.tool_calls:
        assert choice.finish_reason == "tool_calls" and choice.message.content is None
        for call in choice.message.tool_calls:
            assert_valid_arguments(call.function.name, call.function.arguments)
    else:
        assert choice.finish_reason in ("stop", "length")
        assert_no_protocol_text(choice.message.content)


async def test_none_answers_in_text(adapter: LlamaCppInferenceAdapter) -> None:
    reply = await adapter.chat_completion(chat(tool_choice="none", max_tokens=12))
    message = reply.choices[0].message
    assert message.content is not None and not message.tool_calls
    assert_no_protocol_text(message.content)
    assert reply.choices[0].finish_reason in ("stop", "length")


async def test_streamed_tool_call_deltas_reassemble_into_the_call(adapter: LlamaCppInferenceAdapter) -> None:
    whole = await adapter.chat_completion(chat(tool_choice="required", tools=[WEATHER]))
    stream = await adapter.chat_completion(chat(tool_choice="required", tools=[WEATHER], stream=True))
    chunks = [chunk async for chunk in stream]
    deltas = [delta for chunk in chunks if chunk.choices for delta in chunk.choices[0].delta.tool_calls or []]
    assert len(deltas) > 2 and {delta.index for delta in deltas} == {0}
    first = deltas[0]
    assert first.id and first.id.startswith("call_") and first.type == "function"
    assert first.function and first.function.name == "get_weather"
    arguments = "".join(delta.function.arguments or "" for delta in deltas if delta.function)
    assert arguments == (whole.choices[0].message.tool_calls or [])[0].function.arguments
    assert_valid_weather_arguments(arguments)
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


async def test_auto_streams_the_same_reply_it_returns_whole(adapter: LlamaCppInferenceAdapter) -> None:
    whole = (await adapter.chat_completion(chat(seed=5))).choices[0]
    stream = await adapter.chat_completion(chat(seed=5, stream=True))
    chunks = [chunk async for chunk in stream if chunk.choices]  # type: ignore[union-attr]
    names = [delta.function.name for chunk in chunks for delta in chunk.choices[0].delta.tool_calls or []
             if delta.function and delta.function.name]
    assert names == [call.function.name for call in whole.message.tool_calls or []]
    content = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert content == (whole.message.content or "")
    assert chunks[-1].choices[0].finish_reason == whole.finish_reason


WEATHER_RESULT = [
    *ASK_WEATHER,
    {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {
        "name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 24 degrees celsius"},
]


async def test_after_a_tool_result_auto_answers_with_a_message_free_of_protocol_text(
        adapter: LlamaCppInferenceAdapter) -> None:
    reply = await adapter.chat_completion(chat(messages=WEATHER_RESULT, temperature=1.0, seed=1, n=3, max_tokens=24))
    for choice in reply.choices:
        assert not choice.message.tool_calls and choice.finish_reason in ("stop", "length")
        assert_no_protocol_text(choice.message.content)


async def test_with_no_tools_offered_no_protocol_text_ever_appears(adapter: LlamaCppInferenceAdapter) -> None:
    request = chat(messages=WEATHER_RESULT, tools=None, temperature=1.0, seed=2, n=3, max_tokens=24)
    reply = await adapter.chat_completion(request)
    for choice in reply.choices:
        assert not choice.message.tool_calls
        assert_no_protocol_text(choice.message.content)
    stream = await adapter.chat_completion(request.model_copy(update={"stream": True}))
    streamed = ["", "", ""]
    async for chunk in stream:  # type: ignore[union-attr]
        for choice in chunk.choices:
            streamed[choice.index] += choice.delta.content or ""
    for text in streamed:
        assert_no_protocol_text(text)


async def test_a_model_set_to_choose_may_call_again_after_a_tool_result() -> None:
    """`after_tool_results: choose` keeps auto open after results: a call or a message, never both."""
    impl = await create(LlamaCppConfig(models=[LlamaCppModelConfig(after_tool_results="choose")]), {})
    try:
        reply = await impl.chat_completion(chat(messages=WEATHER_RESULT))
        message = reply.choices[0].message
        assert bool(message.tool_calls) != bool(message.content)
        if message.tool_calls:  # which tool is the model's choice; that it fits the tool is guaranteed
            (call,) = message.tool_calls
            assert reply.choices[0].finish_reason == "tool_calls"
            assert call.function.name in ("get_weather", "get_time")
            assert isinstance(json.loads(call.function.arguments), dict)
    finally:
        await impl.shutdown()
