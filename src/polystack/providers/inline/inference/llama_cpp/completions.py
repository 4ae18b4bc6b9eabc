"""Legacy text completions on a local model: plan, run on a worker thread, and shape OpenAI `Completion`s."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from polystack.apis.errors import InvalidRequestError, UnsupportedParameterError
from polystack.apis.inference.results import CompletionChoice, CompletionLogprobs, CompletionUsage
from polystack.apis.inference.types import Completion, CompletionRequest
from polystack.providers.inline.inference.llama_cpp.engine import Engine
from polystack.providers.inline.inference.llama_cpp.generation import TokenLogprob, generate
from polystack.providers.inline.inference.llama_cpp.sampling import SamplingParams, sampling_from
from polystack.providers.inline.inference.llama_cpp.served_model import ServedModel

DEFAULT_MAX_TOKENS = 16  # OpenAI's default for /v1/completions


@dataclass(frozen=True)
class CompletionPlan:
    prompts: list[list[int]]
    echoes: list[str]  # each prompt's text, sent first when `echo` is set
    budgets: list[int]
    n: int
    sampling: SamplingParams


@dataclass(frozen=True)
class CompletionPiece:
    choice: int
    text: str
    logprobs: list[TokenLogprob]


@dataclass(frozen=True)
class CompletionFinished:
    choice: int
    finish_reason: str
    completion_tokens: int


CompletionEvent = CompletionPiece | CompletionFinished


def plan_completion(request: CompletionRequest, model: ServedModel, *, max_choices: int) -> CompletionPlan:
    n = request.n or 1
    if n > max_choices:
        raise UnsupportedParameterError(f"n={n} is more than this provider generates per prompt ({max_choices})",
                                        param="n")
    if request.best_of is not None and request.best_of not in (1, n):
        raise UnsupportedParameterError("best_of other than n is not supported by this provider", param="best_of")
    if request.suffix:
        raise UnsupportedParameterError("this provider cannot fill in text before a suffix", param="suffix")
    if request.echo and request.logprobs is not None:
        raise UnsupportedParameterError("logprobs of echoed prompt tokens are not available here", param="echo")
    prompts = _token_prompts(request.prompt, model)
    max_tokens = request.max_tokens or DEFAULT_MAX_TOKENS
    budgets = [model.budget(len(tokens), max_tokens, param="prompt") for tokens in prompts]
    echoes = _echoes(request, prompts, model)
    sampling = sampling_from(request, n_vocab=model.n_vocab, top_logprobs=request.logprobs)
    return CompletionPlan(prompts=prompts, echoes=echoes, budgets=budgets, n=n, sampling=sampling)


def _token_prompts(prompt: Any, model: ServedModel) -> list[list[int]]:
    if isinstance(prompt, str):
        return [model.tokenize(prompt)]
    if not prompt:
        raise InvalidRequestError("'prompt' must not be an empty list", param="prompt")
    if all(isinstance(item, str) for item in prompt):
        return [model.tokenize(item) for item in prompt]
    token_lists = [prompt] if all(isinstance(item, int) for item in prompt) else prompt
    for tokens in token_lists:
        if not tokens or any(not 0 <= token < model.n_vocab for token in tokens):
            raise InvalidRequestError(f"token prompts must be non-empty lists of ids from 0 to {model.n_vocab - 1}",
                                      param="prompt")
    return [list(tokens) for tokens in token_lists]


def _echoes(request: CompletionRequest, prompts: list[list[int]], model: ServedModel) -> list[str]:
    if not request.echo:
        return [""] * len(prompts)
    if isinstance(request.prompt, str):
        return [request.prompt]
    if all(isinstance(item, str) for item in request.prompt):
        return [str(item) for item in request.prompt]
    return [model.detokenize(tokens) for tokens in prompts]


def run_completion(engine: Engine, plan: CompletionPlan, emit: Callable[[CompletionEvent], None],
                   stop: threading.Event) -> None:
    """Every prompt, n choices each (OpenAI orders choices prompt by prompt)."""
    for prompt_index, prompt in enumerate(plan.prompts):
        for sample in range(plan.n):
            if stop.is_set():
                return
            choice = prompt_index * plan.n + sample
            if plan.echoes[prompt_index]:
                emit(CompletionPiece(choice, plan.echoes[prompt_index], []))

            def on_text(text: str, logprobs: list[TokenLogprob], choice: int = choice) -> None:
                emit(CompletionPiece(choice, text, logprobs))

            params = replace(plan.sampling.with_seed_offset(sample), max_tokens=plan.budgets[prompt_index])
            outcome = generate(engine, prompt, params, stop, on_text)
            emit(CompletionFinished(choice, outcome.finish_reason, outcome.completion_tokens))


# ---- responses --------------------------------------------------------------------------------------


class _Offsets:
    """Legacy logprobs: tokens, their logprobs, top alternatives and character offsets in the choice text."""

    def __init__(self) -> None:
        self.offset = 0
        self.body: dict[str, list[Any]] = {"tokens": [], "token_logprobs": [], "top_logprobs": [], "text_offset": []}

    def add(self, text: str, logprobs: list[TokenLogprob]) -> dict[str, list[Any]]:
        piece: dict[str, list[Any]] = {key: [] for key in self.body}
        for item in logprobs:
            piece["tokens"].append(item.token)
            piece["token_logprobs"].append(item.logprob)
            piece["top_logprobs"].append(_alternatives(item))
            piece["text_offset"].append(self.offset)
            self.offset += len(item.token)
        if not logprobs:
            self.offset += len(text)
        for key, values in piece.items():
            self.body[key].extend(values)
        return piece


def _alternatives(item: TokenLogprob) -> dict[str, float]:
    """The likeliest tokens and, as OpenAI always lists it, the sampled one (up to logprobs + 1 entries)."""
    top = {token: value for token, _, value in item.top}
    top.setdefault(item.token, item.logprob)
    return top


def build_completion(events: Iterable[CompletionEvent], *, model: str, prompt_tokens: int, choices: int,
                     want_logprobs: bool) -> Completion:
    texts: list[list[str]] = [[] for _ in range(choices)]
    offsets = [_Offsets() for _ in range(choices)]
    finishes = ["stop"] * choices
    generated = 0
    for event in events:
        if isinstance(event, CompletionPiece):
            texts[event.choice].append(event.text)
            offsets[event.choice].add(event.text, event.logprobs)
        else:
            finishes[event.choice] = event.finish_reason
            generated += event.completion_tokens
    return Completion.model_validate({
        "id": f"cmpl-{uuid.uuid4().hex}", "object": "text_completion", "created": int(time.time()), "model": model,
        "choices": [{"index": index, "text": "".join(texts[index]), "finish_reason": finishes[index],
                     "logprobs": offsets[index].body if want_logprobs else None} for index in range(choices)],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": generated,
                  "total_tokens": prompt_tokens + generated},
    })


async def stream_completions(events: AsyncIterator[CompletionEvent], *, model: str, prompt_tokens: int,
                             choices: int, want_logprobs: bool, include_usage: bool) -> AsyncIterator[Completion]:
    """Legacy stream: a `text_completion` object per piece, a final one per choice with its finish_reason."""
    ident, created = f"cmpl-{uuid.uuid4().hex}", int(time.time())
    offsets = [_Offsets() for _ in range(choices)]
    generated = 0

    def chunk(choice: int, text: str, finish: Any, logprobs: dict[str, list[Any]] | None) -> Completion:
        body = CompletionChoice(index=choice, text=text, finish_reason=finish,
                                logprobs=CompletionLogprobs(**logprobs) if want_logprobs and logprobs else None)
        return Completion(id=ident, object="text_completion", created=created, model=model, choices=[body])

    try:
        async for event in events:
            if isinstance(event, CompletionPiece):
                yield chunk(event.choice, event.text, None, offsets[event.choice].add(event.text, event.logprobs))
            else:
                generated += event.completion_tokens
                yield chunk(event.choice, "", event.finish_reason, None)
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
    if include_usage:
        usage = CompletionUsage(prompt_tokens=prompt_tokens, completion_tokens=generated,
                                total_tokens=prompt_tokens + generated)
        yield Completion.model_construct(id=ident, object="text_completion", created=created, model=model,
                                         choices=[], usage=usage)
