"""ScriptedInference: deterministic chat, completions and hash-based embeddings without a model."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import math
import re
import time
import uuid
from collections.abc import AsyncIterator

from polystack.apis.errors import InvalidRequestError
from polystack.apis.inference.types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    CreateEmbeddingResponse,
    EmbeddingsRequest,
    text_of,
)
from polystack.apis.models.types import ModelType, ProviderModel
from polystack.providers.inline.inference.scripted.config import ScriptedConfig, ScriptedReply


def _logprobs(tokens: list[str]) -> list[dict[str, object]]:
    """Made-up but well-formed logprobs: each word a token, each with logprob -1."""
    return [{"token": t, "logprob": -1.0, "bytes": list(t.encode()), "top_logprobs": []} for t in tokens]


class ScriptedInference:
    provider_id = "scripted"
    accepts_unlisted_models = False

    def __init__(self, config: ScriptedConfig) -> None:
        self.config = config
        self._replies = itertools.cycle(config.replies) if config.replies else None

    def _completion_id(self) -> str:
        return self.config.completion_id or f"chatcmpl-{uuid.uuid4().hex}"

    def _next_reply(self, request: ChatCompletionRequest) -> ScriptedReply:
        if self._replies is not None:
            return next(self._replies)
        users = [m for m in request.messages if m.role == "user"]
        return ScriptedReply(content=text_of(users[-1].content) if users else "")

    async def list_models(self) -> list[ProviderModel]:
        models = [ProviderModel(provider_resource_id=name) for name in self.config.models]
        models.append(
            ProviderModel(
                provider_resource_id="scripted-embedding",
                model_type=ModelType.embedding,
                metadata={"embedding_dimension": self.config.embedding_dimension},
            )
        )
        return models

    async def chat_completion(
        self, request: ChatCompletionRequest
    ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        reply = self._next_reply(request)
        calls: list[dict[str, object]] = [
            {
                "id": f"call_{uuid.uuid4().hex[:12]}",
                "type": "function",
                "function": {"name": c["name"], "arguments": c.get("arguments", "{}")},
            }
            for c in reply.tool_calls
        ]
        finish = reply.finish_reason or ("tool_calls" if calls else "stop")
        usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        if request.stream:
            return self._stream(request, reply, calls, finish, usage)
        message: dict[str, object] = {"role": "assistant", "content": reply.content}
        if reply.reasoning is not None:
            message["reasoning_content"] = reply.reasoning
        if reply.refusal is not None:
            message["refusal"] = reply.refusal
        if calls:
            message["tool_calls"] = calls
        choice: dict[str, object] = {"index": 0, "finish_reason": finish, "message": message}
        if request.logprobs and reply.content:
            choice["logprobs"] = {"content": _logprobs(re.findall(r"\S+\s*", reply.content))}
        return ChatCompletion.model_validate(
            {
                "id": self._completion_id(),
                "object": "chat.completion",
                "created": int(time.time()),
                "model": request.model,
                "usage": usage,
                "choices": [choice],
            }
        )

    async def _stream(
        self,
        request: ChatCompletionRequest,
        reply: ScriptedReply,
        calls: list[dict[str, object]],
        finish: str,
        usage: dict[str, int],
    ) -> AsyncIterator[ChatCompletionChunk]:
        base = {
            "id": self._completion_id(),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": request.model,
        }
        deltas: list[dict[str, object]] = [{"role": "assistant"}]
        deltas += [{"reasoning_content": piece} for piece in re.findall(r"\S+\s*", reply.reasoning or "")]
        deltas += [{"refusal": reply.refusal}] if reply.refusal else []
        deltas += [{"content": piece} for piece in re.findall(r"\S+\s*", reply.content or "")] if not calls else []
        deltas += [{"tool_calls": [{"index": i, **call}]} for i, call in enumerate(calls)]
        for delta in deltas:
            if self.config.stream_delay_seconds:
                await asyncio.sleep(self.config.stream_delay_seconds)
            streamed: dict[str, object] = {"index": 0, "delta": delta}
            if request.logprobs and isinstance(delta.get("content"), str):
                streamed["logprobs"] = {"content": _logprobs([delta["content"]])}  # type: ignore[list-item]
            yield ChatCompletionChunk.model_validate({**base, "choices": [streamed]})
        yield ChatCompletionChunk.model_validate(
            {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}
        )
        if request.stream_options and request.stream_options.include_usage:
            yield ChatCompletionChunk.model_validate({**base, "choices": [], "usage": usage})

    async def completion(self, request: CompletionRequest) -> Completion | AsyncIterator[Completion]:
        if not isinstance(request.prompt, str):
            raise InvalidRequestError("the scripted provider takes a single string prompt", param="prompt")
        return Completion.model_validate(
            {
                "id": f"cmpl-{uuid.uuid4().hex}",
                "object": "text_completion",
                "created": int(time.time()),
                "model": request.model,
                "choices": [{"index": 0, "text": request.prompt, "finish_reason": "stop"}],
            }
        )

    async def embeddings(self, request: EmbeddingsRequest) -> CreateEmbeddingResponse:
        texts = request.texts
        if texts is None:
            raise InvalidRequestError("the scripted provider embeds strings only", param="input")
        return CreateEmbeddingResponse.model_validate(
            {
                "object": "list",
                "model": request.model,
                "data": [
                    {"object": "embedding", "index": i, "embedding": self._vector(t)} for i, t in enumerate(texts)
                ],
                "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)},
            }
        )

    def _vector(self, text: str) -> list[float]:
        digest = hashlib.sha256(text.encode()).digest()
        raw = [digest[i % len(digest)] - 127.5 for i in range(self.config.embedding_dimension)]
        norm = math.sqrt(sum(v * v for v in raw)) or 1.0
        return [v / norm for v in raw]

    async def shutdown(self) -> None:
        return None
