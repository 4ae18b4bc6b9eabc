"""Config of remote::brave-search: the web_search tool on Brave's Search API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from polystack.providers.remote.tool_runtime.web_search import WebSearchConfig


class BraveSearchConfig(WebSearchConfig):
    """Per-request key override: provider data `{"brave_search_api_key": "..."}`."""

    base_url: str = Field(default="https://api.search.brave.com/res/v1",
                          description="The API's base URL (a test points it at a fake).")


class BraveSearchProviderData(BaseModel):
    """The caller's own key, from the X-LlamaStack-Provider-Data header; unknown keys are ignored."""

    model_config = ConfigDict(extra="allow")

    brave_search_api_key: SecretStr | None = None
