"""Bing's Web Search API (v7): GET {base_url}/search with the key in Ocp-Apim-Subscription-Key."""

from __future__ import annotations

from typing import Any

import httpx

from polystack.providers.remote.tool_runtime.bing_search.config import BingSearchConfig, BingSearchProviderData
from polystack.providers.remote.tool_runtime.web_search import SearchHit, WebSearchProvider, plain


class BingSearch(WebSearchProvider):
    vendor = "Bing Web Search"
    key_field = "bing_search_api_key"
    provider_data = BingSearchProviderData
    provider_id = "bing-search"
    description = "Search the web using Bing Search API"

    def __init__(self, config: BingSearchConfig) -> None:
        super().__init__(config)

    def search_request(self, query: str, api_key: str) -> httpx.Request:
        return self.client.build_request(
            "GET", self.url("/search"),
            params={"q": query, "count": self.config.max_results, "responseFilter": "Webpages",
                    "textDecorations": "false", "textFormat": "Raw"},
            headers={"Ocp-Apim-Subscription-Key": api_key})

    def hits(self, body: Any) -> list[SearchHit]:
        pages = (body.get("webPages") or {}).get("value") or []
        return [SearchHit(title=plain(p.get("name")), url=str(p["url"]), content=plain(p.get("snippet")))
                for p in pages]
