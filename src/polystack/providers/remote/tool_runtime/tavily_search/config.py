"""Config of remote::tavily-search: the web_search tool on Tavily's Search API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from polystack.providers.remote.tool_runtime.web_search import WebSearchConfig


class TavilySearchConfig(WebSearchConfig):
    """Per-request key override: provider data `{"tavily_search_api_key": "..."}`."""

    base_url: str = Field(default="https://api.tavily.com",
                          description="The API's base URL (a test points it at a fake).")


class TavilySearchProviderData(BaseModel):
    """The caller's own key, from the X-LlamaStack-Provider-Data header; unknown keys are ignored."""

    model_config = ConfigDict(extra="allow")

    tavily_search_api_key: SecretStr | None = None
