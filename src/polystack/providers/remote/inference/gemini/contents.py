"""OpenAI chat messages -> Gemini's `systemInstruction` and `contents` (roles user/model, typed parts)."""

from __future__ import annotations

import json
from typing import Any

from polystack.apis.errors import InvalidRequestError, UnsupportedParameterError
from polystack.apis.inference.types import (
    AssistantMessage,
    AudioPart,
    FilePart,
    ImagePart,
    Message,
    RefusalPart,
    TextPart,
    ToolCall,
    ToolMessage,
    UserMessage,
    text_of,
)
from polystack.providers.utils.data_url import parse_data_url
from polystack.providers.utils.native_api.turns import assistant_texts, split_conversation, tool_arguments

Part = dict[str, Any]


def thought_signature(call: ToolCall) -> str | None:
    """The Gemini thought signature a client echoes back on a tool call (Google's OpenAI-compatible field)."""
    extra = (call.model_extra or {}).get("extra_content")
    google = extra.get("google") if isinstance(extra, dict) else None
    signature = google.get("thought_signature") if isinstance(google, dict) else None
    return signature if isinstance(signature, str) else None


def to_contents(messages: list[Message]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The system instruction (system/developer messages, in order) and the conversation turns.

    Turns have the roles user and model; the results of parallel tool calls travel together in one user
    turn, as Gemini expects.
    """
    call_names: dict[str, str] = {}  # tool_call_id -> function name: functionResponse needs the name
    conversation = split_conversation(messages, lambda message, index: _turn(message, index, call_names))
    instruction = {"parts": [{"text": conversation.system}]} if conversation.system else None
    return instruction, [{"role": role, "parts": parts} for role, parts in conversation.turns]


def _turn(message: Message, index: int, call_names: dict[str, str]) -> tuple[str, list[Part]]:
    if isinstance(message, UserMessage):
        return "user", _user_parts(message, index)
    if isinstance(message, AssistantMessage):
        call_names.update({call.id: call.function.name for call in message.tool_calls or []})
        return "model", _model_parts(message, index)
    if isinstance(message, ToolMessage):
        name = call_names.get(message.tool_call_id)
        if name is None:
            raise InvalidRequestError(
                f"messages[{index}]: tool_call_id '{message.tool_call_id}' matches no earlier "
                "assistant tool call",
                param=f"messages[{index}].tool_call_id")
        response = _tool_response(text_of(message.content))
        return "user", [{"functionResponse": {"name": name, "response": response}}]
    raise InvalidRequestError(f"unsupported message role at messages[{index}]", param=f"messages[{index}]")


def _tool_response(text: str) -> dict[str, Any]:
    """Gemini wants an object: a JSON object result is passed as is, anything else under "result"."""
    try:
        value = json.loads(text)
    except ValueError:
        return {"result": text}
    return value if isinstance(value, dict) else {"result": value}


def _user_parts(message: UserMessage, index: int) -> list[Part]:
    if isinstance(message.content, str):
        return [{"text": message.content}] if message.content else []
    parts: list[Part] = []
    for part in message.content:
        if isinstance(part, TextPart):
            if part.text:
                parts.append({"text": part.text})
        elif isinstance(part, ImagePart):
            parts.append(_inline(part.image_url.url, index, "image_url"))
        elif isinstance(part, AudioPart):
            mime = f"audio/{part.input_audio.format.lower()}"
            parts.append({"inlineData": {"mimeType": mime, "data": part.input_audio.data}})
        elif isinstance(part, FilePart):
            parts.append(_inline(str(part.file.get("file_data", "")), index, "file.file_data"))
        elif isinstance(part, RefusalPart):
            parts.append({"text": part.refusal})
    return parts


def _inline(url: str, index: int, what: str) -> Part:
    match = parse_data_url(url)
    if match is None:
        raise UnsupportedParameterError(
            f"messages[{index}]: Gemini takes {what} only as a base64 data URL (no http URLs or file ids)",
            param=f"messages[{index}]")
    return {"inlineData": {"mimeType": match.mime, "data": match.data}}


def _model_parts(message: AssistantMessage, index: int) -> list[Part]:
    parts: list[Part] = [{"text": text} for text in assistant_texts(message)]
    for call in message.tool_calls or []:
        part: Part = {"functionCall": {"name": call.function.name,
                                       "args": tool_arguments(call.function.arguments, index)}}
        if signature := thought_signature(call):
            part["thoughtSignature"] = signature
        parts.append(part)
    return parts
