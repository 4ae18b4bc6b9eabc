"""SamplingParams: what one generation pass samples with, read from an OpenAI request."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from polystack.apis.errors import InvalidRequestError
from polystack.apis.inference.types import ChatCompletionRequest, CompletionRequest


@dataclass(frozen=True)
class SamplingParams:
    """Unset OpenAI parameters take OpenAI's defaults; top_k and min_p are llama.cpp's usual filters."""

    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    line_stops: tuple[str, ...] = ()  # stop where a line (or the text) starts with one of these
    grammar: str | None = None
    logit_bias: dict[int, float] = field(default_factory=dict)
    top_logprobs: int | None = None  # None: no logprobs; 0: the chosen token's only

    def with_seed_offset(self, offset: int) -> SamplingParams:
        """The params for the n-th choice: a different but reproducible seed."""
        return self if self.seed is None or offset == 0 else replace(self, seed=self.seed + offset)


# llama.cpp sampling knobs accepted as vendor extensions (the SDK's `extra_body`).
_EXTENSIONS: dict[str, tuple[type, float, float]] = {
    "top_k": (int, 0, 1_000_000),
    "min_p": (float, 0.0, 1.0),
    "repeat_penalty": (float, 0.0, 10.0),
}


def sampling_from(request: ChatCompletionRequest | CompletionRequest, *, n_vocab: int,
                  top_logprobs: int | None) -> SamplingParams:
    """The request's sampling parameters; `max_tokens` is filled in per prompt by the caller."""
    extensions: dict[str, Any] = {}
    for name, (kind, low, high) in _EXTENSIONS.items():
        value = (request.model_extra or {}).get(name)
        if value is None:
            continue
        if not isinstance(value, int | float) or isinstance(value, bool) or not low <= value <= high:
            raise InvalidRequestError(f"'{name}' must be a number from {low} to {high}", param=name)
        extensions[name] = kind(value)
    return SamplingParams(
        max_tokens=0,
        temperature=1.0 if request.temperature is None else request.temperature,
        top_p=1.0 if request.top_p is None else request.top_p,
        presence_penalty=request.presence_penalty or 0.0,
        frequency_penalty=request.frequency_penalty or 0.0,
        seed=request.seed,
        stop=tuple(request.stop_list),
        logit_bias=_logit_bias(getattr(request, "logit_bias", None), n_vocab),
        top_logprobs=top_logprobs,
        **extensions,
    )


def _logit_bias(bias: Any, n_vocab: int) -> dict[int, float]:
    if bias is not None and not isinstance(bias, dict):
        raise InvalidRequestError("logit_bias must map token ids to numbers", param="logit_bias")
    result: dict[int, float] = {}
    for key, value in (bias or {}).items():
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise InvalidRequestError("logit_bias values must be numbers", param="logit_bias")
        if not str(key).isdigit() or int(key) >= n_vocab:
            raise InvalidRequestError(f"logit_bias key '{key}' is not a token id of this model (0..{n_vocab - 1})",
                                      param="logit_bias")
        if not -100 <= value <= 100:
            raise InvalidRequestError("logit_bias values must be from -100 to 100", param="logit_bias")
        result[int(key)] = float(value)
    return result
