"""An agent config (and a turn's overrides) as a Responses request: tool groups become server tools.

- a tool group with an `mcp_endpoint` -> an `mcp` tool (approval never: an agent's tools run on the server);
  `group/tool` offers only that tool;
- a group offering `knowledge_search` (builtin::rag) -> `file_search` over its `vector_store_ids` (or Llama
  Stack's older `vector_db_ids`) argument;
- a group offering `web_search` (builtin::websearch) -> the `web_search` tool;
- client tools -> function tools, which end the response so the client runs them (turn_awaiting_input).
"""

from __future__ import annotations

import re
from typing import Any, Protocol, runtime_checkable

from polystack.apis.agents.types import (
    AgentConfig,
    AgentToolGroup,
    ClientTool,
    GrammarFormat,
    GreedyStrategy,
    JsonSchemaFormat,
    ToolConfig,
    ToolGroupWithArgs,
    TopPStrategy,
)
from polystack.apis.datatypes import Api
from polystack.apis.errors import InvalidRequestError
from polystack.apis.tool_groups.types import ToolDef, ToolGroup
from polystack.core.impls import Impls

RAG_TOOL = "knowledge_search"
WEB_TOOL = "web_search"
_LABEL = re.compile(r"[^a-zA-Z0-9_-]")


@runtime_checkable
class ToolGroups(Protocol):
    async def get_tool_group(self, toolgroup_id: str) -> ToolGroup: ...

    async def tools_of(self, group: ToolGroup) -> list[ToolDef]: ...


def server_label(group_id: str) -> str:
    """An MCP tool's server_label for a tool group (its id, with characters a label may not hold replaced)."""
    return _LABEL.sub("_", group_id)


def client_schema(tool: ClientTool) -> dict[str, Any]:
    """The JSON Schema of a client tool's arguments, from `input_schema` or Llama Stack's `parameters` list."""
    if tool.input_schema is not None:
        return tool.input_schema
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in tool.parameters or []:
        schema: dict[str, Any] = {"type": param.parameter_type}
        for key in ("description", "default", "items", "title"):
            if getattr(param, key) is not None:
                schema[key] = getattr(param, key)
        properties[param.name] = schema
        if param.required:
            required.append(param.name)
    return {"type": "object", "properties": properties, "required": required}


def tool_choice(config: AgentConfig, override: ToolConfig | None) -> Any:
    """Llama Stack's tool choice (auto | required | none | a tool's name) as the Responses tool_choice."""
    tool_config = override or config.tool_config
    choice = (tool_config.tool_choice if tool_config is not None else None) or config.tool_choice or "auto"
    if choice in ("auto", "required", "none"):
        return choice
    if any(tool.name == choice for tool in config.client_tools or []):
        return {"type": "function", "name": choice}
    return "required"  # a server tool's name: the model must call a tool


def sampling(config: AgentConfig) -> dict[str, Any]:
    params = config.sampling_params
    if params is None:
        return {}
    body: dict[str, Any] = {}
    strategy = params.strategy
    if isinstance(strategy, GreedyStrategy):
        body["temperature"] = 0.0
    elif isinstance(strategy, TopPStrategy):
        if strategy.temperature is not None:
            body["temperature"] = strategy.temperature
        if strategy.top_p is not None:
            body["top_p"] = strategy.top_p
    if params.max_tokens:
        body["max_output_tokens"] = params.max_tokens
    return body


def text_format(config: AgentConfig) -> dict[str, Any] | None:
    response_format = config.response_format
    if response_format is None:
        return None
    if isinstance(response_format, GrammarFormat):
        raise InvalidRequestError("a grammar response_format is not supported; use json_schema",
                                  param="agent_config.response_format")
    assert isinstance(response_format, JsonSchemaFormat)
    schema = response_format.json_schema
    name = _LABEL.sub("_", str(schema.get("title") or "response"))[:64]  # a format name is a function-like name
    return {"format": {"type": "json_schema", "name": name, "schema": schema}}


def _groups(config: AgentConfig, for_turn: list[AgentToolGroup] | None) -> list[tuple[str, str | None, dict[str, Any]]]:
    """(group id, tool name or None, args) of each group the turn offers, as Llama Stack picks them: the
    turn's groups if it names any, else the agent's; args from either (the turn's win)."""
    args: dict[str, dict[str, Any]] = {}
    for group in (config.toolgroups or []) + (for_turn or []):
        if isinstance(group, ToolGroupWithArgs):
            args[group.name.split("/")[0]] = group.args
    chosen: list[tuple[str, str | None, dict[str, Any]]] = []
    for group in for_turn or config.toolgroups or []:
        name = group.name if isinstance(group, ToolGroupWithArgs) else group
        group_id, _, tool = name.partition("/")
        if tool == "":
            group_id, tool = name, ""
            for candidate in ("builtin::rag", "builtin::websearch"):  # `builtin::rag/knowledge_search`
                if name.startswith(candidate + "/"):
                    group_id, tool = candidate, name[len(candidate) + 1:]
        entry = (group_id, tool or None, args.get(group_id, {}))
        if entry[:2] not in [c[:2] for c in chosen]:
            chosen.append(entry)
    return chosen


async def request_tools(config: AgentConfig, for_turn: list[AgentToolGroup] | None, impls: Impls
                        ) -> list[dict[str, Any]]:
    """The Responses `tools` of a turn: its tool groups as server tools, then the agent's client tools."""
    tools: list[dict[str, Any]] = []
    groups = _groups(config, for_turn)
    if groups:
        table = impls.get_as(Api.tool_groups, ToolGroups)
        if table is None:
            raise InvalidRequestError("this server does not serve tool groups (the tool_runtime API)",
                                      param="toolgroups")
        for group_id, tool_name, args in groups:
            group = await table.get_tool_group(group_id)
            tools.append(_server_tool(group, tool_name, args, await table.tools_of(group)))
    for tool in config.client_tools or []:
        tools.append({"type": "function", "name": tool.name, "description": tool.description,
                      "parameters": client_schema(tool)})
    return tools


def _server_tool(group: ToolGroup, tool_name: str | None, args: dict[str, Any], offered: list[ToolDef]
                 ) -> dict[str, Any]:
    names = {tool.name for tool in offered}
    if tool_name is not None and tool_name not in names:
        raise InvalidRequestError(f"Tool group '{group.identifier}' has no tool '{tool_name}' (it offers: "
                                  f"{', '.join(sorted(names))})", param="toolgroups")
    if group.mcp_endpoint is not None:
        tool: dict[str, Any] = {"type": "mcp", "server_label": server_label(group.identifier),
                                "server_url": group.mcp_endpoint.uri, "require_approval": "never"}
        if tool_name is not None:
            tool["allowed_tools"] = [tool_name]
        return tool
    if RAG_TOOL in names:
        stores = args.get("vector_store_ids") or args.get("vector_db_ids") or (group.args or {}).get(
            "vector_store_ids")
        if not stores or not isinstance(stores, list):
            raise InvalidRequestError(f"Tool group '{group.identifier}' searches vector stores: give their ids "
                                      "in its args, e.g. {\"name\": \"builtin::rag\", \"args\": "
                                      "{\"vector_store_ids\": [\"vs_...\"]}}", param="toolgroups")
        rag: dict[str, Any] = {"type": "file_search", "vector_store_ids": [str(s) for s in stores]}
        query_config = args.get("query_config") or {}
        if isinstance(query_config, dict) and isinstance(query_config.get("max_chunks"), int):
            rag["max_num_results"] = max(1, min(int(query_config["max_chunks"]), 50))
        return rag
    if WEB_TOOL in names:
        return {"type": "web_search"}
    raise InvalidRequestError(f"Tool group '{group.identifier}' cannot be used by agents here (only MCP groups, "
                              "builtin::rag and builtin::websearch)", param="toolgroups")
