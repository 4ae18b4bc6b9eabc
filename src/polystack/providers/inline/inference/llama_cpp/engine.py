"""The engine seam: what chat and completions need from a llama.cpp binding, whichever one runs the model.

Two engines implement it: llama-cpp-python's in-process `Llama` (one generation at a time) and
xllamacpp's native llama.cpp server (parallel slots, continuous batching). Everything above it (prompts,
grammars, tool calls, stop strings, OpenAI shapes) is shared.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from polystack.providers.inline.inference.llama_cpp.config import EngineName
from polystack.providers.inline.inference.llama_cpp.sampling import SamplingParams

DEFAULT_N_CTX = 4096  # tokens of context per request when the config names none (and the model allows it)


def usable_cores() -> int:
    """The cores this process may run on: llama.cpp's thread count when the config names none."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# The pip command a missing engine package is reported with.
ENGINE_PACKAGES: dict[str, str] = {
    "xllamacpp": "pip install 'polystack[llama-cpp]'",
    "llama-cpp-python": "pip install 'polystack[llama-cpp-python]' (compiles llama.cpp: a C compiler, 4-13 min)",
}


@dataclass(frozen=True)
class TokenLogprob:
    token: str
    token_bytes: bytes
    logprob: float
    top: tuple[tuple[str, bytes, float], ...] = ()


@dataclass(frozen=True)
class Piece:
    """Text that `tokens` sampled tokens formed (whole UTF-8 characters), with their logprobs when asked."""

    text: str
    tokens: int
    logprobs: tuple[TokenLogprob, ...] = ()


# Called per piece on the generating thread; returning True stops the generation at once.
OnPiece = Callable[[Piece], bool]
# How a sampling pass ended by itself: an end-of-generation token, or the engine's token limit.
Ending = Literal["eog", "limit", "stopped"]


@dataclass(frozen=True)
class ModelFacts:
    """What a loaded model tells about itself: listed with the model, and used to write prompts."""

    n_ctx: int
    n_ctx_train: int
    n_vocab: int
    n_params: int
    quantization: str  # e.g. "Q4_1"
    architecture: str | None
    chat_template: str | None
    bos: str
    eos: str


class Engine(Protocol):
    """One loaded GGUF model. `sample` blocks its calling thread; the rest is safe from any thread."""

    name: EngineName
    slots: int  # generations it runs at once; more wait in the runner's FIFO
    facts: ModelFacts

    def tokenize(self, text: str, *, special: bool = True) -> list[int]:
        """Tokens of `text`; `special` parses markers such as <|im_start|> and adds BOS if the model wants one."""
        ...

    def detokenize(self, tokens: list[int]) -> str: ...

    def check_grammar(self, grammar: str) -> bool:
        """Whether llama.cpp accepts this GBNF grammar (one it rejects must not reach sampling)."""
        ...

    def sample(self, prompt: list[int], params: SamplingParams, stop: threading.Event, on_piece: OnPiece) -> Ending:
        """Sample after `prompt` (at most params.max_tokens), handing pieces to `on_piece` as they form.

        Looks at `stop` while reading the prompt and before each token. The stop strings of `params` are
        the caller's business (it holds back text that may begin one), not the engine's.
        """
        ...

    def busy(self) -> dict[str, Any]:
        """The engine's state for tests and health: `generations` started and tokens `sampled` so far, and
        `cached_tokens`, the prompt tokens the last generation had read."""
        ...

    def close(self) -> None: ...
