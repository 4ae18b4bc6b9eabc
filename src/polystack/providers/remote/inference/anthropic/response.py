"""Anthropic's Message response -> an OpenAI ChatCompletion (text, tool calls, finish reason, usage)."""

from __future__ import annotations

import json
import time
from typing import Any

from polystack.apis.inference.types import ChatCompletion

# Anthropic stop_reason -> OpenAI finish_reason
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def finish_reason(stop_reason: str | None, made_tool_calls: bool) -> str:
    """OpenAI's finish reason; a forced response-format tool alone ends in "stop", not "tool_calls"."""
    reason = FINISH_REASONS.get(stop_reason or "", "stop")
    if reason == "tool_calls" and not made_tool_calls:
        return "stop"
    return reason


def usage(raw: dict[str, Any]) -> dict[str, Any]:
    """OpenAI usage from Anthropic's: cache reads and writes count as prompt tokens, as with OpenAI."""
    cache_read = int(raw.get("cache_read_input_tokens") or 0)
    prompt = int(raw.get("input_tokens") or 0) + cache_read + int(raw.get("cache_creation_input_tokens") or 0)
    completion = int(raw.get("output_tokens") or 0)
    result: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion,
                              "total_tokens": prompt + completion}
    if cache_read:
        result["prompt_tokens_details"] = {"cached_tokens": cache_read}
    return result


def to_chat_completion(message: dict[str, Any], json_tool: str | None) -> ChatCompletion:
    texts: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    for block in message.get("content") or []:
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text", ""))
        elif kind == "tool_use" and block.get("name") == json_tool:
            texts.append(json.dumps(block.get("input") or {}, ensure_ascii=False))
        elif kind == "tool_use":
            tool_calls.append({
                "id": block["id"],
                "type": "function",
                "function": {"name": block["name"],
                             "arguments": json.dumps(block.get("input") or {}, ensure_ascii=False)},
            })
        # thinking / redacted_thinking / server tool blocks have no OpenAI chat equivalent: skipped
    content = "".join(texts) if texts or not tool_calls else None
    return ChatCompletion.model_validate({
        "id": message.get("id", ""),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": message.get("model", ""),
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content, "tool_calls": tool_calls or None},
            "finish_reason": finish_reason(message.get("stop_reason"), bool(tool_calls)),
            "logprobs": None,
        }],
        "usage": usage(message.get("usage") or {}),
    })
