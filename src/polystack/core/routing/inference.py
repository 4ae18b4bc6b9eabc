"""The inference router: finds the provider that owns `model` and forwards the call to it."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

from polystack.apis.errors import InvalidRequestError, NotImplementedByProviderError
from polystack.apis.inference.protocol import InferenceProvider
from polystack.apis.inference.served_by import served_by
from polystack.apis.inference.stored import UpdateChatCompletionRequest
from polystack.apis.inference.types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionChunk,
    CompletionRequest,
    CreateEmbeddingResponse,
    EmbeddingsRequest,
    StreamOptions,
)
from polystack.apis.models.types import Model, ModelType
from polystack.core.request_context import current_user
from polystack.core.request_log import note_model
from polystack.core.routing.fallbacks import END, Gateway, Outcome, request_timeout
from polystack.core.routing.hooks import CallKind, HookAnswer, HookChain, InferenceCall, StopStream, StreamAbandoned
from polystack.core.routing.models import ModelsRoutingTable
from polystack.core.stores.chat_stream import ChatStreamAccumulator
from polystack.core.stores.inference import InferenceStore

logger = logging.getLogger("polystack.core")


def mint_completion_id() -> str:
    """An id unique in this server: upstreams reuse theirs (some always answer the same one)."""
    return f"chatcmpl-{uuid.uuid4().hex}"


_END: Any = END  # a stream's end, in place of a chunk
_WITH_USAGE = StreamOptions(include_usage=True)  # shared: providers read it, never change it


async def _close(chunks: AsyncIterator[Any]) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        await aclose()


class _Stream:
    """What relaying one stream needs to know about the call."""

    __slots__ = ("identifier", "request", "completion_id", "wants_usage", "accumulator", "ended")

    def __init__(self, identifier: str, request: ChatCompletionRequest | CompletionRequest, stored: bool = False,
                 completion_id: str | None = None, outcome: Outcome | None = None) -> None:
        self.identifier = identifier
        self.ended = outcome.stream_ended if outcome is not None else None  # the gateway's bookkeeping
        self.completion_id = completion_id
        options = request.stream_options
        self.wants_usage = bool(options is not None and options.include_usage)
        self.request = request if stored else None
        self.accumulator = ChatStreamAccumulator() if stored else None


class _Answered:
    """Stands in for the provider when a hook answered the call (HookAnswer): every method gives its answer."""

    def __init__(self, result: Any) -> None:
        self.result = result

    async def _answer(self, request: Any) -> Any:
        return self.result

    chat_completion = completion = embeddings = _answer


class InferenceRouter:
    """Implements the Inference API over every configured inference provider, and stores chat completions.

    Every call passes through `hooks` (see core/routing/hooks.py); with none configured, that is one check.
    """

    def __init__(self, table: ModelsRoutingTable, store: InferenceStore | None = None,
                 hooks: HookChain | None = None) -> None:
        self.table = table
        self.store = store
        self.hooks = hooks if hooks is not None else HookChain()
        self.gateway = Gateway(table)

    async def _route(self, model_id: str, wanted: ModelType) -> tuple[Model, InferenceProvider]:
        note_model(model_id)
        model, impl = await self.table.resolve(model_id)
        if wanted == ModelType.embedding and model.model_type != ModelType.embedding:
            raise InvalidRequestError(f"model '{model_id}' is not an embedding model", param="model")
        if wanted == ModelType.llm and model.model_type == ModelType.embedding:
            raise InvalidRequestError(
                f"model '{model_id}' is an embedding model; use /v1/embeddings with it", param="model"
            )
        return model, impl

    def _upstream(self, request: Any, model: Model) -> Any:
        """The request the provider gets: its own model name, and a stream always asks for usage (see _relay)."""
        if not getattr(request, "stream", False):
            return request.model_copy(update={"model": model.provider_resource_id})
        options = request.stream_options
        if options is None:
            options = _WITH_USAGE
        elif not options.include_usage:
            options = options.model_copy(update={"include_usage": True})
        return request.model_copy(update={"model": model.provider_resource_id, "stream_options": options})

    async def _enter(self, kind: CallKind, request: Any, model: Model, impl: InferenceProvider, wanted: ModelType
                     ) -> tuple[InferenceCall, Any, Model, InferenceProvider]:
        """Run the hooks' `before`; the request they leave, routed again if a hook changed its model."""
        call = InferenceCall(kind, request, model, current_user.get())
        named = request.model
        try:
            try:
                request = await self.hooks.before(call)
            except HookAnswer as answer:
                return call, call.request, model, _Answered(answer.result)  # type: ignore[return-value]
            if request.model != named:
                model, impl = await self._route(request.model, wanted)
                call.model = model
        except BaseException as exc:
            await self._leave(call, exc)
            raise
        return call, request, model, impl

    async def _leave(self, call: InferenceCall, error: BaseException) -> None:
        """The hooks' `after` for a failed call: the call's own error wins over any a hook raises."""
        call.error = StreamAbandoned() if isinstance(error, GeneratorExit | asyncio.CancelledError) else error
        try:
            await self.hooks.after(call)
        except Exception:
            logger.exception("an inference hook failed after a failed call")

    async def _finish(self, call: InferenceCall, result: Any) -> None:
        call.result, call.usage = result, result.usage
        await self.hooks.after(call)

    async def _call(self, method: str, request: Any, model: Model, impl: InferenceProvider, call: InferenceCall
                    ) -> Any:
        """The provider's answer, with the hooks' `after` run if it fails."""
        try:
            return await getattr(impl, method)(self._upstream(request, model))
        except BaseException as exc:
            await self._leave(call, exc)
            raise

    @staticmethod
    def _routed(request: Any, model: Model, impl: InferenceProvider) -> bool:
        """Whether the call goes through the gateway (fallbacks.py): `model` has routing or the request a
        `timeout`, and no hook answered it. This check is all a plain call pays."""
        metadata, extra = model.metadata, request.model_extra
        return bool((metadata and "routing" in metadata) or (extra and "timeout" in extra)) and not isinstance(
            impl, _Answered)

    async def _gateway(self, method: str, request: Any, model: Model, impl: InferenceProvider,
                       call: InferenceCall | None, asked: Any) -> Outcome:
        """The call through the gateway: balanced, retried, timed, fallen back (see fallbacks.py); who
        answered is noted for the response headers of `asked` (the request as the caller sent it)."""
        routing = self.gateway.routing_of(model)
        timeout = request_timeout(request)
        if timeout is not None:  # ours, not the provider's
            request = request.model_copy()
            request.__pydantic_extra__ = {k: v for k, v in (request.model_extra or {}).items() if k != "timeout"}
        try:
            outcome = await self.gateway.call(method, request, model, impl, routing, self._upstream,
                                              bool(getattr(request, "stream", False)), timeout)
        except BaseException as exc:
            if call is not None:
                await self._leave(call, exc)
            raise
        served_by.set((asked, outcome.circuit.key, outcome.fallback))
        return outcome

    async def chat_completion(
        self, request: ChatCompletionRequest
    ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        asked = request
        model, impl = await self._route(request.model, ModelType.llm)
        call = None
        if self.hooks:
            call, request, model, impl = await self._enter("chat_completion", request, model, impl, ModelType.llm)
        result: ChatCompletion | AsyncIterator[ChatCompletionChunk]
        outcome = (await self._gateway("chat_completion", request, model, impl, call, asked)
                   if self._routed(request, model, impl) else None)
        if outcome is not None:
            result, model = outcome.result, outcome.model
        elif call is None:
            result = await impl.chat_completion(self._upstream(request, model))
        else:
            result = await self._call("chat_completion", request, model, impl, call)
        stored = self.store is not None and request.store is not False
        if outcome is not None and outcome.rest is not None:
            streamed = _Stream(model.identifier, request, stored, mint_completion_id(), outcome)
            return self._relay(result, outcome.rest, streamed, call)
        if isinstance(result, AsyncIterable):
            return await self._open(result, _Stream(model.identifier, request, stored, mint_completion_id()), call)
        result.model = model.identifier
        upstream_id, result.id = result.id, mint_completion_id()
        if call is not None:  # before storing: a hook may amend the result (a guard's refusal)
            await self._finish(call, result)
        if stored:
            assert self.store is not None
            await self.store.record(result, request.messages, request.metadata, current_user.get(),
                                    upstream_id=upstream_id)
        return result

    async def completion(self, request: CompletionRequest) -> Completion | AsyncIterator[CompletionChunk]:
        asked = request
        model, impl = await self._route(request.model, ModelType.llm)
        call = None
        if self.hooks:
            call, request, model, impl = await self._enter("completion", request, model, impl, ModelType.llm)
        result: Completion | AsyncIterator[CompletionChunk]
        outcome = (await self._gateway("completion", request, model, impl, call, asked)
                   if self._routed(request, model, impl) else None)
        if outcome is not None:
            result, model = outcome.result, outcome.model
        elif call is None:
            result = await impl.completion(self._upstream(request, model))
        else:
            result = await self._call("completion", request, model, impl, call)
        if outcome is not None and outcome.rest is not None:
            return self._relay(result, outcome.rest, _Stream(model.identifier, request, outcome=outcome), call)
        if isinstance(result, AsyncIterable):
            return await self._open(result, _Stream(model.identifier, request), call)
        result.model = model.identifier
        if call is not None:
            await self._finish(call, result)
        return result

    async def _open(self, chunks: AsyncIterator[Any], stream: _Stream, call: InferenceCall | None
                    ) -> AsyncIterator[Any]:
        """Pull the first chunk here, not in the HTTP layer: an error before it is the call's plain error
        (and the place where a fallback could still switch provider); then relay the rest."""
        rest = chunks.__aiter__()
        try:
            first = await rest.__anext__()
        except StopAsyncIteration:
            first = _END
        except BaseException as exc:
            await _close(rest)
            if call is not None:
                await self._leave(call, exc)
            raise
        return self._relay(first, rest, stream, call)

    async def _relay(self, chunk: Any, rest: AsyncIterator[Any], stream: _Stream,
                     call: InferenceCall | None) -> AsyncIterator[Any]:
        """Pass `chunk`, then the rest, through under the caller's model name (and completion id); hand the
        usage to the store and the hooks, and to the caller only if it asked; once a stream to store has
        ended, store it.

        One generator for all of it: each layer of async generator costs every chunk a few microseconds.
        """
        accumulator = stream.accumulator
        identifier, completion_id, wants_usage = stream.identifier, stream.completion_id, stream.wants_usage
        hooks = self.hooks if call is not None and call.watched else None  # no hook watching: no per-chunk call
        timing = call is not None  # until the first chunk with choices: call.first_token_at
        usage: Any = None
        upstream_id: str | None = None
        pull = rest.__anext__
        stopped = False
        try:
            while chunk is not _END:
                if timing and chunk.choices:
                    call.first_token_at, timing = time.perf_counter(), False  # type: ignore[union-attr]
                chunk.model = identifier
                if completion_id is not None:
                    upstream_id = upstream_id or chunk.id
                    chunk.id = completion_id
                if accumulator is not None and hooks is None:
                    accumulator.add(chunk)
                if chunk.usage is not None:
                    usage = chunk.usage
                    if not wants_usage:  # asked for on the caller's behalf: not the caller's to see
                        chunk.usage = None
                        if not chunk.choices:
                            chunk = None
                if hooks is not None and chunk is not None:
                    try:
                        chunk = await hooks.on_chunk(call, chunk)  # type: ignore[arg-type]  # set with hooks
                    except StopStream as stop:
                        chunk, stopped = stop.last, True
                    if accumulator is not None and chunk is not None:  # store what the caller got
                        accumulator.add(chunk)
                if chunk is not None:
                    yield chunk
                if stopped:
                    break
                try:
                    chunk = await pull()
                except StopAsyncIteration:
                    chunk = _END
        except BaseException as exc:
            await _close(rest)
            if stream.ended is not None:
                stream.ended(exc)
            if call is not None:
                call.usage = usage
                await self._leave(call, exc)
            raise
        await _close(rest)
        if stream.ended is not None:
            stream.ended(None)
        stored = stream.request
        if accumulator is not None and isinstance(stored, ChatCompletionRequest) and self.store is not None:
            completion = accumulator.completion()
            if completion.usage is None and usage is not None:  # the usage chunk the caller did not ask for
                completion.usage = usage
            await self.store.record(completion, stored.messages, stored.metadata, current_user.get(),
                                    upstream_id=upstream_id)
        if call is not None:
            call.usage = usage
            await self.hooks.after(call)

    async def embeddings(self, request: EmbeddingsRequest) -> CreateEmbeddingResponse:
        asked = request
        model, impl = await self._route(request.model, ModelType.embedding)
        call = None
        if self.hooks:
            call, request, model, impl = await self._enter("embeddings", request, model, impl, ModelType.embedding)
        outcome = (await self._gateway("embeddings", request, model, impl, call, asked)
                   if self._routed(request, model, impl) else None)
        result: CreateEmbeddingResponse
        if outcome is not None:
            result, model = outcome.result, outcome.model
        elif call is None:
            result = await impl.embeddings(self._upstream(request, model))
        else:
            result = await self._call("embeddings", request, model, impl, call)
        result.model = model.identifier
        if call is not None:
            await self._finish(call, result)
        return result

    # ---- stored chat completions -------------------------------------------------------------

    def _need_store(self) -> InferenceStore:
        if self.store is None:
            raise NotImplementedByProviderError(
                "Stored chat completions are not enabled on this server (configure storage.stores.inference)")
        return self.store

    async def list_chat_completions(self, *, after: str | None, limit: int, model: str | None,
                                    order: Any, metadata: dict[str, str]) -> dict[str, Any]:
        return await self._need_store().list(after=after, limit=limit, model=model, order=order,
                                             metadata=metadata)

    async def get_chat_completion(self, completion_id: str) -> dict[str, Any]:
        return await self._need_store().get(completion_id)

    async def list_chat_completion_messages(self, completion_id: str, *, after: str | None, limit: int,
                                            order: Any) -> dict[str, Any]:
        return await self._need_store().messages(completion_id, after=after, limit=limit, order=order)

    async def update_chat_completion(self, completion_id: str, request: UpdateChatCompletionRequest
                                     ) -> dict[str, Any]:
        return await self._need_store().update_metadata(completion_id, request.metadata)

    async def delete_chat_completion(self, completion_id: str) -> dict[str, Any]:
        return await self._need_store().delete(completion_id)

