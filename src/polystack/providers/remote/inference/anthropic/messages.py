"""OpenAI chat messages -> Anthropic's `system` text and `messages` turns of content blocks."""

from __future__ import annotations

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
    ToolMessage,
    UserMessage,
    text_of,
)
from polystack.providers.utils.data_url import parse_data_url
from polystack.providers.utils.native_api.turns import assistant_texts, split_conversation, tool_arguments

_IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}

Block = dict[str, Any]


def split_system(messages: list[Message]) -> tuple[str | None, list[dict[str, Any]]]:
    """Anthropic's one top-level system prompt, and the other messages as its turns (tool results as user turns)."""
    conversation = split_conversation(messages, _turn)
    return conversation.system, [{"role": role, "content": blocks} for role, blocks in conversation.turns]


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
    blocks: list[Block] = [{"type": "text", "text": text} for text in assistant_texts(message)]
    for call in message.tool_calls or []:
        blocks.append({"type": "tool_use", "id": call.id, "name": call.function.name,
                       "input": tool_arguments(call.function.arguments, index)})
    return blocks


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
