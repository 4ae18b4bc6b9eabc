"""The MCP tool runtime: lists and calls the tools of a group's MCP server through one pooled `McpClient`.

The caller's credentials are the `mcp_headers` of their provider data for that endpoint, plus the
`authorization` token of invoke / list-tools (sent as a bearer token); they travel only to the server and
are never logged. A failing tool, or a server that cannot be reached in time, is a ToolInvocationResult
with `error_message` (and `error_code`: 1 for a tool error, else the HTTP status of the failure), not a crash.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from polystack.apis.errors import InvalidRequestError, NotFoundError, PolystackError
from polystack.apis.tool_groups.types import URL, ListToolDefsResponse, ToolDef, ToolGroup
from polystack.apis.tool_runtime.context import caller_authorization, current_tool_group
from polystack.apis.tool_runtime.types import ContentItem, ImageContentItem, TextContentItem, ToolInvocationResult
from polystack.core.request_context import provider_data
from polystack.providers.remote.tool_runtime.model_context_protocol.config import (
    ModelContextProtocolConfig,
    ModelContextProtocolProviderData,
)
from polystack.providers.utils.mcp.credentials import endpoint_host
from polystack.providers.utils.mcp.settings import McpClientSettings
from polystack.providers.utils.mcp.types import McpCallResult

if TYPE_CHECKING:
    from polystack.providers.utils.mcp.client import McpClient

logger = logging.getLogger("polystack.tool_runtime.mcp")

TOOL_ERROR_CODE = 1  # Llama Stack's error_code for a tool that ran and failed


def canonical(uri: str) -> str:
    """An endpoint as `mcp_headers` keys are matched: host (and port) and path, without scheme or trailing '/'."""
    parts = urlsplit(uri.strip())
    return f"{parts.netloc.lower()}/{parts.path.strip('/')}"


class ModelContextProtocolRuntime:
    """remote::model-context-protocol; `tool_store` (the tool groups table) is set by the stack."""

    lists_mcp_endpoints = True

    def __init__(self, config: ModelContextProtocolConfig) -> None:
        self.settings = McpClientSettings.model_validate(config.model_dump(exclude={"transport"}))
        self.transport = config.transport
        self._provider_id = "model-context-protocol"
        self._client: McpClient | None = None
        self.tool_store: Any = None

    @property
    def client(self) -> McpClient:
        """Made at the first MCP call: importing the MCP SDK would add about a second to start-up."""
        if self._client is None:
            from polystack.providers.utils.mcp.client import McpClient

            self._client = McpClient(self.settings, provider_id=self._provider_id, transport=self.transport)
        return self._client

    @property
    def provider_id(self) -> str:
        return self._provider_id

    @provider_id.setter
    def provider_id(self, value: str) -> None:  # the resolver sets the configured id; errors name it
        self._provider_id = value
        if self._client is not None:
            self._client.provider_id = value

    async def shutdown(self) -> None:
        if self._client is not None:
            await self._client.close()

    async def list_runtime_tools(self, tool_group_id: str | None = None,
                                 mcp_endpoint: URL | None = None) -> ListToolDefsResponse:
        endpoint = mcp_endpoint.uri if mcp_endpoint is not None else None
        if endpoint is None and tool_group_id is not None and self.tool_store is not None:
            group: ToolGroup = await self.tool_store.get_tool_group(tool_group_id)
            endpoint = group.mcp_endpoint.uri if group.mcp_endpoint is not None else None
        if endpoint is None:
            raise InvalidRequestError(f"Provider '{self.provider_id}' lists the tools of an MCP server: register the "
                                      "group with an mcp_endpoint, or pass mcp_endpoint", param="mcp_endpoint")
        tools = await self.client.list_tools(endpoint, self.headers_for(endpoint), authorization=caller_authorization())
        return ListToolDefsResponse(data=[
            ToolDef(name=tool.name, description=tool.description, input_schema=tool.input_schema,
                    metadata={"endpoint": endpoint, **({"annotations": tool.annotations} if tool.annotations else {})})
            for tool in tools])

    async def invoke_tool(self, tool_name: str, kwargs: dict[str, Any]) -> ToolInvocationResult:
        endpoint = await self._endpoint_of(tool_name)
        try:
            result = await self.client.call_tool(endpoint, self.headers_for(endpoint), tool_name, kwargs,
                                                 authorization=caller_authorization())
        except InvalidRequestError:
            raise  # the server rejected the arguments: the caller's 400
        except PolystackError as exc:  # unreachable, timed out, refused: a tool error the model can read
            return ToolInvocationResult(error_message=exc.message, error_code=exc.status_code,
                                        metadata={"server": endpoint_host(endpoint)})
        return invocation_result(result)

    def headers_for(self, endpoint: str) -> dict[str, str]:
        """The caller's `mcp_headers` for this endpoint (matched on host and path)."""
        data = provider_data(ModelContextProtocolProviderData)
        headers: dict[str, str] = {}
        if data is not None and data.mcp_headers:
            wanted = canonical(endpoint)
            for uri, values in data.mcp_headers.items():
                if canonical(uri) == wanted:
                    headers.update(values)
        return headers

    async def _endpoint_of(self, tool_name: str) -> str:
        group = current_tool_group()
        if (group is None or group.mcp_endpoint is None) and self.tool_store is not None:
            _, group = await self.tool_store.resolve_tool(tool_name)
        if group is None:
            raise NotFoundError(f"Tool '{tool_name}' is not in any MCP tool group", param="tool_name")
        if group.mcp_endpoint is None:
            raise InvalidRequestError(f"Tool group '{group.identifier}' has no mcp_endpoint", param="tool_name")
        return group.mcp_endpoint.uri


def invocation_result(result: McpCallResult) -> ToolInvocationResult:
    """An MCP call's parts as content items; a tool error also as `error_message` (code 1)."""
    items: list[ContentItem] = []
    for part in result.content:
        kind = part.get("type")
        if kind == "text":
            items.append(TextContentItem(text=str(part.get("text", ""))))
        elif kind == "image" and isinstance(part.get("data"), str):
            items.append(ImageContentItem(image={"data": part["data"], "mime_type": part.get("mimeType")}))
        else:  # audio, resources, links: their JSON, so nothing is dropped silently
            items.append(TextContentItem(text=json.dumps(part, ensure_ascii=False)))
    metadata = {"structured_content": result.structured_content} if result.structured_content is not None else None
    if result.is_error:
        return ToolInvocationResult(content=items, error_message=result.text or "the tool failed",
                                    error_code=TOOL_ERROR_CODE, metadata=metadata)
    return ToolInvocationResult(content=items, metadata=metadata)
