"""LlamaCppInferenceAdapter: the Inference API over local GGUF models served in-process by llama.cpp (either engine)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from polystack.apis.errors import (
    InvalidRequestError,
    ModelNotFoundError,
    PolystackError,
    ProviderError,
)
from polystack.apis.inference.types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    CreateEmbeddingResponse,
    EmbeddingsRequest,
)
from polystack.apis.models.types import ModelType, ProviderModel
from polystack.apis.providers.types import HealthStatus
from polystack.providers.inline.inference.llama_cpp import chat, chat_responses, completions
from polystack.providers.inline.inference.llama_cpp.config import LlamaCppConfig
from polystack.providers.inline.inference.llama_cpp.loading import load_served_model
from polystack.providers.inline.inference.llama_cpp.served_model import ServedModel

E = TypeVar("E")
Job = Callable[[Callable[[E], None], threading.Event], None]


class LlamaCppInferenceAdapter:
    """Chat and legacy completions on each configured model; up to its engine's slots at once, the rest in order."""

    provider_id = "llama-cpp"
    accepts_unlisted_models = False

    def __init__(self, models: list[ServedModel], config: LlamaCppConfig) -> None:
        self.models = {model.name: model for model in models}
        self.config = config
        self._closed = False

    @classmethod
    async def load(cls, config: LlamaCppConfig) -> LlamaCppInferenceAdapter:
        """Load every configured model in a worker thread, so startup never blocks the event loop."""
        loaded: list[ServedModel] = []
        try:
            for entry in config.served_models():
                loaded.append(await asyncio.to_thread(
                    load_served_model, entry, config.resolved_cache_dir(), max_queued=config.max_queued_requests,
                    engine=config.engine, parallel=config.parallel, kv_unified=config.kv_unified))
        except BaseException:
            for model in loaded:
                await model.runner.shutdown()
            raise
        return cls(loaded, config)

    def _model(self, name: str) -> ServedModel:
        model = self.models.get(name)
        if model is None:
            raise ModelNotFoundError(name)
        model.runner.check_open()
        return model

    def _job(self, work: Callable[..., None], engine: Any, plan: Any) -> Job[E]:
        """The worker-thread job, with llama.cpp failures reported as this provider's errors."""
        def job(emit: Callable[[E], None], stop: threading.Event) -> None:
            try:
                work(engine, plan, emit, stop)
            except PolystackError:
                raise
            except Exception as exc:  # whatever llama.cpp raised, named for the user
                raise ProviderError(self.provider_id, f"llama.cpp failed: {exc}") from exc
        return job

    async def _collect(self, model: ServedModel, job: Job[E]) -> list[E]:
        events: list[E] = []
        await model.runner.run(lambda stop: job(events.append, stop))
        return events

    # ---- the Inference API ---------------------------------------------------------------------------

    async def chat_completion(
        self, request: ChatCompletionRequest
    ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        model = self._model(request.model)
        plan = chat.plan_chat(request, model, max_choices=self.config.max_choices,
                              default_max_tokens=self.config.default_max_tokens)
        job: Job[chat.ChatEvent] = self._job(chat.run_chat, model.engine, plan)
        want_logprobs = bool(request.logprobs)
        if request.stream:
            include_usage = bool(request.stream_options and request.stream_options.include_usage)
            return chat_responses.stream_chunks(model.runner.stream(job), model=model.name,
                                                prompt_tokens=len(plan.prompt), want_logprobs=want_logprobs,
                                                include_usage=include_usage)
        events = await self._collect(model, job)
        return chat_responses.build_completion(events, model=model.name, prompt_tokens=len(plan.prompt), n=plan.n,
                                               want_logprobs=want_logprobs)

    async def completion(self, request: CompletionRequest) -> Completion | AsyncIterator[Completion]:
        model = self._model(request.model)
        plan = completions.plan_completion(request, model, max_choices=self.config.max_choices)
        job: Job[completions.CompletionEvent] = self._job(completions.run_completion, model.engine, plan)
        prompt_tokens = sum(len(prompt) for prompt in plan.prompts)
        choices = len(plan.prompts) * plan.n
        want_logprobs = request.logprobs is not None
        if request.stream:
            include_usage = bool(request.stream_options and request.stream_options.include_usage)
            return completions.stream_completions(model.runner.stream(job), model=model.name,
                                                  prompt_tokens=prompt_tokens, choices=choices,
                                                  want_logprobs=want_logprobs, include_usage=include_usage)
        events = await self._collect(model, job)
        return completions.build_completion(events, model=model.name, prompt_tokens=prompt_tokens,
                                            choices=choices, want_logprobs=want_logprobs)

    async def embeddings(self, request: EmbeddingsRequest) -> CreateEmbeddingResponse:
        raise InvalidRequestError(
            f"'{request.model}' is a chat model on provider '{self.provider_id}'; chat models give no sentence "
            "embeddings. Use an embedding model (e.g. all-MiniLM-L6-v2 on inline::onnx).",
            param="model",
        )

    # ---- models and lifecycle --------------------------------------------------------------------------

    async def list_models(self) -> list[ProviderModel] | None:
        return [ProviderModel(provider_resource_id=name, model_type=ModelType.llm, metadata=dict(model.metadata))
                for name, model in self.models.items()]

    async def warm_up(self) -> None:
        """One tiny chat per model, plain and JSON-constrained, before the server reports ready.

        llama.cpp's first decode starts its threads, faults the weights in and repacks them; the first
        prompt and grammar import Jinja and the schema converter. Without this the first request after
        'ready' takes seconds longer than the next.
        """
        for name in self.models:
            for extra in ({}, {"response_format": {"type": "json_object"}}):
                await self.chat_completion(ChatCompletionRequest.model_validate(
                    {"model": name, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1,
                     "temperature": 0, **extra}))

    async def health(self) -> HealthStatus:
        if self._closed:
            return HealthStatus(status="Error", message="shut down")
        busy = {name: model.runner.waiting for name, model in self.models.items() if model.runner.waiting}
        detail = f"; waiting requests: {busy}" if busy else ""
        return HealthStatus(status="OK", message=f"serving {', '.join(self.models)}{detail}")

    async def shutdown(self) -> None:
        self._closed = True
        for model in self.models.values():
            await model.runner.shutdown()
