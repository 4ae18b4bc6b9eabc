"""An agent config as a Responses request: sampling, tool choice, client tool schemas, tool groups picked for a
turn, and the tool each kind of group becomes (pure mapping; no stack)."""

from __future__ import annotations

import pytest

from polystack.apis.agents.types import AgentConfig, ToolConfig
from polystack.apis.errors import InvalidRequestError
from polystack.apis.tool_groups.types import URL, ToolDef, ToolGroup
from polystack.core.agents import config_map

MODEL = "scripted/scripted-model"


def agent(**fields: object) -> AgentConfig:
    return AgentConfig.model_validate({"model": MODEL, "instructions": "x", **fields})


def group(identifier: str, provider: str, endpoint: str | None = None, args: dict | None = None) -> ToolGroup:
    return ToolGroup(identifier=identifier, provider_id=provider, provider_resource_id=identifier,
                     mcp_endpoint=URL(uri=endpoint) if endpoint else None, args=args)


def test_sampling_strategies_become_temperature_top_p_and_max_output_tokens():
    assert config_map.sampling(agent()) == {"temperature": 0.0}
    top_p = agent(sampling_params={"strategy": {"type": "top_p", "temperature": 0.7, "top_p": 0.9},
                                   "max_tokens": 64})
    assert config_map.sampling(top_p) == {"temperature": 0.7, "top_p": 0.9, "max_output_tokens": 64}
    assert config_map.sampling(agent(sampling_params={"strategy": {"type": "top_k", "top_k": 5}})) == {}


def test_tool_choice_from_tool_config_the_deprecated_field_or_a_tool_name():
    weather = {"name": "get_weather", "input_schema": {"type": "object"}}
    assert config_map.tool_choice(agent(), None) == "auto"
    assert config_map.tool_choice(agent(tool_choice="required"), None) == "required"
    assert config_map.tool_choice(agent(tool_config={"tool_choice": "none"}), None) == "none"
    assert config_map.tool_choice(agent(client_tools=[weather]), ToolConfig(tool_choice="get_weather")) == {
        "type": "function", "name": "get_weather"}
    assert config_map.tool_choice(agent(), ToolConfig(tool_choice="knowledge_search")) == "required"


def test_client_tool_parameters_become_a_json_schema():
    config = agent(client_tools=[{"name": "book", "description": "Book a table.", "parameters": [
        {"name": "people", "parameter_type": "integer", "description": "How many"},
        {"name": "note", "parameter_type": "string", "required": False, "default": ""}]}])
    assert config_map.client_schema(config.client_tools[0]) == {
        "type": "object", "required": ["people"],
        "properties": {"people": {"type": "integer", "description": "How many"},
                       "note": {"type": "string", "default": ""}}}


def test_a_turns_tool_groups_replace_the_agents_and_args_come_from_either():
    config = agent(toolgroups=[{"name": "builtin::rag", "args": {"vector_store_ids": ["vs_a"]}}, "mcp::x"])
    assert config_map._groups(config, None) == [("builtin::rag", None, {"vector_store_ids": ["vs_a"]}),
                                                 ("mcp::x", None, {})]
    assert config_map._groups(config, ["builtin::rag/knowledge_search"]) == [
        ("builtin::rag", "knowledge_search", {"vector_store_ids": ["vs_a"]})]


def test_each_kind_of_group_becomes_its_responses_tool():
    mcp = config_map._server_tool(group("mcp::weather", "mcp", "http://127.0.0.1:9/mcp"), "forecast", {},
                                  [ToolDef(name="forecast"), ToolDef(name="alerts")])
    assert mcp == {"type": "mcp", "server_label": "mcp__weather", "server_url": "http://127.0.0.1:9/mcp",
                   "require_approval": "never", "allowed_tools": ["forecast"]}
    rag = config_map._server_tool(group("builtin::rag", "rag-runtime"), None,
                                  {"vector_db_ids": ["vs_1"], "query_config": {"max_chunks": 3}},
                                  [ToolDef(name="knowledge_search")])
    assert rag == {"type": "file_search", "vector_store_ids": ["vs_1"], "max_num_results": 3}
    web = config_map._server_tool(group("builtin::websearch", "brave-search"), None, {}, [ToolDef(name="web_search")])
    assert web == {"type": "web_search"}
    with pytest.raises(InvalidRequestError) as unknown_tool:
        config_map._server_tool(group("mcp::weather", "mcp", "http://x/mcp"), "nope", {}, [ToolDef(name="forecast")])
    assert unknown_tool.value.param == "toolgroups" and "nope" in unknown_tool.value.message


def test_a_json_schema_response_format_is_the_text_format_and_a_grammar_is_refused():
    schema = {"title": "Answer", "type": "object", "properties": {"a": {"type": "string"}}}
    assert config_map.text_format(agent(response_format={"type": "json_schema", "json_schema": schema})) == {
        "format": {"type": "json_schema", "name": "Answer", "schema": schema}}
    with pytest.raises(InvalidRequestError):
        config_map.text_format(agent(response_format={"type": "grammar", "bnf": {}}))
