"""The tool groups table and the tool runtime router: tool -> group -> provider, arguments, owners, 404s."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from polystack.apis.datatypes import User
from polystack.apis.errors import AccessDeniedError, InvalidRequestError, NotFoundError, ProviderError
from polystack.apis.tool_groups.types import URL, ListToolDefsResponse, RegisterToolGroupRequest, ToolDef
from polystack.apis.tool_runtime.types import ToolInvocationResult
from polystack.core.registered_resources import ToolGroupInput
from polystack.core.registry import ResourceRegistry
from polystack.core.request_context import acting_as
from polystack.core.routing.tool_groups import ToolGroupsRoutingTable
from polystack.core.routing.tool_runtime import ToolRuntimeRouter
from polystack.core.storage.kv.memory import MemoryKVStore
from polystack.providers.remote.tool_runtime.brave_search.config import BraveSearchConfig
from polystack.providers.remote.tool_runtime.brave_search.search import BraveSearch
from polystack.providers.remote.tool_runtime.tavily_search.config import TavilySearchConfig
from polystack.providers.remote.tool_runtime.tavily_search.search import TavilySearch
from polystack.testing.fake_search_apis import FakeBraveSearch, FakeTavilySearch

ALICE, BOB = User(principal="alice"), User(principal="bob")


class Calculator:
    """A tool_runtime provider of two tools, one of which breaks (a provider bug, not a Polystack error)."""

    async def list_runtime_tools(self, tool_group_id: str | None = None,
                                 mcp_endpoint: URL | None = None) -> ListToolDefsResponse:
        return ListToolDefsResponse(data=[
            ToolDef(name="add", input_schema={"type": "object", "required": ["a", "b"], "additionalProperties": False,
                                              "properties": {"a": {"type": "integer"}, "b": {"type": "number"}}}),
            ToolDef(name="broken", input_schema={"type": "object", "properties": {}}),
        ])

    async def invoke_tool(self, tool_name: str, kwargs: dict[str, Any]) -> ToolInvocationResult:
        if tool_name == "broken":
            raise RuntimeError("boom")
        return ToolInvocationResult(content=str(kwargs["a"] + kwargs["b"]))


@pytest.fixture
def fakes():  # type: ignore[no-untyped-def]
    with FakeBraveSearch() as brave, FakeTavilySearch() as tavily:
        yield brave, tavily


@pytest.fixture
async def table(fakes) -> AsyncIterator[ToolGroupsRoutingTable]:
    brave_fake, tavily_fake = fakes
    brave = BraveSearch(BraveSearchConfig(api_key=brave_fake.api_key, base_url=brave_fake.base_url))
    tavily = TavilySearch(TavilySearchConfig(api_key=tavily_fake.api_key, base_url=tavily_fake.base_url))
    table = ToolGroupsRoutingTable({"brave-search": brave, "tavily-search": tavily, "calc": Calculator()},
                                   ResourceRegistry(MemoryKVStore()), cache_seconds=0)
    await table.start([ToolGroupInput(toolgroup_id="builtin::websearch", provider_id="brave-search")])
    yield table
    await table.stop()
    await brave.shutdown()
    await tavily.shutdown()


def register(table: ToolGroupsRoutingTable, toolgroup_id: str, provider_id: str, **extra: Any) -> Any:
    return table.register_tool_group(RegisterToolGroupRequest(toolgroup_id=toolgroup_id, provider_id=provider_id,
                                                              **extra))


async def test_a_tool_is_run_by_the_provider_of_its_group(table, fakes):
    brave, tavily = fakes
    router = ToolRuntimeRouter(table)
    result = await router.invoke_tool("web_search", {"query": "kelp"})
    assert json.loads(result.content)["query"] == "kelp"
    assert len(brave.requests) == 1 and tavily.requests == []


async def test_group_slash_tool_picks_the_group_when_several_offer_the_tool(table, fakes):
    brave, tavily = fakes
    await register(table, "z-tavily", "tavily-search")
    router = ToolRuntimeRouter(table)
    await router.invoke_tool("web_search", {"query": "kelp"})  # the first group by id serves a bare name
    assert (len(brave.requests), len(tavily.requests)) == (1, 0)
    await router.invoke_tool("z-tavily/web_search", {"query": "kelp"})
    assert (len(brave.requests), len(tavily.requests)) == (1, 1)
    assert (await table.get_tool("z-tavily/web_search")).toolgroup_id == "z-tavily"


async def test_an_unknown_tool_or_group_is_a_404(table):
    router = ToolRuntimeRouter(table)
    with pytest.raises(NotFoundError) as info:
        await router.invoke_tool("no_such_tool", {})
    assert info.value.status_code == 404 and info.value.param == "tool_name"
    with pytest.raises(NotFoundError) as info:
        await table.get_tool("no_such_tool")
    assert info.value.param == "tool_name"
    with pytest.raises(NotFoundError) as info:
        await router.list_runtime_tools("no-such-group")
    assert info.value.param == "toolgroup_id"
    with pytest.raises(NotFoundError):
        await table.unregister_toolgroup("no-such-group")


async def test_tools_are_listed_per_group_and_for_all(table):
    await register(table, "calc", "calc")
    assert [(t.toolgroup_id, t.name) for t in await table.list_tools()] == [
        ("builtin::websearch", "web_search"), ("calc", "add"), ("calc", "broken")]
    assert [t.name for t in await table.list_tools("calc")] == ["add", "broken"]
    router = ToolRuntimeRouter(table)
    assert [t.name for t in (await router.list_runtime_tools("builtin::websearch")).data] == ["web_search"]
    assert len((await router.list_runtime_tools()).data) == 3


async def test_arguments_are_checked_against_the_tools_schema(table):
    await register(table, "calc", "calc")
    router = ToolRuntimeRouter(table)
    assert (await router.invoke_tool("add", {"a": 2, "b": 0.5})).content == "2.5"
    for kwargs, param in (({"a": 1}, "kwargs.b"), ({"a": "1", "b": 2}, "kwargs.a"), ({"a": True, "b": 2}, "kwargs.a"),
                          ({"a": 1, "b": 2, "c": 3}, "kwargs.c")):
        with pytest.raises(InvalidRequestError) as info:
            await router.invoke_tool("add", kwargs)
        assert info.value.param == param, kwargs
    with pytest.raises(InvalidRequestError) as info:
        await router.invoke_tool("web_search", {})
    assert info.value.param == "kwargs.query"


async def test_a_provider_bug_is_a_provider_error_not_a_crash(table):
    await register(table, "calc", "calc")
    with pytest.raises(ProviderError) as info:
        await ToolRuntimeRouter(table).invoke_tool("broken", {})
    assert info.value.status_code == 502 and "calc" in info.value.message


async def test_registering_for_an_unknown_provider_is_a_404(table):
    with pytest.raises(NotFoundError) as info:
        await register(table, "mine", "no-such-provider")
    assert info.value.param == "provider_id"


async def test_an_mcp_endpoint_for_a_provider_that_does_not_speak_mcp_is_a_400(table):
    with pytest.raises(InvalidRequestError) as info:
        await register(table, "mine", "brave-search", mcp_endpoint=URL(uri="http://127.0.0.1:1/mcp"))
    assert info.value.param == "mcp_endpoint"
    assert await table.get("mine") is None


async def test_unregistering_removes_the_group_and_its_tools(table):
    await register(table, "calc", "calc")
    await table.unregister_toolgroup("calc")
    assert [g.identifier for g in await table.list_tool_groups()] == ["builtin::websearch"]
    with pytest.raises(NotFoundError):
        await ToolRuntimeRouter(table).invoke_tool("add", {"a": 1, "b": 2})


async def test_listing_an_mcp_endpoint_needs_a_provider_that_speaks_mcp(table):
    with pytest.raises(InvalidRequestError) as info:
        await ToolRuntimeRouter(table).list_runtime_tools(mcp_endpoint=URL(uri="http://127.0.0.1:1/mcp"))
    assert info.value.param == "mcp_endpoint"


async def test_users_neither_see_nor_use_nor_delete_each_others_groups(table):
    with acting_as(ALICE):
        await register(table, "alice-calc", "calc")
        assert {g.identifier for g in await table.list_tool_groups()} == {"builtin::websearch", "alice-calc"}
    with acting_as(BOB):
        assert [g.identifier for g in await table.list_tool_groups()] == ["builtin::websearch"]
        assert [t.name for t in await table.list_tools()] == ["web_search"]
        for call in (lambda: table.get_tool_group("alice-calc"), lambda: table.unregister_toolgroup("alice-calc"),
                     lambda: table.list_tools("alice-calc"), lambda: table.get_tool("add"),
                     lambda: ToolRuntimeRouter(table).invoke_tool("add", {"a": 1, "b": 2})):
            with pytest.raises(NotFoundError):
                await call()
        with pytest.raises(AccessDeniedError):  # the config's group is everyone's to read, no one's to delete
            await table.unregister_toolgroup("builtin::websearch")
    with acting_as(ALICE):
        assert (await ToolRuntimeRouter(table).invoke_tool("add", {"a": 1, "b": 2})).content == "3"


async def test_the_last_config_entry_of_an_id_wins_and_a_config_group_whose_provider_is_off_is_dropped(fakes):
    brave_fake, _ = fakes
    registry = ResourceRegistry(MemoryKVStore())
    both = ToolGroupsRoutingTable({"brave-search": Calculator(), "tavily-search": Calculator()}, registry,
                                  cache_seconds=0)
    await both.start([ToolGroupInput(toolgroup_id="builtin::websearch", provider_id="brave-search"),
                      ToolGroupInput(toolgroup_id="builtin::websearch", provider_id="tavily-search")])
    assert (await both.get_tool_group("builtin::websearch")).provider_id == "tavily-search"
    with acting_as(ALICE):
        await register(both, "alice-calc", "brave-search")
    # restarted without the tavily provider (its key unset): the config's group goes, alice's stays
    brave_only = ToolGroupsRoutingTable({"brave-search": Calculator()}, registry, cache_seconds=0)
    await brave_only.start([])
    assert [g.identifier for g in await brave_only.list_tool_groups()] == ["alice-calc"]
