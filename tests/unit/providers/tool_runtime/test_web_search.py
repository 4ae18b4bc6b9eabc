"""The web search providers (Brave, Tavily, Bing) against fakes of their APIs: results, keys, upstream errors."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import pytest

from polystack.apis.errors import InvalidRequestError, NotFoundError, ProviderError, QuotaExceededError
from polystack.core import secrets
from polystack.core.impls import ProviderDeps
from polystack.core.request_context import reset_provider_data, set_provider_data
from polystack.providers.registry import specs_for
from polystack.testing.fake_search_apis import FakeBingSearch, FakeBraveSearch, FakeSearchAPI, FakeTavilySearch


@dataclass
class Vendor:
    provider_type: str
    fake_class: type[FakeSearchAPI]
    key_field: str


VENDORS = [
    Vendor("remote::brave-search", FakeBraveSearch, "brave_search_api_key"),
    Vendor("remote::tavily-search", FakeTavilySearch, "tavily_search_api_key"),
    Vendor("remote::bing-search", FakeBingSearch, "bing_search_api_key"),
]


@pytest.fixture(params=VENDORS, ids=lambda v: v.provider_type.removeprefix("remote::"))
def vendor(request):  # type: ignore[no-untyped-def]
    return request.param


@pytest.fixture
def fake(vendor):  # type: ignore[no-untyped-def]
    with vendor.fake_class(echo_key_in_errors=True) as server:
        yield server


@contextmanager
def provider_data(data: dict[str, Any]) -> Iterator[None]:
    """The caller's X-LlamaStack-Provider-Data, as the request middleware sets it."""
    token = set_provider_data(data)
    try:
        yield
    finally:
        reset_provider_data(token)


async def make_provider(vendor: Vendor, fake: FakeSearchAPI, **config: Any) -> Any:
    """The provider as the resolver makes it: its spec's config class, its module's create()."""
    spec = next(s for s in specs_for("tool_runtime") if s.provider_type == vendor.provider_type)
    validated = spec.load_config_class().model_validate({"base_url": fake.base_url, **config})
    secrets.register(validated)  # the stack registers every configured secret the same way
    provider = await import_module(spec.module).create(validated, ProviderDeps({}))
    provider.provider_id = vendor.provider_type.removeprefix("remote::")
    return provider


async def test_web_search_returns_llama_stacks_content_and_citable_metadata(vendor, fake):
    provider = await make_provider(vendor, fake, api_key=fake.api_key)
    try:
        result = await provider.invoke_tool("web_search", {"query": "deep sea vents"})
    finally:
        await provider.shutdown()
    content = json.loads(result.content)
    assert content["query"] == "deep sea vents"
    assert len(content["top_k"]) == 3  # max_results, default 3
    for hit in content["top_k"]:
        assert set(hit) >= {"title", "url", "content"} and "deep sea vents" in hit["content"]
        assert "<strong>" not in hit["content"]
        assert ("score" in hit) == (vendor.fake_class is FakeTavilySearch)  # only Tavily scores its results
    assert result.metadata == {"results": [{"title": h["title"], "url": h["url"], "snippet": h["content"]}
                                           for h in content["top_k"]]}
    assert result.error_message is None
    seen = fake.requests[-1]
    assert fake.key_of(seen) == fake.api_key
    asked = seen.body["max_results"] if seen.body else int(seen.query["count"])
    assert asked == 3


async def test_max_results_is_what_is_asked_for_and_returned(vendor, fake):
    provider = await make_provider(vendor, fake, api_key=fake.api_key, max_results=5)
    try:
        result = await provider.invoke_tool("web_search", {"query": "tides"})
    finally:
        await provider.shutdown()
    assert len(json.loads(result.content)["top_k"]) == 5 == len(result.metadata["results"])


async def test_lists_one_web_search_tool_taking_a_query(vendor, fake):
    provider = await make_provider(vendor, fake)
    tools = (await provider.list_runtime_tools("builtin::websearch")).data
    await provider.shutdown()
    assert [t.name for t in tools] == ["web_search"]
    assert tools[0].input_schema["required"] == ["query"]


async def test_a_missing_key_is_a_400_naming_the_header_and_the_config(vendor, fake):
    provider = await make_provider(vendor, fake)
    with pytest.raises(InvalidRequestError) as info:
        await provider.invoke_tool("web_search", {"query": "anything"})
    await provider.shutdown()
    assert info.value.status_code == 400
    assert vendor.key_field in info.value.message and "api_key" in info.value.message
    assert "X-LlamaStack-Provider-Data" in info.value.message
    assert fake.requests == []


async def test_a_bad_key_is_a_provider_error_that_never_shows_the_key(vendor, fake, caplog):
    bad = "sk-wrong-key-5e2f9a7c41"
    provider = await make_provider(vendor, fake, api_key=bad)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ProviderError) as info:
        await provider.invoke_tool("web_search", {"query": "anything"})
    await provider.shutdown()
    assert "API key" in info.value.message and vendor.provider_type.removeprefix("remote::") in info.value.message
    assert bad not in info.value.message and bad not in caplog.text
    assert fake.key_of(fake.requests[-1]) == bad  # the fake did refuse that key


async def test_an_upstream_401_is_the_same_clear_error(vendor, fake):
    provider = await make_provider(vendor, fake, api_key=fake.api_key)
    fake.fail_next(401)
    with pytest.raises(ProviderError) as info:
        await provider.invoke_tool("web_search", {"query": "anything"})
    await provider.shutdown()
    assert "refused the API key" in info.value.message and fake.api_key not in info.value.message


async def test_a_429_is_a_429_passing_retry_after_on(vendor, fake, caplog):
    provider = await make_provider(vendor, fake, api_key=fake.api_key)
    fake.fail_next(429, retry_after="17")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(QuotaExceededError) as info:
        await provider.invoke_tool("web_search", {"query": "anything"})
    await provider.shutdown()
    assert info.value.status_code == 429
    assert info.value.headers is not None and info.value.headers["retry-after"] == "17"
    assert "rate limiting" in info.value.message
    assert fake.api_key not in info.value.message and fake.api_key not in caplog.text  # the fake echoed it


async def test_a_server_error_is_a_502_naming_the_provider(vendor, fake):
    provider = await make_provider(vendor, fake, api_key=fake.api_key)
    fake.fail_next(500)
    with pytest.raises(ProviderError) as info:
        await provider.invoke_tool("web_search", {"query": "anything"})
    await provider.shutdown()
    assert info.value.status_code == 502 and "HTTP 500" in info.value.message
    assert fake.api_key not in info.value.message


async def test_the_callers_key_in_provider_data_wins_over_the_config(vendor, fake):
    provider = await make_provider(vendor, fake, api_key="configured-key-that-is-stale")
    try:
        with provider_data({vendor.key_field: fake.api_key}):
            result = await provider.invoke_tool("web_search", {"query": "coral"})
    finally:
        await provider.shutdown()
    assert json.loads(result.content)["top_k"]
    assert fake.key_of(fake.requests[-1]) == fake.api_key


async def test_the_callers_key_is_masked_in_errors_and_logs(vendor, fake, caplog):
    callers = "callers-own-key-8b1d6f0e"
    provider = await make_provider(vendor, fake)
    fake.fail_next(429)  # the fake echoes the key it got in its error message
    caplog.set_level(logging.DEBUG)
    with provider_data({vendor.key_field: callers}), pytest.raises(QuotaExceededError) as info:
        await provider.invoke_tool("web_search", {"query": "anything"})
    await provider.shutdown()
    assert fake.key_of(fake.requests[-1]) == callers
    assert callers not in info.value.message and callers not in caplog.text


async def test_bad_arguments_are_400s_naming_the_query(vendor, fake):
    provider = await make_provider(vendor, fake, api_key=fake.api_key)
    for kwargs in ({}, {"query": ""}, {"query": 42}, {"query": "x" * 5000}):
        with pytest.raises(InvalidRequestError) as info:
            await provider.invoke_tool("web_search", kwargs)
        assert info.value.param == "kwargs.query"
    with pytest.raises(NotFoundError):
        await provider.invoke_tool("image_search", {"query": "x"})
    await provider.shutdown()
    assert fake.requests == []
