"""remote::brave-search: the web_search tool on Brave's Search API."""

from __future__ import annotations

from typing import Any

from polystack.core.impls import ProviderDeps
from polystack.providers.remote.tool_runtime.brave_search.config import BraveSearchConfig


async def create(config: BraveSearchConfig, deps: ProviderDeps) -> Any:
    from polystack.providers.remote.tool_runtime.brave_search.search import BraveSearch

    return BraveSearch(config)
