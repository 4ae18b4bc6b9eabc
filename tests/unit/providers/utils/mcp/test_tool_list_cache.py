"""The tool-list cache: one listing per (endpoint, credentials) within its TTL, at most `max_entries` kept."""

from __future__ import annotations

import asyncio

from polystack.providers.utils.mcp import McpClient
from polystack.providers.utils.mcp.cache import TtlCache
from tests.unit.providers.utils.mcp.conftest import FAST


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_expires_after_its_ttl():
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache(ttl=10, max_entries=5, clock=clock)
    cache.put("a", 1)

    clock.now += 9.9
    assert cache.get("a") == 1
    clock.now += 0.1
    assert cache.get("a") is None and len(cache) == 0


def test_beyond_max_entries_the_least_recently_used_goes():
    cache: TtlCache[str, int] = TtlCache(ttl=10, max_entries=2, clock=Clock())
    cache.put("a", 1)
    cache.put("b", 2)
    cache.get("a")  # b is now the least recently used
    cache.put("c", 3)

    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)


def test_a_zero_ttl_keeps_nothing():
    cache: TtlCache[str, int] = TtlCache(ttl=0, max_entries=2)
    cache.put("a", 1)

    assert cache.get("a") is None


async def test_the_tool_list_is_listed_once_within_the_ttl_and_again_after_it(tools):
    async with McpClient(FAST.model_copy(update={"tool_list_ttl": 0.5})) as client:
        before = tools.stats.listings
        first = await client.list_tools(tools.http_url, authorization="cache-user")
        second = await client.list_tools(tools.http_url, authorization="cache-user")
        assert first == second and tools.stats.listings - before == 1

        await client.list_tools(tools.http_url, authorization="someone-else")  # not the first caller's list
        assert tools.stats.listings - before == 2

        await client.list_tools(tools.http_url, authorization="cache-user", refresh=True)
        assert tools.stats.listings - before == 3

        await asyncio.sleep(0.6)
        await client.list_tools(tools.http_url, authorization="cache-user")
        assert tools.stats.listings - before == 4


async def test_the_tool_list_cache_keeps_at_most_max_entries(tools):
    async with McpClient(FAST.model_copy(update={"tool_list_max_entries": 2})) as client:
        before = tools.stats.listings
        for user in ("a", "b", "c"):
            await client.list_tools(tools.http_url, authorization=user)
        assert len(client.tool_lists) == 2

        await client.list_tools(tools.http_url, authorization="c")  # cached
        assert tools.stats.listings - before == 3
        await client.list_tools(tools.http_url, authorization="a")  # evicted: listed again
        assert tools.stats.listings - before == 4


async def test_forget_tools_drops_one_callers_list(client, tools):
    before = tools.stats.listings
    await client.list_tools(tools.http_url, {"X-Team": "blue"})
    client.forget_tools(tools.http_url, {"x-team": "blue"})
    await client.list_tools(tools.http_url, {"X-Team": "blue"})

    assert tools.stats.listings - before == 2
