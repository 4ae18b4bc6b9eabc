"""Each provider has its own bounded pool; a request that cannot get a connection in time is a 503."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from polystack.apis.errors import ServiceUnavailableError
from polystack.apis.inference.types import ChatCompletionRequest
from polystack.providers.remote.inference.vllm.config import VllmConfig
from polystack.providers.utils.openai_compat.adapter import OpenAICompatAdapter
from polystack.testing.fake_upstream import FakeUpstream, chat


@pytest.fixture
async def upstream() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream() as fake:
        yield fake


def provider(upstream: FakeUpstream, provider_id: str, **config: object) -> OpenAICompatAdapter:
    adapter = OpenAICompatAdapter(VllmConfig(url=upstream.base_url, refresh_models=False, **config),
                                  api_key_field="vllm_api_token")
    adapter.provider_id = provider_id
    return adapter


async def test_a_full_pool_answers_503_naming_the_provider_after_the_pool_timeout(upstream: FakeUpstream) -> None:
    busy = provider(upstream, "busy", max_connections=2, pool_timeout_seconds=0.3)
    other = provider(upstream, "other", max_connections=2)
    stuck = [asyncio.create_task(busy.chat_completion(ChatCompletionRequest(**chat("slow")))) for _ in range(2)]
    try:
        assert await upstream.wait_for("slow_started", 2)
        started = asyncio.get_running_loop().time()
        with pytest.raises(ServiceUnavailableError) as info:
            await busy.chat_completion(ChatCompletionRequest(**chat("fast")))
        assert info.value.status_code == 503 and "'busy'" in info.value.message
        assert 0.25 < asyncio.get_running_loop().time() - started < 2
        reply = await other.chat_completion(ChatCompletionRequest(**chat("fast")))  # not held by 'busy'
        assert reply.choices[0].message.content == "ok"
    finally:
        for task in stuck:
            task.cancel()
        await asyncio.gather(*stuck, return_exceptions=True)
    assert await upstream.wait_for("abandoned", 2)
    reply = await busy.chat_completion(ChatCompletionRequest(**chat("fast")))  # cancelled requests freed their slots
    assert reply.choices[0].message.content == "ok"
    await busy.shutdown()
    await other.shutdown()


async def test_a_queued_request_gets_the_first_connection_freed(upstream: FakeUpstream) -> None:
    adapter = provider(upstream, "one", max_connections=1, pool_timeout_seconds=5)
    first = asyncio.create_task(adapter.chat_completion(ChatCompletionRequest(**chat("slow"))))
    assert await upstream.wait_for("slow_started", 1)
    queued = asyncio.create_task(adapter.chat_completion(ChatCompletionRequest(**chat("fast"))))
    await asyncio.sleep(0.2)
    assert not queued.done()
    first.cancel()
    reply = await asyncio.wait_for(queued, 2)
    assert reply.choices[0].message.content == "ok"
    await adapter.shutdown()
