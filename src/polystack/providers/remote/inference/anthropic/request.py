"""An OpenAI ChatCompletionRequest -> the body of Anthropic's POST /v1/messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from polystack.apis.errors import InvalidRequestError, UnsupportedParameterError
from polystack.apis.inference.types import (
    ChatCompletionRequest,
    JSONObjectFormat,
    JSONSchemaFormat,
    NamedToolChoice,
)
from polystack.providers.remote.inference.anthropic.messages import split_system

JSON_OBJECT_TOOL = "json_response"


@dataclass(frozen=True)
class MessagesCall:
    """The upstream body, and the name of the tool standing in for `response_format` (if any).

    Anthropic has no JSON mode, so a JSON response format becomes a tool whose `input_schema` is the
    schema; its input is handed back to the caller as the message content, not as a tool call.
    """

    body: dict[str, Any]
    json_tool: str | None = None


def build_messages_call(request: ChatCompletionRequest, default_max_tokens: int) -> MessagesCall:
    _reject_unsupported(request)
    system, messages = split_system(request.messages)
    if not messages:
        raise InvalidRequestError("Anthropic needs at least one user or assistant message", param="messages")
    body: dict[str, Any] = {
        "model": request.model,
        "messages": messages,
        "max_tokens": request.max_output_tokens or default_max_tokens,
    }
    if system:
        body["system"] = system
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if (top_k := (request.model_extra or {}).get("top_k")) is not None:
        body["top_k"] = top_k
    if request.stop_list:
        body["stop_sequences"] = request.stop_list
    if request.user:
        body["metadata"] = {"user_id": request.user}
    if request.stream:
        body["stream"] = True
    json_tool = _add_tools(body, request)
    return MessagesCall(body, json_tool)


def _reject_unsupported(request: ChatCompletionRequest) -> None:
    if request.n is not None and request.n > 1:
        raise UnsupportedParameterError("Anthropic returns one choice per request; 'n' must be 1", param="n")
    if request.temperature is not None and request.temperature > 1:
        raise UnsupportedParameterError("Anthropic accepts a temperature between 0 and 1",
                                        param="temperature")
    if request.logprobs:
        raise UnsupportedParameterError("Anthropic does not return logprobs", param="logprobs")
    if request.logit_bias:
        raise UnsupportedParameterError("Anthropic does not support logit_bias", param="logit_bias")
    for name in ("presence_penalty", "frequency_penalty"):
        if getattr(request, name):
            raise UnsupportedParameterError(f"Anthropic does not support {name}", param=name)


def _add_tools(body: dict[str, Any], request: ChatCompletionRequest) -> str | None:
    """Sets `tools` and `tool_choice`; returns the name of the response-format tool, if one was added."""
    tools: list[dict[str, Any]] = []
    for tool in request.tools or []:
        entry = {"name": tool.function.name,
                 "input_schema": tool.function.parameters or {"type": "object", "properties": {}}}
        if tool.function.description:
            entry["description"] = tool.function.description
        tools.append(entry)
    choice = _tool_choice(request) if tools else None
    json_tool = _json_tool(request, {tool["name"] for tool in tools})
    if json_tool is not None and choice is not None and choice["type"] in ("any", "tool"):
        json_tool = None  # the caller demands a tool call this turn: the response format cannot apply
    if json_tool is not None:
        tools.append(json_tool)
        if not tools[:-1] or (choice is not None and choice["type"] == "none"):
            choice = {"type": "tool", "name": json_tool["name"]}
        else:
            choice = {"type": "any"}  # either call one of the caller's tools or answer through the schema
    if request.parallel_tool_calls is False and choice is not None and choice["type"] != "none":
        choice["disable_parallel_tool_use"] = True
    if tools:
        body["tools"] = tools
    if choice is not None:
        body["tool_choice"] = choice
    return json_tool["name"] if json_tool is not None else None


def _tool_choice(request: ChatCompletionRequest) -> dict[str, Any] | None:
    choice = request.tool_choice
    if isinstance(choice, NamedToolChoice):
        return {"type": "tool", "name": choice.function.name}
    mapping = {"auto": {"type": "auto"}, "none": {"type": "none"}, "required": {"type": "any"}}
    return mapping[choice] if choice is not None else None


def _json_tool(request: ChatCompletionRequest, taken: set[str]) -> dict[str, Any] | None:
    response_format = request.response_format
    if isinstance(response_format, JSONSchemaFormat):
        spec = response_format.json_schema
        schema = spec.schema_ or {"type": "object"}
        if schema.get("type") != "object":
            raise UnsupportedParameterError(
                "with Anthropic, a json_schema response format must describe an object",
                param="response_format")
        tool = {"name": spec.name, "input_schema": schema,
                "description": spec.description or "Give the final answer as this JSON object."}
    elif isinstance(response_format, JSONObjectFormat):
        tool = {"name": JSON_OBJECT_TOOL, "input_schema": {"type": "object"},
                "description": "Give the final answer as a JSON object."}
    else:
        return None
    if tool["name"] in taken:
        raise InvalidRequestError(
            f"the response format name '{tool['name']}' is also the name of a tool; rename one of them",
            param="response_format")
    return tool
