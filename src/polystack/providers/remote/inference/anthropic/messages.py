"""OpenAI chat messages -> Anthropic's `system` text and `messages` turns of content blocks."""

from __future__ import annotations

import json
from typing import Any

from polystack.apis.errors import InvalidRequestError, UnsupportedParameterError
from polystack.apis.inference.types import (
    AssistantMessage,
    AudioPart,
    DeveloperMessage,
    FilePart,
    ImagePart,
    Message,
    RefusalPart,
    SystemMessage,
    TextPart,
    ToolMessage,
    UserMessage,
    text_of,
)
from polystack.providers.utils.data_url import parse_data_url

_IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}

Block = dict[str, Any]


def split_system(messages: list[Message]) -> tuple[str | None, list[dict[str, Any]]]:
    """The joined system/developer text, and the other messages as Anthropic turns.

    Anthropic has one top-level system prompt, so system messages anywhere in the list are gathered
    there in order. Consecutive turns of one role are merged (tool results become one user turn).
    """
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        if isinstance(message, SystemMessage | DeveloperMessage):
            if text := text_of(message.content):
                system.append(text)
            continue
        role, blocks = _turn(message, index)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return ("\n\n".join(system) or None), turns


def _turn(message: Message, index: int) -> tuple[str, list[Block]]:
    if isinstance(message, UserMessage):
        return "user", _user_blocks(message, index)
    if isinstance(message, AssistantMessage):
        return "assistant", _assistant_blocks(message, index)
    if isinstance(message, ToolMessage):
        result: Block = {"type": "tool_result", "tool_use_id": message.tool_call_id}
        if text := text_of(message.content):
            result["content"] = text
        return "user", [result]
    raise InvalidRequestError(f"unsupported message role at messages[{index}]", param=f"messages[{index}]")


def _user_blocks(message: UserMessage, index: int) -> list[Block]:
    if isinstance(message.content, str):
        return [{"type": "text", "text": message.content}] if message.content else []
    blocks: list[Block] = []
    for part in message.content:
        if isinstance(part, TextPart):
            if part.text:
                blocks.append({"type": "text", "text": part.text})
        elif isinstance(part, ImagePart):
            blocks.append(_image_block(part.image_url.url, index))
        elif isinstance(part, FilePart):
            blocks.append(_document_block(part.file, index))
        elif isinstance(part, AudioPart):
            raise UnsupportedParameterError("Anthropic does not accept audio input",
                                            param=f"messages[{index}]")
        elif isinstance(part, RefusalPart):
            blocks.append({"type": "text", "text": part.refusal})
    return blocks


def _assistant_blocks(message: AssistantMessage, index: int) -> list[Block]:
    blocks: list[Block] = []
    if isinstance(message.content, str):
        if message.content:
            blocks.append({"type": "text", "text": message.content})
    elif message.content:
        for part in message.content:
            text = part.text if isinstance(part, TextPart) else part.refusal
            if text:
                blocks.append({"type": "text", "text": text})
    for call in message.tool_calls or []:
        blocks.append({"type": "tool_use", "id": call.id, "name": call.function.name,
                       "input": _arguments(call.function.arguments, index)})
    return blocks


def _arguments(arguments: str, index: int) -> dict[str, Any]:
    """A tool call's JSON arguments as the object Anthropic's `input` must be."""
    if not arguments.strip():
        return {}
    try:
        value = json.loads(arguments)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise InvalidRequestError(f"messages[{index}]: tool call arguments must be a JSON object",
                                  param=f"messages[{index}].tool_calls")
    return value


def _image_block(url: str, index: int) -> Block:
    if match := parse_data_url(url):
        mime = match.mime
        if mime not in _IMAGE_TYPES:
            raise UnsupportedParameterError(
                f"Anthropic accepts images of type {', '.join(sorted(_IMAGE_TYPES))}, not {mime}",
                param=f"messages[{index}]")
        return {"type": "image", "source": {"type": "base64", "media_type": mime, "data": match.data}}
    if url.startswith(("https://", "http://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise InvalidRequestError("image_url must be an http(s) URL or a base64 data URL",
                              param=f"messages[{index}]")


def _document_block(file: dict[str, Any], index: int) -> Block:
    match = parse_data_url(str(file.get("file_data", "")))
    if match is None or match.mime != "application/pdf":
        raise UnsupportedParameterError(
            "Anthropic accepts file parts only as base64 PDF data URLs in 'file_data' (no file_id)",
            param=f"messages[{index}]")
    return {"type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": match.data}}
