"""inline::llama-cpp legacy completions on the real packaged SmolLM2-135M (what the server guarantees, not wording)."""

from __future__ import annotations

import json
import warnings
from collections.abc import AsyncIterator
from typing import Any

import pytest

from polystack.apis.errors import InvalidRequestError, UnsupportedParameterError
from polystack.apis.inference.types import CompletionRequest
from polystack.providers.inline.inference.llama_cpp import create
from polystack.providers.inline.inference.llama_cpp.adapter import LlamaCppInferenceAdapter
from polystack.providers.inline.inference.llama_cpp.config import LlamaCppConfig

MODEL = "SmolLM2-135M-Instruct"
PROMPT = "The capital of France is"
NO_END = {"2": -100}  # SmolLM2's end-of-text token: a completion cannot end before max_tokens


@pytest.fixture(scope="module")
async def adapter() -> AsyncIterator[LlamaCppInferenceAdapter]:
    impl = await create(LlamaCppConfig(), {})
    yield impl
    await impl.shutdown()


def complete(**fields: Any) -> CompletionRequest:
    return CompletionRequest.model_validate({"model": MODEL, "prompt": PROMPT, "temperature": 0, "max_tokens": 6,
                                             **fields})


async def test_continues_the_prompt_up_to_max_tokens(adapter: LlamaCppInferenceAdapter) -> None:
    reply = await adapter.completion(complete(logit_bias=NO_END))
    assert reply.choices[0].text
    assert reply.id.startswith("cmpl-") and reply.object == "text_completion" and reply.model == MODEL
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage and reply.usage.prompt_tokens == 5 and reply.usage.completion_tokens == 6


async def test_a_list_of_prompts_gives_one_choice_each_in_order(adapter: LlamaCppInferenceAdapter) -> None:
    prompts = [PROMPT, "One, two, three,"]
    reply = await adapter.completion(complete(prompt=prompts, max_tokens=3))
    assert [choice.index for choice in reply.choices] == [0, 1]
    for prompt, choice in zip(prompts, reply.choices, strict=True):  # greedy: each as if asked alone
        alone = await adapter.completion(complete(prompt=prompt, max_tokens=3))
        assert choice.text == alone.choices[0].text


async def test_token_prompts_match_text_prompts(adapter: LlamaCppInferenceAdapter) -> None:
    model = adapter.models[MODEL]
    by_text = await adapter.completion(complete())
    by_tokens = await adapter.completion(complete(prompt=model.tokenize(PROMPT)))
    assert by_tokens.choices[0].text == by_text.choices[0].text


async def test_echo_prepends_the_prompt_and_stop_ends_the_text(adapter: LlamaCppInferenceAdapter) -> None:
    continuation = (await adapter.completion(complete(max_tokens=12, logit_bias=NO_END))).choices[0].text
    middle = len(continuation) // 2
    stop = continuation[middle:middle + 2]  # a piece of what this machine's model writes, whatever it is
    reply = await adapter.completion(complete(echo=True, stop=[stop], max_tokens=12, logit_bias=NO_END))
    assert reply.choices[0].text == PROMPT + continuation.split(stop)[0]
    assert reply.choices[0].finish_reason == "stop"


async def test_logprobs_list_tokens_offsets_and_alternatives(adapter: LlamaCppInferenceAdapter) -> None:
    reply = await adapter.completion(complete(logprobs=2, max_tokens=4))
    choice = reply.choices[0]
    logprobs = choice.logprobs
    assert logprobs and logprobs.tokens and "".join(logprobs.tokens) == choice.text
    assert logprobs.text_offset and logprobs.text_offset[0] == 0
    assert logprobs.top_logprobs and all(len(top) == 2 for top in logprobs.top_logprobs)
    assert all(value <= 0 for value in logprobs.token_logprobs or [])


async def test_top_logprobs_always_include_the_sampled_token(adapter: LlamaCppInferenceAdapter) -> None:
    """OpenAI lists the sampled token among the alternatives too: up to logprobs + 1 entries."""
    reply = await adapter.completion(complete(logprobs=1, max_tokens=16, temperature=1.8, seed=11))
    logprobs = reply.choices[0].logprobs
    assert logprobs and logprobs.tokens and logprobs.top_logprobs and logprobs.token_logprobs
    for token, value, top in zip(logprobs.tokens, logprobs.token_logprobs, logprobs.top_logprobs, strict=True):
        assert top is not None and 1 <= len(top) <= 2
        assert top[token] == pytest.approx(value)


async def test_streamed_logprobs_are_typed_and_serialise_without_warnings(adapter: LlamaCppInferenceAdapter) -> None:
    stream = await adapter.completion(complete(logprobs=2, max_tokens=4, stream=True))
    chunks = [chunk async for chunk in stream]  # type: ignore[union-attr]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bodies = [json.loads(chunk.model_dump_json()) for chunk in chunks]
    pieces = [body["choices"][0] for body in bodies if body["choices"] and body["choices"][0]["text"]]
    assert pieces and all(len(piece["logprobs"]["tokens"]) >= 1 for piece in pieces)
    assert [body["choices"][0]["finish_reason"] for body in bodies][-1] == "length"


async def test_stream_concatenates_to_the_whole_text(adapter: LlamaCppInferenceAdapter) -> None:
    whole = await adapter.completion(complete(seed=3, logit_bias=NO_END))
    stream = await adapter.completion(complete(seed=3, logit_bias=NO_END, stream=True,
                                               stream_options={"include_usage": True}))
    chunks = [chunk async for chunk in stream]  # type: ignore[union-attr]
    assert "".join(chunk.choices[0].text for chunk in chunks if chunk.choices) == whole.choices[0].text
    assert chunks[-2].choices[0].finish_reason == "length"
    assert chunks[0].choices[0].finish_reason is None
    assert chunks[-1].usage == whole.usage


async def test_parameters_it_cannot_honour_are_refused(adapter: LlamaCppInferenceAdapter) -> None:
    for fields, param in [({"suffix": "end"}, "suffix"), ({"best_of": 3}, "best_of"),
                          ({"echo": True, "logprobs": 1}, "echo"), ({"n": 99}, "n")]:
        with pytest.raises(UnsupportedParameterError) as info:
            await adapter.completion(complete(**fields))
        assert info.value.param == param
    with pytest.raises(InvalidRequestError):
        await adapter.completion(complete(prompt=[[999_999]]))
