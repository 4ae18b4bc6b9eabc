"""An OpenAI ChatCompletionRequest -> the body of Gemini's generateContent / streamGenerateContent."""

from __future__ import annotations

import re
from typing import Any

from polystack.apis.errors import InvalidRequestError, UnsupportedParameterError
from polystack.apis.inference.types import (
    ChatCompletionRequest,
    JSONObjectFormat,
    JSONSchemaFormat,
    NamedToolChoice,
)
from polystack.providers.remote.inference.gemini.contents import to_contents

_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def model_path(model: str, method: str) -> str:
    """`/models/{model}:{method}`; `models/x` and `tunedModels/x` names are accepted as given.

    The name is checked so that it cannot reshape the URL path the key is sent to.
    """
    collection, _, name = model.rpartition("/")
    if collection not in ("", "models", "tunedModels") or not _MODEL_NAME.match(name):
        raise InvalidRequestError(f"'{model}' is not a valid Gemini model name", param="model")
    return f"/{collection or 'models'}/{name}:{method}"


def build_generate_body(request: ChatCompletionRequest) -> dict[str, Any]:
    _reject_unsupported(request)
    instruction, contents = to_contents(request.messages)
    if not contents:
        raise InvalidRequestError("Gemini needs at least one user or assistant message", param="messages")
    body: dict[str, Any] = {"contents": contents}
    if instruction:
        body["systemInstruction"] = instruction
    if config := _generation_config(request):
        body["generationConfig"] = config
    if request.tools:
        body["tools"] = [{"functionDeclarations": [_declaration(tool.function) for tool in request.tools]}]
        if request.tool_choice is not None:
            body["toolConfig"] = {"functionCallingConfig": _calling_config(request)}
    return body


def _reject_unsupported(request: ChatCompletionRequest) -> None:
    if request.logprobs:
        raise UnsupportedParameterError("logprobs are not supported with Gemini here", param="logprobs")
    if request.logit_bias:
        raise UnsupportedParameterError("Gemini does not support logit_bias", param="logit_bias")


def _generation_config(request: ChatCompletionRequest) -> dict[str, Any]:
    extra = request.model_extra or {}
    config: dict[str, Any] = {
        "temperature": request.temperature,
        "topP": request.top_p,
        "topK": extra.get("top_k"),
        "maxOutputTokens": request.max_output_tokens,
        "stopSequences": request.stop_list or None,
        "candidateCount": request.n,
        "seed": request.seed,
        "presencePenalty": request.presence_penalty,
        "frequencyPenalty": request.frequency_penalty,
    }
    response_format = request.response_format
    if isinstance(response_format, JSONSchemaFormat):
        config["responseMimeType"] = "application/json"
        config["responseJsonSchema"] = response_format.json_schema.schema_ or {"type": "object"}
    elif isinstance(response_format, JSONObjectFormat):
        config["responseMimeType"] = "application/json"
    return {key: value for key, value in config.items() if value is not None}


def _declaration(function: Any) -> dict[str, Any]:
    declaration: dict[str, Any] = {"name": function.name}
    if function.description:
        declaration["description"] = function.description
    if function.parameters:
        # parametersJsonSchema takes JSON Schema as OpenAI tools write it (the older `parameters` field
        # takes an OpenAPI subset that rejects keys such as additionalProperties)
        declaration["parametersJsonSchema"] = function.parameters
    return declaration


def _calling_config(request: ChatCompletionRequest) -> dict[str, Any]:
    choice = request.tool_choice
    if isinstance(choice, NamedToolChoice):
        return {"mode": "ANY", "allowedFunctionNames": [choice.function.name]}
    return {"mode": {"auto": "AUTO", "none": "NONE", "required": "ANY"}[str(choice)]}
