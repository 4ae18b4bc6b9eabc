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


_RAG = "polystack.providers.inline.tool_runtime.rag"
_MCP = f"{_REMOTE}.model_context_protocol"

# No inline::code-interpreter: running model-written code safely needs, besides rlimits and no network
# (`unshare -n`), a filesystem the code cannot read the server's files from (a mount namespace with a private
# root, or Landlock) and a way to keep that working for an unprivileged server on any host; until that exists
# and is tested, it is left out rather than offered half-isolated.


def available_providers() -> list[ProviderSpec]:
    return [
        *(_web_search(name, prefix, description) for name, (prefix, description) in WEB_SEARCH.items()),
        ProviderSpec(
            api=Api.tool_runtime,
            provider_type="inline::rag-runtime",
            module=_RAG,
            config_class=f"{_RAG}.config.RagRuntimeConfig",
            description="The knowledge_search tool (group builtin::rag) and the rag-tool insert/query routes, "
                        "over the vector stores and files APIs.",
            api_dependencies=(Api.vector_io,),
            optional_api_dependencies=(Api.files, Api.inference),
        ),
        ProviderSpec(
            api=Api.tool_runtime,
            provider_type="remote::model-context-protocol",
            module=_MCP,
            config_class=f"{_MCP}.config.ModelContextProtocolConfig",
            description="Tool groups registered with an mcp_endpoint: the tools of MCP servers (streamable HTTP "
                        "or SSE), with the caller's credentials from provider data (mcp_headers).",
            provider_data_validator=f"{_MCP}.config.ModelContextProtocolProviderData",
        ),
    ]
