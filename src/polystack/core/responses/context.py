"""Responses items as chat messages: what the model reads of input, earlier responses and conversations."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from polystack.apis.errors import InvalidRequestError
from polystack.apis.responses.items import (
    Compaction,
    FileSearchCall,
    FunctionCall,
    FunctionCallOutput,
    InputImage,
    InputItem,
    InputText,
    McpCall,
    Message,
    OutputText,
    Refusal,
    input_text,
    parse_items,
)
from polystack.core.config import location
from polystack.core.responses.compacted import decode_summary

logger = logging.getLogger("polystack.responses")

ChatMessage = dict[str, Any]
COMPACTED_PREFIX = "Summary of the earlier conversation (compacted):\n"


def _user_content(message: Message) -> str | list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, InputText | OutputText):
            parts.append({"type": "text", "text": part.text})
        elif isinstance(part, InputImage):
            if part.image_url is None:
                raise InvalidRequestError("an input_image needs image_url or file_id",
                                          param="input")
            detail = part.detail if part.detail in ("low", "high", "auto") else "auto"
            parts.append({"type": "image_url", "image_url": {"url": part.image_url, "detail": detail}})
        elif isinstance(part, Refusal):
            parts.append({"type": "text", "text": part.refusal})
        else:
            raise InvalidRequestError(f"'{part.type}' content parts are not supported yet", param="input")
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _tool_call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _output_text(output: str | list[Any]) -> str:
    if isinstance(output, str):
        return output
    return "".join(part.text for part in output if isinstance(part, InputText))


def _error_text(error: str | dict[str, Any] | None) -> str:
    """An MCP call's error as the model reads it (OpenAI's error object, or the older plain string)."""
    if error is None or isinstance(error, str):
        return error or ""
    return str(error.get("message") or error.get("content") or error.get("type") or "error")


class MessageList:
    """Chat messages built item by item; consecutive tool calls share one assistant message."""

    def __init__(self, messages: Iterable[ChatMessage] = ()) -> None:
        self.messages: list[ChatMessage] = list(messages)

    def assistant_call(self, call: dict[str, Any]) -> None:
        last = self.messages[-1] if self.messages else None
        if last is not None and last["role"] == "assistant" and "tool_calls" in last:
            last["tool_calls"].append(call)
        else:
            self.messages.append({"role": "assistant", "content": None, "tool_calls": [call]})

    def withdraw_call(self, call_id: str) -> None:
        """Take back a call of the last assistant message (one waiting for the client's approval)."""
        last = self.messages[-1] if self.messages else None
        if last is None or last["role"] != "assistant":
            return
        calls = [c for c in last.get("tool_calls") or [] if c["id"] != call_id]
        if calls:
            last["tool_calls"] = calls
        elif last.get("content"):
            del last["tool_calls"]
        else:
            self.messages.pop()

    def tool_result(self, call_id: str, content: str) -> None:
        self.messages.append({"role": "tool", "tool_call_id": call_id, "content": content})

    def add(self, item: InputItem) -> None:
        if isinstance(item, Message):
            if item.role == "assistant":
                self.messages.append({"role": "assistant", "content": item.text})
            elif item.role == "user":
                self.messages.append({"role": "user", "content": _user_content(item)})
            else:
                self.messages.append({"role": "system", "content": item.text})
        elif isinstance(item, FunctionCall):
            self.assistant_call(_tool_call(item.call_id, item.name, item.arguments))
        elif isinstance(item, FunctionCallOutput):
            self.tool_result(item.call_id, _output_text(item.output))
        elif isinstance(item, FileSearchCall):
            call_id = item.id or "file_search"
            self.assistant_call(_tool_call(call_id, "file_search", json.dumps({"queries": item.queries})))
            results = item.results or []
            self.tool_result(call_id, "\n\n".join(r.text for r in results) or f"file search {item.status}")
        elif isinstance(item, McpCall):
            call_id = item.id or item.name
            self.assistant_call(_tool_call(call_id, item.name, item.arguments))
            self.tool_result(call_id, item.output or _error_text(item.error))
        elif isinstance(item, Compaction):  # the compacted conversation, as context the model reads
            summary = decode_summary(item.encrypted_content)
            if summary is None:
                logger.warning("a compaction item not made by this server is left out of the context")
            else:
                self.messages.append({"role": "system", "content": COMPACTED_PREFIX + summary})
        # reasoning, web search, MCP listings and approvals: context the chat model has no message for; an
        # item_reference is resolved before (core/responses/references.py)

    def drop_oldest(self) -> bool:
        """Drop the oldest message (a tool call with its results), never the last one; False when none can go."""
        if len(self.messages) < 2:
            return False
        first = self.messages.pop(0)
        calls = {call["id"] for call in first.get("tool_calls") or []}
        self.messages = [m for m in self.messages if not (m["role"] == "tool" and m["tool_call_id"] in calls)]
        while self.messages and self.messages[0]["role"] == "tool" and len(self.messages) > 1:
            self.messages.pop(0)  # a result whose call went earlier
        return True

    def unanswered_calls(self) -> list[str]:
        """The ids of tool calls no tool message answers (a model cannot read such a context)."""
        answered = {m["tool_call_id"] for m in self.messages if m["role"] == "tool"}
        return [call["id"] for m in self.messages if m["role"] == "assistant"
                for call in m.get("tool_calls") or [] if call["id"] not in answered]

    def extend(self, items: Iterable[InputItem]) -> None:
        for item in items:
            self.add(item)


def parse_input(raw: str | list[dict[str, Any]]) -> list[InputItem]:
    if isinstance(raw, str):
        return list(input_text(raw))
    try:
        return parse_items(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [p for p in first["loc"] if not (isinstance(p, str) and "[" in p)]
        if len(loc) > 1 and isinstance(loc[0], int) and isinstance(loc[1], str):
            del loc[1]  # the item's type, which pydantic puts in the path of a tagged union
        raise InvalidRequestError(f"Invalid input item: {first['msg']}", param="input" + location(tuple(loc))
                                  ) from None


def known_items(raw: list[dict[str, Any]]) -> list[InputItem]:
    """A conversation's items the model can read; an item of a type this server does not know is left out."""
    known: list[InputItem] = []
    for item in raw:
        try:
            known += parse_items([item])
        except ValidationError:
            logger.debug("conversation item of type %s left out of the context", item.get("type"))
    return known
