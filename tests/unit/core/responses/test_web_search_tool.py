"""web_search on the server: the search through the tool runtime (the fake Brave API, a real local HTTP
server), its web_search_call item and events, url_citation annotations, a failed search, and the 400 when no
web search provider is configured (the scripted model)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

import polystack
from polystack.core.config import parse_run_config
from polystack.testing.fake_search_apis import FakeBraveSearch
from tests.unit.core.responses.conftest import MODEL, call, check_events, record, valid

SEARCH = call("web_search", '{"query": "sea otters"}')


@pytest.fixture(scope="module")
def brave() -> Iterator[FakeBraveSearch]:
    with FakeBraveSearch() as fake:
        yield fake


def stack_with_search(tmp_path, brave: FakeBraveSearch | None, replies: list[dict[str, Any]]):
    providers: dict[str, Any] = {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted",
                                                "config": {"replies": replies}}]}
    config: dict[str, Any] = {"apis": ["inference", "responses"]}
    if brave is not None:
        providers["tool_runtime"] = [{"provider_id": "brave-search", "provider_type": "remote::brave-search",
                                      "config": {"api_key": brave.api_key, "base_url": brave.base_url}}]
        config = {"apis": ["inference", "tool_runtime", "responses"],
                  "registered_resources": {"tool_groups": [{"toolgroup_id": "builtin::websearch",
                                                            "provider_id": "brave-search"}]}}
    return polystack.connect(parse_run_config({
        "distro_name": "web-search-test", "providers": providers, **config,
        "storage": {"backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")},
                                 "kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
                    "stores": {"responses": {"backend": "sql"}, "metadata": {"backend": "kv"}}},
        "models": {"refresh_interval_seconds": 0},
    }, env={}))


async def test_search_item_events_and_a_citation_of_the_page_the_answer_quotes(tmp_path, brave):
    answer = "Sea otters hold hands; what source 2 says matters."
    async with stack_with_search(tmp_path, brave, [SEARCH, {"content": answer}]) as stack:
        recorder = record(stack)
        before = len(brave.requests)
        stream = await stack.openai.responses.create(
            model=MODEL, input="Tell me about sea otters", stream=True, include=["web_search_call.action.sources"],
            tools=[{"type": "web_search"}])
        events = [event async for event in stream]
    names = check_events(events)
    assert names[2:7] == ["response.output_item.added", "response.web_search_call.in_progress",
                          "response.web_search_call.searching", "response.web_search_call.completed",
                          "response.output_item.done"]
    assert "response.output_text.annotation.added" in names
    assert len(brave.requests) == before + 1 and brave.requests[-1].query["q"] == "sea otters"
    response = valid(events[-1].response)
    search, message = response.output
    assert search.type == "web_search_call" and search.status == "completed" and search.id.startswith("ws_")
    assert search.action.type == "search" and search.action.query == "sea otters"
    urls = [source.url for source in search.action.sources]
    assert urls and urls[1] == "https://example.org/sea-otters/2"
    [citation] = message.content[0].annotations
    assert (citation.type, citation.url, citation.title) == ("url_citation", urls[1], "sea otters - source 2")
    assert answer[citation.start_index:citation.end_index].lower() == "what source 2 says"
    tool_message = recorder.requests[1].messages[-1]
    assert tool_message.role == "tool" and urls[0] in tool_message.content
    assert recorder.requests[0].tools[0].function.name == "web_search"


async def test_sources_are_left_out_unless_included_and_the_top_page_is_cited_by_default(tmp_path, brave):
    async with stack_with_search(tmp_path, brave, [SEARCH, {"content": "Otters are cute."}]) as stack:
        response = await stack.openai.responses.create(model=MODEL, input="?",
                                                       tools=[{"type": "web_search_preview"}])
    search, message = response.output
    assert search.action.sources is None
    [citation] = message.content[0].annotations
    assert citation.url == "https://example.org/sea-otters/1"
    assert (citation.start_index, citation.end_index) == (0, len("Otters are cute."))


async def test_a_failing_search_is_a_failed_item_the_model_reads(tmp_path, brave):
    brave.fail_next(500)
    async with stack_with_search(tmp_path, brave, [SEARCH, {"content": "I could not search."}]) as stack:
        recorder = record(stack)
        response = await stack.openai.responses.create(model=MODEL, input="?", tools=[{"type": "web_search"}])
    search, message = response.output
    assert response.status == "completed" and search.status == "failed" and search.action.query == "sea otters"
    assert message.content[0].annotations == []
    told = recorder.requests[1].messages[-1]
    assert told.role == "tool" and told.content.startswith("The web search failed")


async def test_no_web_search_provider_is_a_400_naming_the_tool_type(tmp_path):
    async with stack_with_search(tmp_path, None, [{"content": "x"}]) as stack:
        with pytest.raises(openai.BadRequestError) as caught:
            await stack.openai.responses.create(model=MODEL, input="?",
                                                tools=[{"type": "function", "name": "f"}, {"type": "web_search"}])
    assert caught.value.body["param"] == "tools[1].type"


async def test_filters_the_providers_cannot_honour_are_a_400(tmp_path, brave):
    async with stack_with_search(tmp_path, brave, [{"content": "x"}]) as stack:
        with pytest.raises(openai.BadRequestError) as caught:
            await stack.openai.responses.create(
                model=MODEL, input="?", tools=[{"type": "web_search", "filters": {"allowed_domains": ["a.org"]}}])
    assert caught.value.body["param"] == "tools[0].filters"


async def test_search_context_size_low_keeps_fewer_pages(tmp_path, brave):
    async with stack_with_search(tmp_path, brave, [SEARCH, {"content": "x"}, SEARCH, {"content": "x"}]) as stack:
        recorder = record(stack)
        for size in ("low", "high"):
            await stack.openai.responses.create(model=MODEL, input="?", include=["web_search_call.action.sources"],
                                                tools=[{"type": "web_search", "search_context_size": size}])
    low, high = recorder.requests[1].messages[-1].content, recorder.requests[3].messages[-1].content
    assert low.count("URL: ") == 2 and high.count("URL: ") == 3  # the provider returns 3 (its max_results)
