"""The response cache as an inference hook: `before` answers a hit (HookAnswer), `on_chunk` keeps a
stream's chunks, `after` stores a successful answer. Last in the chain, so what it stores is what the
caller got after every other hook (a guardrail's verdict included), and guardrails still see a hit."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from polystack.apis.inference.results import ChatCompletion, Completion
from polystack.apis.inference.types import CreateEmbeddingResponse
from polystack.core import request_log
from polystack.core.access.policy import SYSTEM_PRINCIPAL
from polystack.core.cache.key import cache_key
from polystack.core.cache.store import CacheStore
from polystack.core.cache.stream import replay
from polystack.core.config import ResponseCacheConfig
from polystack.core.routing.hooks import HookAnswer, HookBase, InferenceCall
from polystack.core.stores.chat_stream import ChatStreamAccumulator
from polystack.core.telemetry.hook import CACHED
from polystack.core.telemetry.metrics import Metrics

_KEY = "cache.key"
_CHUNKS = "cache.chunks"
_RESULTS: dict[str, type[BaseModel]] = {"chat_completion": ChatCompletion, "completion": Completion,
                                        "embeddings": CreateEmbeddingResponse}
OPT_OUT_FIELD = "cache"


class CacheHook(HookBase):
    def __init__(self, config: ResponseCacheConfig, store: CacheStore, metrics: Metrics | None = None) -> None:
        self.config = config
        self.store = store
        self.metrics = metrics
        self.kinds = frozenset(config.kinds)

    async def before(self, call: InferenceCall) -> BaseModel | None:
        request = call.request
        extra = request.__pydantic_extra__
        flag = extra.get(OPT_OUT_FIELD) if extra else None
        replaced = None
        if flag is not None:  # ours, not the provider's: it must not travel upstream
            replaced = request.model_copy(deep=False)
            replaced.__pydantic_extra__ = {k: v for k, v in extra.items() if k != OPT_OUT_FIELD}
        if call.kind not in self.kinds or flag is False or not self._cacheable(call):
            self._note(call, "bypass")
            return replaced
        directive = _directive()
        if directive == "no-store":
            self._note(call, "bypass")
            return replaced
        user = call.user
        scope = None if self.config.shared else (user.principal if user is not None else "")
        key = call.data[_KEY] = cache_key(call.kind, call.model.identifier, replaced or request, scope)
        if directive != "no-cache":
            cached = await self.store.get(key)
            if cached is not None:
                self._note(call, "hit")
                call.data[CACHED] = True
                result = _RESULTS[call.kind].model_validate_json(cached)
                raise HookAnswer(replay(result) if call.stream else result)  # type: ignore[arg-type]
        self._note(call, "miss")
        if call.stream:
            call.data[_CHUNKS] = ChatStreamAccumulator()
        return replaced

    @staticmethod
    def _cacheable(call: InferenceCall) -> bool:
        request = call.request
        if call.stream and call.kind != "chat_completion":
            return False  # a streamed legacy completion is not folded back (see the package docstring)
        return not getattr(request, "logprobs", None)  # a replayed stream would lose them

    async def on_chunk(self, call: InferenceCall, chunk: Any) -> Any | None:
        accumulator = call.data.get(_CHUNKS)
        if accumulator is not None:
            accumulator.add(chunk)
        return chunk

    async def after(self, call: InferenceCall) -> None:
        data = call.data
        key = data.get(_KEY)
        if key is None or data.get(CACHED) or call.error is not None:
            return
        accumulator = data.get(_CHUNKS)
        if accumulator is not None:
            result = accumulator.completion()
            if result.usage is None and call.usage is not None:
                result.usage = call.usage
        else:
            result = call.result
        if result is None:
            return
        value = result.model_dump_json(exclude_none=True)
        if len(value) <= self.config.max_entry_bytes:
            await self.store.put(key, value)

    def _note(self, call: InferenceCall, result: str) -> None:
        if self.metrics is not None:
            self.metrics.cache.labels(call.kind, result).inc()
        if call.user is None or call.user.principal != SYSTEM_PRINCIPAL:  # not a guard model's own call
            request_log.note_cache(result)


def _directive() -> str | None:
    """`no-store` or `no-cache` if the caller's Cache-Control header says so."""
    entry = request_log.current()
    value = entry.cache_control if entry is not None else None
    if not value:
        return None
    value = value.lower()
    return "no-store" if "no-store" in value else "no-cache" if "no-cache" in value else None
