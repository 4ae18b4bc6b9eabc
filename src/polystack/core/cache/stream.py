"""A cached chat completion played back as a stream of chunks, the way an upstream would send it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from polystack.apis.inference.results import ChatCompletion, ChatCompletionChunk

CHUNK_CHARS = 64  # characters of content per chunk


async def replay(completion: ChatCompletion) -> AsyncIterator[ChatCompletionChunk]:
    """Role, content in pieces, tool calls, the finish reason per choice; then a usage chunk."""
    base = {"id": completion.id, "object": "chat.completion.chunk", "created": completion.created,
            "model": completion.model}

    def chunk(choices: list[dict[str, Any]], usage: Any = None) -> ChatCompletionChunk:
        return ChatCompletionChunk.model_validate({**base, "choices": choices, "usage": usage})

    for choice in completion.choices:
        index, message = choice.index, choice.message
        yield chunk([{"index": index, "delta": {"role": "assistant", "content": ""}}])
        text = message.content or ""
        for start in range(0, len(text), CHUNK_CHARS):
            yield chunk([{"index": index, "delta": {"content": text[start:start + CHUNK_CHARS]}}])
        if message.refusal:
            yield chunk([{"index": index, "delta": {"refusal": message.refusal}}])
        for position, call in enumerate(message.tool_calls or []):
            yield chunk([{"index": index, "delta": {"tool_calls": [{
                "index": position, "id": call.id, "type": "function",
                "function": {"name": call.function.name, "arguments": call.function.arguments}}]}}])
        yield chunk([{"index": index, "delta": {}, "finish_reason": choice.finish_reason or "stop"}])
    if completion.usage is not None:
        yield chunk([], completion.usage.model_dump())
