"""Gemini's streamed GenerateContentResponse events -> OpenAI ChatCompletionChunks."""

from __future__ import annotations

import time
from typing import Any

from polystack.apis.errors import ProviderError
from polystack.apis.inference.types import ChatCompletionChunk
from polystack.providers.remote.inference.gemini.response import (
    candidate_output,
    finish_reason,
    response_id,
    usage,
)


class StreamTranslator:
    """Each streamed event is a partial GenerateContentResponse: text parts are deltas, function calls
    arrive whole, and the last event of a candidate carries its finishReason.
    """

    def __init__(self, provider_id: str, model: str) -> None:
        self.provider_id = provider_id
        self.model = model
        self.id = ""
        self.created = int(time.time())
        self.started: set[int] = set()  # candidates whose role chunk was sent
        self.tool_calls: dict[int, int] = {}  # candidate -> tool calls sent so far
        self.usage: dict[str, Any] = {}
        self.finished = False  # some candidate finished: a stream cut short before it is an error

    def feed(self, event: dict[str, Any]) -> list[ChatCompletionChunk]:
        if "error" in event:
            error = event["error"] if isinstance(event["error"], dict) else {"message": str(event["error"])}
            status = error.get("status") or error.get("code", "")
            raise ProviderError(self.provider_id,
                                f"stream failed: {status} {error.get('message', 'no details')}".strip())
        if not self.id:
            self.id = response_id(event)
        self.usage = event.get("usageMetadata") or self.usage
        chunks: list[ChatCompletionChunk] = []
        candidates = event.get("candidates") or []
        for position, candidate in enumerate(candidates):
            chunks.extend(self._candidate(candidate.get("index", position), candidate))
        if not candidates and (event.get("promptFeedback") or {}).get("blockReason"):
            chunks.append(self._chunk(0, {"role": "assistant"}, "content_filter"))
            self.finished = True
        return chunks

    def usage_chunk(self) -> ChatCompletionChunk:
        """The final chunk sent when the caller asked for `stream_options.include_usage`."""
        return ChatCompletionChunk.model_validate({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
            "choices": [], "usage": usage(self.usage),
        })

    def _candidate(self, index: int, candidate: dict[str, Any]) -> list[ChatCompletionChunk]:
        text, calls = candidate_output(candidate)
        delta: dict[str, Any] = {}
        if index not in self.started:
            self.started.add(index)
            delta["role"] = "assistant"
        if text or "role" in delta:
            delta["content"] = text
        if calls:
            first = self.tool_calls.get(index, 0)
            delta["tool_calls"] = [{"index": first + offset, **call} for offset, call in enumerate(calls)]
            self.tool_calls[index] = first + len(calls)
        chunks = [self._chunk(index, delta)] if delta else []
        if reason := candidate.get("finishReason"):
            self.finished = True
            chunks.append(self._chunk(index, {}, finish_reason(reason, self.tool_calls.get(index, 0) > 0)))
        return chunks

    def _chunk(self, index: int, delta: dict[str, Any], reason: str | None = None) -> ChatCompletionChunk:
        return ChatCompletionChunk.model_validate({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
            "choices": [{"index": index, "delta": delta, "finish_reason": reason, "logprobs": None}],
        })
