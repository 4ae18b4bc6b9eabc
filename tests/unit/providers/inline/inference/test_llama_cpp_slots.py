"""inline::llama-cpp on xllamacpp with two slots: a short request is answered while a long one still streams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from polystack.apis.inference.types import ChatCompletionRequest
from polystack.providers.inline.inference.llama_cpp import create
from polystack.providers.inline.inference.llama_cpp.adapter import LlamaCppInferenceAdapter
from polystack.providers.inline.inference.llama_cpp.config import LlamaCppConfig

MODEL = "SmolLM2-135M-Instruct"
NO_END = {"1": -100, "2": -100}  # SmolLM2's <|im_start|> and <|im_end|>: the long reply cannot end early

pytestmark = pytest.mark.skipif(LlamaCppConfig().engine != "xllamacpp",
                                reason="llama-cpp-python runs one request at a time")


@pytest.fixture(scope="module")
async def adapter() -> AsyncIterator[LlamaCppInferenceAdapter]:
    impl = await create(LlamaCppConfig(parallel=2, max_queued_requests=0), {})
    yield impl
    await impl.shutdown()


def chat(**fields: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate({
        "model": MODEL, "temperature": 0, "messages": [{"role": "user", "content": "Tell me a long story."}],
        **fields})


async def test_a_second_request_is_answered_in_the_free_slot_while_the_first_streams(
        adapter: LlamaCppInferenceAdapter) -> None:
    assert (await adapter.list_models() or [])[0].metadata["parallel"] == 2
    stream = await adapter.chat_completion(chat(max_tokens=4000, logit_bias=NO_END, stream=True))
    first = await anext(stream)  # type: ignore[call-overload]
    assert first.choices[0].delta.role == "assistant"
    short = await asyncio.wait_for(adapter.chat_completion(chat(max_tokens=3)), 600)
    assert short.usage and short.usage.completion_tokens == 3
    chunks = 0
    async for chunk in stream:  # type: ignore[union-attr]
        assert chunk.choices[0].finish_reason is None  # 4000 tokens: still streaming after the short reply
        chunks += 1
        if chunks == 3:
            break
    await stream.aclose()  # type: ignore[union-attr]


async def test_with_every_slot_busy_and_no_queue_a_request_gets_a_503(adapter: LlamaCppInferenceAdapter) -> None:
    from polystack.apis.errors import ServiceUnavailableError

    runner = adapter.models[MODEL].runner
    deadline = asyncio.get_running_loop().time() + 120
    while runner.busy_slots and asyncio.get_running_loop().time() < deadline:  # the last test's stream lets go
        await asyncio.sleep(0.05)
    assert runner.busy_slots == 0
    streams = [await adapter.chat_completion(chat(max_tokens=4000, logit_bias=NO_END, stream=True)) for _ in range(2)]
    for stream in streams:
        await anext(stream)  # type: ignore[call-overload]
    with pytest.raises(ServiceUnavailableError):
        await adapter.chat_completion(chat(max_tokens=2))
    for stream in streams:
        await stream.aclose()  # type: ignore[union-attr]
