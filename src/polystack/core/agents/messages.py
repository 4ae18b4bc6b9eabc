"""Llama Stack's turn messages as Responses input items, and content as plain text."""

from __future__ import annotations

from typing import Any

from polystack.apis.agents.types import Content, Document, ToolResponseMessage, UserMessage
from polystack.apis.errors import InvalidRequestError


def text_of(content: Content | None) -> str:
    """The text of InterleavedContent (images left out)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text", "")) if content.get("type", "text") == "text" else ""
    return "".join(text_of(part) for part in content)


def _parts(content: Content, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "input_text", "text": content}]
    if isinstance(content, list):
        return [part for entry in content for part in _parts(entry, where)]
    kind = content.get("type", "text")
    if kind == "text":
        return [{"type": "input_text", "text": str(content.get("text", ""))}]
    if kind == "image":
        image = content.get("image") or {}
        url = (image.get("url") or {}).get("uri") if isinstance(image, dict) else None
        data = image.get("data") if isinstance(image, dict) else None
        if url or data:
            return [{"type": "input_image", "image_url": url or f"data:image/png;base64,{data}"}]
    raise InvalidRequestError(f"Unsupported content item of type '{kind}'", param=where)


def input_items(messages: list[UserMessage | ToolResponseMessage], documents: list[Document] | None
                ) -> list[dict[str, Any]]:
    """The turn's messages as input items; documents' text is appended to the last user message (as Llama
    Stack attaches them)."""
    items: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        where = f"messages[{index}].content"
        if isinstance(message, ToolResponseMessage):
            items.append({"type": "function_call_output", "call_id": message.call_id,
                          "output": text_of(message.content)})
            continue
        parts = _parts(message.content, where)
        if message.context is not None:
            parts.append({"type": "input_text", "text": text_of(message.context)})
        items.append({"type": "message", "role": "user", "content": parts})
    for index, document in enumerate(documents or []):
        content = document.content
        if isinstance(content, dict) and "uri" in content:
            raise InvalidRequestError("documents by URL are not supported; send their text",
                                      param=f"documents[{index}].content")
        users = [item for item in items if item["type"] == "message"]
        if not users:
            raise InvalidRequestError("documents need a user message to attach to", param="documents")
        users[-1]["content"].append({"type": "input_text", "text": text_of(content)})
    return items
