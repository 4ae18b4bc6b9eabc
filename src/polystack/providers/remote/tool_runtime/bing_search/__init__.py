"""remote::bing-search: the web_search tool on Bing's Web Search API (v7)."""

from __future__ import annotations

from typing import Any

from polystack.core.impls import ProviderDeps
from polystack.providers.remote.tool_runtime.bing_search.config import BingSearchConfig


async def create(config: BingSearchConfig, deps: ProviderDeps) -> Any:
    from polystack.providers.remote.tool_runtime.bing_search.search import BingSearch

    return BingSearch(config)
