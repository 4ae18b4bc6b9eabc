"""Brave's Web Search API: GET {base_url}/web/search with the key in X-Subscription-Token."""

from __future__ import annotations

from typing import Any

import httpx

from polystack.providers.remote.tool_runtime.brave_search.config import BraveSearchConfig, BraveSearchProviderData
from polystack.providers.remote.tool_runtime.web_search import SearchHit, WebSearchProvider, plain


class BraveSearch(WebSearchProvider):
    vendor = "Brave Search"
    key_field = "brave_search_api_key"
    provider_data = BraveSearchProviderData
    provider_id = "brave-search"

    def __init__(self, config: BraveSearchConfig) -> None:
        super().__init__(config)

    def search_request(self, query: str, api_key: str) -> httpx.Request:
        return self.client.build_request(
            "GET", self.url("/web/search"),
            params={"q": query, "count": self.config.max_results, "result_filter": "web",
                    "text_decorations": "false"},
            headers={"Accept": "application/json", "X-Subscription-Token": api_key})

    def hits(self, body: Any) -> list[SearchHit]:
        results = (body.get("web") or {}).get("results") or []
        return [SearchHit(title=plain(r.get("title")), url=str(r["url"]), content=plain(r.get("description")))
                for r in results]

    def is_auth_failure(self, status: int, body: Any) -> bool:
        # Brave answers a wrong subscription token with 422 and code SUBSCRIPTION_TOKEN_INVALID
        error = body.get("error") if isinstance(body, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        return super().is_auth_failure(status, body) or code == "SUBSCRIPTION_TOKEN_INVALID"
