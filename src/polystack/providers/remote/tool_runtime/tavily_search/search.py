"""Tavily's Search API: POST {base_url}/search with the key as a bearer token."""

from __future__ import annotations

from typing import Any

import httpx

from polystack.providers.remote.tool_runtime.tavily_search.config import TavilySearchConfig, TavilySearchProviderData
from polystack.providers.remote.tool_runtime.web_search import SearchHit, WebSearchProvider, plain


class TavilySearch(WebSearchProvider):
    vendor = "Tavily"
    key_field = "tavily_search_api_key"
    provider_data = TavilySearchProviderData
    provider_id = "tavily-search"

    def __init__(self, config: TavilySearchConfig) -> None:
        super().__init__(config)

    def search_request(self, query: str, api_key: str) -> httpx.Request:
        return self.client.build_request(
            "POST", self.url("/search"),
            json={"query": query, "max_results": self.config.max_results, "search_depth": "basic",
                  "include_answer": False, "include_raw_content": False, "include_images": False},
            headers={"Authorization": f"Bearer {api_key}"})

    def hits(self, body: Any) -> list[SearchHit]:
        hits = []
        for r in body.get("results") or []:
            score = r.get("score")
            hits.append(SearchHit(title=plain(r.get("title")), url=str(r["url"]), content=plain(r.get("content")),
                                  score=float(score) if isinstance(score, int | float) else None))
        return hits
