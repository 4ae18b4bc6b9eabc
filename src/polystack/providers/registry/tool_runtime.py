"""Tool runtime provider specs."""

from __future__ import annotations

from polystack.apis.datatypes import Api
from polystack.providers.spec import ProviderSpec

_REMOTE = "polystack.providers.remote.tool_runtime"

# name -> (config and provider-data class prefix, what it searches with)
WEB_SEARCH: dict[str, tuple[str, str]] = {
    "brave-search": ("BraveSearch", "Brave's Search API"),
    "tavily-search": ("TavilySearch", "Tavily's Search API"),
    "bing-search": ("BingSearch", "Bing's Web Search API (v7)"),
}


def _web_search(name: str, prefix: str, description: str) -> ProviderSpec:
    module = f"{_REMOTE}.{name.replace('-', '_')}"
    return ProviderSpec(
        api=Api.tool_runtime,
        provider_type=f"remote::{name}",
        module=module,
        config_class=f"{module}.config.{prefix}Config",
        description=f"The web_search tool (group builtin::websearch) on {description}.",
        provider_data_validator=f"{module}.config.{prefix}ProviderData",
    )


def available_providers() -> list[ProviderSpec]:
    return [_web_search(name, prefix, description) for name, (prefix, description) in WEB_SEARCH.items()]
