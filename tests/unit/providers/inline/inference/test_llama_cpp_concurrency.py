"""inline::llama-cpp under concurrency: FIFO per model, a free event loop, cancelled streams, a full queue.

The model runs with one slot here (both engines), so a request that did not let go blocks the next one;
several slots at once are tested in test_llama_cpp_slots.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from polystack.apis.errors import ServiceUnavailableError
from polystack.apis.inference.types import ChatCompletionRequest
from polystack.providers.inline.inference.llama_cpp import create
from polystack.providers.inline.inference.llama_cpp.adapter import LlamaCppInferenceAdapter
from polystack.providers.inline.inference.llama_cpp.config import LlamaCppConfig

MODEL = "SmolLM2-135M-Instruct"
STORY = [{"role": "user", "content": "Write a long story about a dragon."}]
NO_END = {"1": -100, "2": -100}  # SmolLM2's <|im_start|> and <|im_end|>: the reply cannot end before max_tokens


@pytest.fixture(scope="module")
async def adapter() -> AsyncIterator[LlamaCppInferenceAdapter]:
    impl = await create(LlamaCppConfig(max_queued_requests=2, parallel=1), {})
    yield impl
    await impl.shutdown()


def chat(**fields: Any) -> ChatCompletionRequest:
    fields.setdefault("messages", STORY)
    return ChatCompletionRequest.model_validate({"model": MODEL, "temperature": 0, "max_tokens": 16, **fields})


def sampled(adapter: LlamaCppInferenceAdapter) -> int:
    return int(adapter.models[MODEL].engine.busy()["sampled"])


async def test_closing_a_stream_after_two_chunks_frees_the_model(adapter: LlamaCppInferenceAdapter) -> None:
    before = sampled(adapter)
    stream = await adapter.chat_completion(chat(max_tokens=2000, logit_bias=NO_END, stream=True))
    seen = 0
    async for _ in stream:  # type: ignore[union-attr]
        seen += 1
        if seen == 2:
            break
    await stream.aclose()  # type: ignore[union-attr]
    reply = await adapter.chat_completion(chat(max_tokens=4))
    assert reply.choices[0].message.content is not None
    # one slot: the reply came once the stream had let go of it, a few tokens later, not 2000
    assert sampled(adapter) - before < 100


async def test_a_cancelled_request_stops_its_generation(adapter: LlamaCppInferenceAdapter) -> None:
    before = sampled(adapter)
    task = asyncio.create_task(adapter.chat_completion(chat(max_tokens=2000, logit_bias=NO_END)))
    deadline = time.monotonic() + 300
    while sampled(adapter) == before:  # generating
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await adapter.chat_completion(chat(max_tokens=4))
    assert sampled(adapter) - before < 100


async def test_a_request_cancelled_while_its_long_prompt_is_read_frees_the_model_at_once(
        adapter: LlamaCppInferenceAdapter) -> None:
    """Reading a 3,000-token prompt takes 5-50 s on two cores; a cancelled request stops reading it."""
    long_prompt = [{"role": "user", "content": "A lazy dog sleeps under a quick brown fox. " * 280 + "Why?"}]
    model = adapter.models[MODEL]
    task = asyncio.create_task(adapter.chat_completion(chat(messages=long_prompt, max_tokens=1)))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # the next job on the model's thread runs once the cancelled one has let go: how far had it read?
    read = await model.runner.run(lambda stop: model.engine.busy()["cached_tokens"])
    assert read < 1500


async def test_concurrent_requests_finish_in_arrival_order_without_blocking_the_loop(
        adapter: LlamaCppInferenceAdapter) -> None:
    ticks = 0
    finished: list[str] = []

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def ask(label: str) -> None:
        reply = await adapter.chat_completion(chat(max_tokens=24))
        assert reply.choices[0].message.content is not None
        finished.append(label)

    ticking = asyncio.create_task(ticker())
    started = time.monotonic()
    try:
        first = asyncio.create_task(ask("first"))
        await asyncio.sleep(0)  # the first request is queued before the second
        await asyncio.gather(first, ask("second"))
    finally:
        ticking.cancel()
    elapsed = time.monotonic() - started
    assert finished == ["first", "second"]
    # the loop kept running while llama.cpp generated: most 10 ms ticks happened
    assert ticks >= 0.5 * elapsed / 0.01


async def test_requests_beyond_the_queue_limit_get_a_503(adapter: LlamaCppInferenceAdapter) -> None:
    running = asyncio.create_task(adapter.chat_completion(chat(max_tokens=64)))
    await asyncio.sleep(0.05)
    queued = [asyncio.create_task(adapter.chat_completion(chat(max_tokens=2))) for _ in range(2)]
    await asyncio.sleep(0.05)
    with pytest.raises(ServiceUnavailableError):
        await adapter.chat_completion(chat(max_tokens=2))
    await asyncio.gather(running, *queued)
