"""The server-tool seam: a tool added to the engine's registry runs in the loop unchanged, in parallel when the
model calls it several times and parallel_tool_calls allows, one at a time otherwise."""

from __future__ import annotations

import asyncio
import json

import pytest

from polystack.apis.events import StreamEvent
from polystack.apis.responses.items import WebSearchAction, WebSearchCall
from polystack.apis.responses.types import FunctionTool, WebSearchTool
from polystack.core.responses.tools import ToolOutcome
from tests.unit.core.responses.conftest import MODEL, check_events, record, valid


class SlowSearch:
    """A web_search stand-in written against the ServerTool interface: it takes 0.2 s and counts overlaps."""

    name = "web_search"

    def __init__(self) -> None:
        self.running = 0
        self.most = 0

    def matches(self, tool):
        return isinstance(tool, WebSearchTool)

    async def functions(self, tool, context):
        return [FunctionTool(name="web_search", parameters={"type": "object", "properties": {
            "query": {"type": "string"}}})]

    def item(self, call, tool):
        return WebSearchCall(id=call.item_id, status="in_progress",
                             action=WebSearchAction(query=json.loads(call.arguments)["query"]))

    async def run(self, call, tool, context):
        query = json.loads(call.arguments)["query"]
        if query == "boom":
            raise RuntimeError("search backend down")
        yield StreamEvent("response.web_search_call.searching", {"item_id": call.item_id,
                                                                 "output_index": call.output_index})
        self.running += 1
        self.most = max(self.most, self.running)
        await asyncio.sleep(0.2)
        self.running -= 1
        yield ToolOutcome(item=WebSearchCall(id=call.item_id, status="completed",
                                             action=WebSearchAction(query=query)), output=f"results for {query}")

    def failed(self, call, tool, message):
        return ToolOutcome(item=self.item(call, tool).model_copy(update={"status": "failed"}),
                           output=f"search failed: {message}", failed=True)


def two_searches(first: str = "a", second: str = "b"):
    return {"tool_calls": [{"name": "web_search", "arguments": json.dumps({"query": first})},
                           {"name": "web_search", "arguments": json.dumps({"query": second})}]}


@pytest.mark.parametrize(("parallel", "most"), [(True, 2), (False, 1)])
async def test_calls_run_together_only_when_parallel_tool_calls_allows(connect, parallel, most):
    search = SlowSearch()
    async with connect([two_searches(), {"content": "done"}]) as stack:
        stack.stack.impls["responses"].engine.server_tools.append(search)
        stream = await stack.openai.responses.create(model=MODEL, input="?", tools=[{"type": "web_search"}],
                                                     parallel_tool_calls=parallel, stream=True)
        events = [event async for event in stream]
    check_events(events)
    response = valid(events[-1].response)
    assert search.most == most
    assert [(i.type, i.status) for i in response.output] == [
        ("web_search_call", "completed"), ("web_search_call", "completed"), ("message", "completed")]
    assert [i.action.query for i in response.output[:2]] == ["a", "b"]


async def test_a_tool_that_raises_is_a_failed_item_and_the_others_still_run(connect):
    search = SlowSearch()
    async with connect([two_searches("boom", "fine"), {"content": "partly"}]) as stack:
        stack.stack.impls["responses"].engine.server_tools.append(search)
        recorder = record(stack)
        response = await stack.openai.responses.create(model=MODEL, input="?", tools=[{"type": "web_search"}])
    assert [(i.type, i.status) for i in response.output] == [
        ("web_search_call", "failed"), ("web_search_call", "completed"), ("message", "completed")]
    results = [m.content for m in recorder.requests[1].messages if m.role == "tool"]
    assert results == ["search failed: RuntimeError: search backend down", "results for fine"]
