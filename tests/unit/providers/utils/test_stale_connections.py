"""A request on a pooled connection the upstream had already closed is retried once on a fresh one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from polystack.apis.errors import ProviderError
from polystack.apis.inference.types import ChatCompletionRequest
from polystack.providers.remote.inference.vllm.config import VllmConfig
from polystack.providers.utils.openai_compat.adapter import OpenAICompatAdapter
from polystack.testing.fake_upstream import FakeUpstream, chat

BURST = 20


@pytest.fixture
async def closing_upstream() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream(close_reused=True) as fake:
        yield fake


@pytest.fixture
async def adapter(closing_upstream: FakeUpstream) -> AsyncIterator[OpenAICompatAdapter]:
    impl = OpenAICompatAdapter(VllmConfig(url=closing_upstream.base_url, refresh_models=False),
                               api_key_field="vllm_api_token")
    yield impl
    await impl.shutdown()


async def _burst(adapter: OpenAICompatAdapter) -> list[str]:
    replies = await asyncio.gather(*(adapter.chat_completion(ChatCompletionRequest(**chat("m")))
                                     for _ in range(BURST)))
    return [reply.choices[0].message.content for reply in replies]


async def test_a_burst_after_a_burst_succeeds_although_every_pooled_connection_was_closed(
        adapter: OpenAICompatAdapter, closing_upstream: FakeUpstream) -> None:
    assert await _burst(adapter) == ["ok"] * BURST  # fills the pool with BURST kept-alive connections
    assert await _burst(adapter) == ["ok"] * BURST  # each reused one is closed unanswered: retried fresh
    assert closing_upstream.received == 3 * BURST  # every stale attempt retried exactly once


async def test_a_request_that_reached_a_fresh_connection_is_not_retried(closing_upstream: FakeUpstream) -> None:
    """An upstream that drops a request on a new connection may have processed it: that is an error."""
    closing_upstream.close_reused = False
    impl = OpenAICompatAdapter(VllmConfig(url=closing_upstream.base_url, refresh_models=False),
                               api_key_field="vllm_api_token")
    try:
        with pytest.raises(ProviderError) as info:
            await impl.chat_completion(ChatCompletionRequest(**chat("drop")))
        assert info.value.status_code == 502 and closing_upstream.received == 1
    finally:
        await impl.shutdown()
