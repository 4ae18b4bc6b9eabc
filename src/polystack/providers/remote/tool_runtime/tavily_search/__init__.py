"""remote::tavily-search: the web_search tool on Tavily's Search API."""

from __future__ import annotations

from typing import Any

from polystack.core.impls import ProviderDeps
from polystack.providers.remote.tool_runtime.tavily_search.config import TavilySearchConfig


async def create(config: TavilySearchConfig, deps: ProviderDeps) -> Any:
    from polystack.providers.remote.tool_runtime.tavily_search.search import TavilySearch

    return TavilySearch(config)
