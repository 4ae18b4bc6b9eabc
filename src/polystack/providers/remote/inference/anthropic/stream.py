"""Anthropic's streaming events (message_start ... message_stop) -> OpenAI ChatCompletionChunks."""

from __future__ import annotations

import time
from typing import Any

from polystack.apis.errors import ProviderError
from polystack.apis.inference.types import ChatCompletionChunk
from polystack.providers.remote.inference.anthropic.response import finish_reason, usage

_TEXT = "text"
_JSON = "json"  # the response-format tool: its input streams out as message content


class StreamTranslator:
    """Turns one Anthropic event at a time into zero or more chunks, keeping the state between them.

    Anthropic numbers content blocks of every kind; OpenAI numbers tool calls only, so each tool_use
    block gets the next tool-call `index`.
    """

    def __init__(self, provider_id: str, json_tool: str | None) -> None:
        self.provider_id = provider_id
        self.json_tool = json_tool
        self.id = ""
        self.model = ""
        self.created = int(time.time())
        self.blocks: dict[int, str | int] = {}  # block index -> _TEXT, _JSON, or the tool-call index
        self.tool_calls = 0
        self.usage: dict[str, Any] = {}
        self.finished = False  # a stop reason arrived: a stream cut short before it is an error

    def feed(self, event: dict[str, Any]) -> list[ChatCompletionChunk]:
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message") or {}
            self.id, self.model = message.get("id", ""), message.get("model", "")
            self.usage.update(message.get("usage") or {})
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            return self._block_start(event.get("index", 0), event.get("content_block") or {})
        if kind == "content_block_delta":
            return self._block_delta(event.get("index", 0), event.get("delta") or {})
        if kind == "message_delta":
            self.usage.update({k: v for k, v in (event.get("usage") or {}).items() if v is not None})
            reason = finish_reason((event.get("delta") or {}).get("stop_reason"), self.tool_calls > 0)
            self.finished = True
            return [self._chunk({}, finish_reason=reason)]
        if kind == "error":
            error = event.get("error") or {}
            raise ProviderError(self.provider_id, f"stream failed: {error.get('type', 'error')}: "
                                                  f"{error.get('message', 'no details')}")
        return []  # ping, content_block_stop, message_stop and event types added later

    def usage_chunk(self) -> ChatCompletionChunk:
        """The final chunk sent when the caller asked for `stream_options.include_usage`."""
        return ChatCompletionChunk.model_validate({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
            "choices": [], "usage": usage(self.usage),
        })

    def _block_start(self, index: int, block: dict[str, Any]) -> list[ChatCompletionChunk]:
        kind = block.get("type")
        if kind == "text":
            self.blocks[index] = _TEXT
            return [self._chunk({"content": block["text"]})] if block.get("text") else []
        if kind == "tool_use" and block.get("name") == self.json_tool:
            self.blocks[index] = _JSON
            return []
        if kind == "tool_use":
            self.blocks[index] = call = self.tool_calls
            self.tool_calls += 1
            return [self._chunk({"tool_calls": [{
                "index": call, "id": block.get("id"), "type": "function",
                "function": {"name": block.get("name"), "arguments": ""},
            }]})]
        return []  # thinking and server-tool blocks have no OpenAI chat equivalent

    def _block_delta(self, index: int, delta: dict[str, Any]) -> list[ChatCompletionChunk]:
        target = self.blocks.get(index)
        kind = delta.get("type")
        if kind == "text_delta" and target == _TEXT and delta.get("text"):
            return [self._chunk({"content": delta["text"]})]
        if kind == "input_json_delta" and delta.get("partial_json"):
            if target == _JSON:
                return [self._chunk({"content": delta["partial_json"]})]
            if isinstance(target, int):
                return [self._chunk({"tool_calls": [{"index": target,
                                                     "function": {"arguments": delta["partial_json"]}}]})]
        return []

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> ChatCompletionChunk:
        return ChatCompletionChunk.model_validate({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
        })
