"""Gemini's GenerateContentResponse -> an OpenAI ChatCompletion (choices, tool calls, usage)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from polystack.apis.inference.types import ChatCompletion

# Gemini finishReason -> OpenAI finish_reason; anything unlisted (OTHER, LANGUAGE, ...) ends as "stop"
FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
}


def finish_reason(reason: str | None, made_tool_calls: bool) -> str:
    mapped = FINISH_REASONS.get(reason or "", "stop")
    return "tool_calls" if made_tool_calls and mapped == "stop" else mapped


def usage(metadata: dict[str, Any]) -> dict[str, Any]:
    """OpenAI usage from usageMetadata; thinking tokens count as completion (reasoning) tokens."""
    prompt = int(metadata.get("promptTokenCount") or 0)
    thoughts = int(metadata.get("thoughtsTokenCount") or 0)
    completion = int(metadata.get("candidatesTokenCount") or 0) + thoughts
    result: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion,
                              "total_tokens": int(metadata.get("totalTokenCount") or prompt + completion)}
    if cached := int(metadata.get("cachedContentTokenCount") or 0):
        result["prompt_tokens_details"] = {"cached_tokens": cached}
    if thoughts:
        result["completion_tokens_details"] = {"reasoning_tokens": thoughts}
    return result


def tool_call(call: dict[str, Any], signature: str | None) -> dict[str, Any]:
    """An OpenAI tool call for a Gemini functionCall, with a generated id when Gemini gives none.

    A thought signature rides along in `extra_content.google` (as in Google's own OpenAI-compatible
    endpoint) so that clients echoing the message back let Gemini continue its reasoning.
    """
    result: dict[str, Any] = {
        "id": call.get("id") or f"call_{uuid.uuid4().hex[:24]}",
        "type": "function",
        "function": {"name": call.get("name", ""),
                     "arguments": json.dumps(call.get("args") or {}, ensure_ascii=False)},
    }
    if signature:
        result["extra_content"] = {"google": {"thought_signature": signature}}
    return result


def candidate_output(candidate: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The visible text and the tool calls of one candidate (thought summaries are left out)."""
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for part in (candidate.get("content") or {}).get("parts") or []:
        if part.get("thought"):
            continue
        if "text" in part:
            texts.append(part["text"])
        elif "functionCall" in part:
            calls.append(tool_call(part["functionCall"], part.get("thoughtSignature")))
    return "".join(texts), calls


def response_id(response: dict[str, Any]) -> str:
    return f"chatcmpl-{response.get('responseId') or uuid.uuid4().hex}"


def to_chat_completion(response: dict[str, Any], model: str) -> ChatCompletion:
    choices = []
    for position, candidate in enumerate(response.get("candidates") or []):
        text, calls = candidate_output(candidate)
        choices.append({
            "index": candidate.get("index", position),
            "message": {"role": "assistant", "content": text if text or not calls else None,
                        "tool_calls": calls or None},
            "finish_reason": finish_reason(candidate.get("finishReason"), bool(calls)),
            "logprobs": None,
        })
    if not choices:  # the prompt itself was blocked (promptFeedback.blockReason)
        choices.append({"index": 0, "message": {"role": "assistant", "content": None},
                        "finish_reason": "content_filter", "logprobs": None})
    return ChatCompletion.model_validate({
        "id": response_id(response),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": response.get("modelVersion") or model,
        "choices": choices,
        "usage": usage(response.get("usageMetadata") or {}),
    })
