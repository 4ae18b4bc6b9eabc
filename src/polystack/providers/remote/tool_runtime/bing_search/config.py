"""Config of remote::bing-search: the web_search tool on Bing's Web Search API (v7)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from polystack.providers.remote.tool_runtime.web_search import WebSearchConfig


class BingSearchConfig(WebSearchConfig):
    """Per-request key override: provider data `{"bing_search_api_key": "..."}`."""

    base_url: str = Field(default="https://api.bing.microsoft.com/v7.0",
                          description="The API's base URL (a test points it at a fake).")


class BingSearchProviderData(BaseModel):
    """The caller's own key, from the X-LlamaStack-Provider-Data header; unknown keys are ignored."""

    model_config = ConfigDict(extra="allow")

    bing_search_api_key: SecretStr | None = None
