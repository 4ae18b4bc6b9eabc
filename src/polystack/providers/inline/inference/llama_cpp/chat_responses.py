"""Chat events from the model thread -> OpenAI's ChatCompletion, or its stream of ChatCompletionChunks."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from polystack.apis.inference.types import ChatCompletion, ChatCompletionChunk
from polystack.providers.inline.inference.llama_cpp.chat import (
    CallPiece,
    ChatEvent,
    ChoiceFinished,
    ChoiceStarted,
    TextPiece,
)
from polystack.providers.inline.inference.llama_cpp.generation import TokenLogprob
from polystack.providers.inline.inference.llama_cpp.tool_protocol import CallStarted


def new_chat_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def chat_logprobs(logprobs: list[TokenLogprob]) -> list[dict[str, Any]]:
    """OpenAI's `logprobs.content` entries."""
    return [
        {
            "token": item.token, "logprob": item.logprob, "bytes": list(item.token_bytes),
            "top_logprobs": [{"token": token, "logprob": value, "bytes": list(raw)} for token, raw, value in item.top],
        }
        for item in logprobs
    ]


@dataclass
class _Choice:
    kind: str = "text"
    text: list[str] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    logprobs: list[TokenLogprob] = field(default_factory=list)
    finish_reason: str = "stop"
    completion_tokens: int = 0


def build_completion(events: Iterable[ChatEvent], *, model: str, prompt_tokens: int, n: int,
                     want_logprobs: bool) -> ChatCompletion:
    """One ChatCompletion from the events of a whole run."""
    choices = [_Choice() for _ in range(n)]
    for event in events:
        choice = choices[event.choice]
        if isinstance(event, ChoiceStarted):
            choice.kind = event.kind
        elif isinstance(event, TextPiece):
            choice.text.append(event.text)
            choice.logprobs.extend(event.logprobs)
        elif isinstance(event, CallPiece):
            if isinstance(event.event, CallStarted):
                choice.calls.append({"id": event.event.call_id, "type": "function",
                                     "function": {"name": event.event.name, "arguments": ""}})
            else:
                choice.calls[event.event.index]["function"]["arguments"] += event.event.text
        elif isinstance(event, ChoiceFinished):
            choice.finish_reason = event.finish_reason
            choice.completion_tokens = event.completion_tokens
    completion_tokens = sum(choice.completion_tokens for choice in choices)
    return ChatCompletion.model_validate({
        "id": new_chat_id(), "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [_choice_body(index, choice, want_logprobs) for index, choice in enumerate(choices)],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    })


def _choice_body(index: int, choice: _Choice, want_logprobs: bool) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "refusal": None,
                               "content": "".join(choice.text) if choice.kind == "text" else None}
    if choice.calls:
        message["tool_calls"] = choice.calls
    logprobs = {"content": chat_logprobs(choice.logprobs), "refusal": None} if want_logprobs else None
    return {"index": index, "message": message, "finish_reason": choice.finish_reason, "logprobs": logprobs}


async def stream_chunks(events: AsyncIterator[ChatEvent], *, model: str, prompt_tokens: int,
                        want_logprobs: bool, include_usage: bool) -> AsyncIterator[ChatCompletionChunk]:
    """Chunks in OpenAI's order: a role delta, content or tool-call deltas, a finish chunk per choice,
    then (when asked) one chunk with `usage` and no choices."""
    base = {"id": new_chat_id(), "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
    completion_tokens = 0

    def chunk(choice: int, delta: dict[str, Any], finish: str | None = None,
              logprobs: list[TokenLogprob] | None = None) -> ChatCompletionChunk:
        body = {"index": choice, "delta": delta, "finish_reason": finish,
                "logprobs": {"content": chat_logprobs(logprobs or []), "refusal": None} if want_logprobs and
                logprobs is not None else None}
        return ChatCompletionChunk.model_validate({**base, "choices": [body]})

    try:
        async for event in events:
            if isinstance(event, ChoiceStarted):
                content = "" if event.kind == "text" else None
                yield chunk(event.choice, {"role": "assistant", "content": content})
            elif isinstance(event, TextPiece):
                yield chunk(event.choice, {"content": event.text}, logprobs=event.logprobs)
            elif isinstance(event, CallPiece):
                yield chunk(event.choice, {"tool_calls": [_call_delta(event)]})
            elif isinstance(event, ChoiceFinished):
                completion_tokens += event.completion_tokens
                yield chunk(event.choice, {}, finish=event.finish_reason)
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
    if include_usage:
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                 "total_tokens": prompt_tokens + completion_tokens}
        yield ChatCompletionChunk.model_validate({**base, "choices": [], "usage": usage})


def _call_delta(piece: CallPiece) -> dict[str, Any]:
    event = piece.event
    if isinstance(event, CallStarted):
        return {"index": event.index, "id": event.call_id, "type": "function",
                "function": {"name": event.name, "arguments": ""}}
    return {"index": event.index, "function": {"arguments": event.text}}
