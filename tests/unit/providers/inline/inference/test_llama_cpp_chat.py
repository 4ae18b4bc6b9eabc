"""inline::llama-cpp chat on the real packaged SmolLM2-135M (loaded once per module, ~0.3 s).

A model's exact words depend on the CPU's kernels, so these tests assert what the server guarantees
(shapes, grammar-enforced structure, finish reasons, what reached the prompt), never the wording.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from polystack.apis.errors import InvalidRequestError, ModelNotFoundError, UnsupportedParameterError
from polystack.apis.inference.types import ChatCompletionRequest, EmbeddingsRequest
from polystack.apis.models.types import ModelType
from polystack.providers.inline.inference.llama_cpp import create
from polystack.providers.inline.inference.llama_cpp.adapter import LlamaCppInferenceAdapter
from polystack.providers.inline.inference.llama_cpp.config import LlamaCppConfig

MODEL = "SmolLM2-135M-Instruct"
FRANCE = [{"role": "system", "content": "You are a helpful assistant. Answer briefly."},
          {"role": "user", "content": "What is the capital of France?"}]
# Bounded strings and integers: the grammar admits at most ~60 characters, so 96 tokens always end in "stop".
PERSON_SCHEMA = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 12},
                                                  "age": {"type": "integer", "minimum": 0, "maximum": 150}},
                 "required": ["name", "age"], "additionalProperties": False}
NO_END = {"1": -100, "2": -100}  # SmolLM2's <|im_start|> and <|im_end|>: the reply cannot end before max_tokens


@pytest.fixture(scope="module")
async def adapter() -> AsyncIterator[LlamaCppInferenceAdapter]:
    impl = await create(LlamaCppConfig(), {})
    impl.provider_id = "llama-cpp"
    yield impl
    await impl.shutdown()


def chat(**fields: Any) -> ChatCompletionRequest:
    fields.setdefault("messages", FRANCE)
    return ChatCompletionRequest.model_validate({"model": MODEL, "temperature": 0, "max_tokens": 24, **fields})


async def test_lists_the_packaged_model_with_its_context_and_quantisation(adapter: LlamaCppInferenceAdapter) -> None:
    (model,) = await adapter.list_models() or []
    assert model.provider_resource_id == MODEL and model.model_type == ModelType.llm
    assert model.metadata["context_length"] == 4096 and model.metadata["quantization"] == "Q4_1"
    assert model.metadata["file_size_bytes"] > 90_000_000
    assert (await adapter.health()).status == "OK"


async def test_a_reply_has_openai_shape_and_counts_its_tokens(adapter: LlamaCppInferenceAdapter) -> None:
    reply = await adapter.chat_completion(chat())
    assert isinstance(reply.choices[0].message.content, str) and reply.choices[0].message.role == "assistant"
    assert reply.id.startswith("chatcmpl-") and reply.object == "chat.completion" and reply.created > 0
    assert reply.model == MODEL and reply.choices[0].finish_reason in ("stop", "length")
    usage = reply.usage
    assert usage and usage.prompt_tokens > 10 and 0 < usage.completion_tokens <= 24
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    if reply.choices[0].finish_reason == "length":
        assert usage.completion_tokens == 24


async def test_stream_concatenates_to_the_whole_answer_and_ends_with_usage(adapter: LlamaCppInferenceAdapter) -> None:
    whole = await adapter.chat_completion(chat(seed=7))
    stream = await adapter.chat_completion(chat(seed=7, stream=True, stream_options={"include_usage": True}))
    chunks = [chunk async for chunk in stream]
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert len(chunks) > 3 and text == whole.choices[0].message.content
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[0].id.startswith("chatcmpl-") and {c.id for c in chunks} == {chunks[0].id}
    assert chunks[-2].choices[0].finish_reason == whole.choices[0].finish_reason
    assert chunks[-1].choices == [] and chunks[-1].usage == whole.usage


async def test_max_tokens_cuts_the_answer_with_finish_reason_length(adapter: LlamaCppInferenceAdapter) -> None:
    reply = await adapter.chat_completion(chat(max_completion_tokens=3, logit_bias=NO_END,
                                               messages=[{"role": "user", "content": "Tell me a long story."}]))
    assert reply.choices[0].finish_reason == "length" and reply.usage and reply.usage.completion_tokens == 3


async def test_without_max_tokens_the_reply_stops_at_the_configured_default_limit() -> None:
    impl = await create(LlamaCppConfig(default_max_tokens=5), {})
    try:
        reply = await impl.chat_completion(ChatCompletionRequest.model_validate({
            "model": MODEL, "messages": [{"role": "user", "content": "Tell me a long story about a dragon."}]}))
        assert reply.choices[0].finish_reason == "length"
        assert reply.usage and reply.usage.completion_tokens == 5
        asked = await impl.chat_completion(chat(max_tokens=7, temperature=1.0, logit_bias={"1": -100, "2": -100},
                                                messages=[{"role": "user", "content": "Tell me a long story."}]))
        assert asked.usage and asked.usage.completion_tokens == 7  # a request's own max_tokens still wins
    finally:
        await impl.shutdown()


async def test_warm_up_runs_a_generation_before_any_request() -> None:
    impl = await create(LlamaCppConfig(), {})
    try:
        engine = impl.models[MODEL].engine
        assert engine.busy()["generations"] == 0
        await impl.warm_up()
        assert engine.busy()["generations"] > 0  # llama.cpp has decoded: its first, slow run is behind it
    finally:
        await impl.shutdown()


async def test_a_conversation_without_a_system_message_gets_the_templates_default(
        adapter: LlamaCppInferenceAdapter) -> None:
    assert adapter.models[MODEL].prompt_format.default_system.startswith("You are a helpful AI assistant named SmolLM")
    bare = await adapter.chat_completion(chat(max_tokens=1, messages=[{"role": "user", "content": "hi"}]))
    own = await adapter.chat_completion(chat(max_tokens=1, messages=[{"role": "system", "content": "x"},
                                                                     {"role": "user", "content": "hi"}]))
    assert bare.usage and own.usage and bare.usage.prompt_tokens > own.usage.prompt_tokens + 10


async def test_stop_sequence_ends_the_answer_before_it(adapter: LlamaCppInferenceAdapter) -> None:
    whole = (await adapter.chat_completion(chat(max_tokens=12, logit_bias=NO_END))).choices[0].message.content or ""
    middle = len(whole) // 2
    stop = whole[middle:middle + 2]  # a piece of what this machine's model writes, whatever it is
    reply = await adapter.chat_completion(chat(max_tokens=12, logit_bias=NO_END, stop=[stop]))
    assert reply.choices[0].message.content == whole.split(stop)[0]
    assert reply.choices[0].finish_reason == "stop"


async def test_json_schema_output_parses_and_validates(adapter: LlamaCppInferenceAdapter) -> None:
    reply = await adapter.chat_completion(chat(
        max_tokens=96, messages=[{"role": "user", "content": "Invent a person with a name and an age."}],
        response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON_SCHEMA}}))
    assert reply.choices[0].finish_reason == "stop"  # the grammar's longest output fits in 96 tokens
    person = json.loads(reply.choices[0].message.content or "")
    assert set(person) == {"name", "age"}
    assert isinstance(person["name"], str) and len(person["name"]) <= 12
    assert isinstance(person["age"], int) and 0 <= person["age"] <= 150


async def test_json_object_output_is_an_object_when_finished_and_a_cut_one_says_length(
        adapter: LlamaCppInferenceAdapter) -> None:
    reply = await adapter.chat_completion(chat(
        max_tokens=64, response_format={"type": "json_object"},
        messages=[{"role": "user", "content": "Give the capital of France as JSON."}]))
    content, choice = reply.choices[0].message.content or "", reply.choices[0]
    assert content.lstrip().startswith("{")  # the grammar allows nothing else
    if choice.finish_reason == "stop":
        assert isinstance(json.loads(content), dict)
    else:  # an object longer than max_tokens is cut, as OpenAI's is, and says so
        assert choice.finish_reason == "length" and reply.usage and reply.usage.completion_tokens == 64


async def test_logprobs_name_each_token_with_alternatives(adapter: LlamaCppInferenceAdapter) -> None:
    reply = await adapter.chat_completion(chat(max_tokens=6, logprobs=True, top_logprobs=2))
    choice = reply.choices[0]
    entries = choice.logprobs.content if choice.logprobs else None
    assert entries and "".join(entry.token for entry in entries) == choice.message.content
    for entry in entries:
        assert entry.logprob <= 0 and len(entry.top_logprobs) == 2
        assert entry.top_logprobs[0].logprob >= entry.top_logprobs[1].logprob
        assert entry.top_logprobs[0].token == entry.token  # greedy: the chosen token is the likeliest


async def test_n_gives_that_many_choices_and_counts_their_tokens(adapter: LlamaCppInferenceAdapter) -> None:
    reply = await adapter.chat_completion(chat(n=2, max_tokens=4, logit_bias=NO_END))
    assert [choice.index for choice in reply.choices] == [0, 1]
    assert reply.usage and reply.usage.completion_tokens == 8


async def test_text_parts_are_read_and_developer_messages_act_as_system(adapter: LlamaCppInferenceAdapter) -> None:
    """The same prompt as plain system and user strings: the same tokens, so the same greedy reply."""
    parts = await adapter.chat_completion(chat(max_tokens=8, messages=[
        {"role": "developer", "content": [{"type": "text", "text": "You are a helpful assistant."}]},
        {"role": "user", "content": [{"type": "text", "text": "What is the capital "},
                                     {"type": "text", "text": "of France?"}]}]))
    plain = await adapter.chat_completion(chat(max_tokens=8, messages=[
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is the capital of France?"}]))
    assert parts.usage and plain.usage and parts.usage.prompt_tokens == plain.usage.prompt_tokens
    assert parts.choices[0].message.content == plain.choices[0].message.content


async def test_an_image_part_is_an_unsupported_parameter(adapter: LlamaCppInferenceAdapter) -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    with pytest.raises(UnsupportedParameterError) as info:
        await adapter.chat_completion(chat(messages=[{"role": "user", "content": [
            {"type": "text", "text": "What is this?"}, image]}]))
    assert info.value.param == "messages[0].content[1]" and info.value.status_code == 400


async def test_n_above_the_limit_is_an_unsupported_parameter(adapter: LlamaCppInferenceAdapter) -> None:
    with pytest.raises(UnsupportedParameterError) as info:
        await adapter.chat_completion(chat(n=50))
    assert info.value.param == "n"


async def test_a_prompt_longer_than_the_context_is_a_400(adapter: LlamaCppInferenceAdapter) -> None:
    with pytest.raises(InvalidRequestError) as info:
        await adapter.chat_completion(chat(messages=[{"role": "user", "content": "word " * 5000}]))
    assert info.value.code == "context_length_exceeded"


async def test_an_impossible_schema_is_a_400_naming_response_format(adapter: LlamaCppInferenceAdapter) -> None:
    bad = {"type": "object", "properties": {"x": {"$ref": "https://example.com/remote.json"}}}
    with pytest.raises(InvalidRequestError) as info:
        await adapter.chat_completion(chat(
            response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": bad}}))
    assert (info.value.param or "").startswith("response_format")


async def test_unknown_model_and_embeddings_are_refused(adapter: LlamaCppInferenceAdapter) -> None:
    with pytest.raises(ModelNotFoundError):
        await adapter.chat_completion(chat(model="nope"))
    with pytest.raises(InvalidRequestError):
        await adapter.embeddings(EmbeddingsRequest(model=MODEL, input="hello"))
