"""The token loop: sample from a `Llama` with OpenAI's parameters, stopping on EOS, stop strings, limits or a flag."""

from __future__ import annotations

import codecs
import random
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from polystack.providers.inline.inference.llama_cpp.sampling import SamplingParams

FinishReason = Literal["stop", "length"]

# Prompt tokens evaluated between two looks at the stop flag: llama.cpp cannot be interrupted inside
# an evaluation, and a 3,000-token prompt takes tens of seconds on two busy cores.
PREFILL_CHUNK = 64


@dataclass(frozen=True)
class TokenLogprob:
    token: str
    token_bytes: bytes
    logprob: float
    top: tuple[tuple[str, bytes, float], ...] = ()


@dataclass
class Outcome:
    finish_reason: FinishReason
    completion_tokens: int
    text: str
    stopped_by_flag: bool = False


OnText = Callable[[str, list[TokenLogprob]], None]


class _LogprobRecorder:
    """A llama-cpp logits processor that keeps each step's log-softmax (it sees the raw logits)."""

    def __init__(self, top: int) -> None:
        self.top = top
        self.last: np.ndarray[Any, Any] = np.zeros(0, dtype=np.float32)

    def __call__(self, input_ids: Any, scores: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        values = scores.astype(np.float64)
        values -= values.max()
        self.last = (values - np.log(np.exp(values).sum())).astype(np.float32)
        return scores


class _LogitBias:
    def __init__(self, bias: dict[int, float]) -> None:
        self.ids = np.array(list(bias), dtype=np.int64)
        self.values = np.array(list(bias.values()), dtype=np.float32)

    def __call__(self, input_ids: Any, scores: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        scores[self.ids] += self.values
        return scores


class _StopMatcher:
    """Holds back text that might be the start of a stop string, so none is ever streamed.

    `line_stops` end the text only where a line starts with them (the text's start counts): the text
    is kept after a virtual newline, never sent, so `\n<marker>` finds both.
    """

    def __init__(self, stops: tuple[str, ...], line_stops: tuple[str, ...] = ()) -> None:
        self.stops = tuple(stop for stop in stops if stop)
        self.line_stops = tuple(f"\n{stop}" for stop in line_stops if stop)
        self.base = 1 if self.line_stops else 0
        self.text = "\n" * self.base
        self.sent = self.base

    @property
    def generated(self) -> str:
        """The text kept so far (cut before a stop string once one is hit)."""
        return self.text[self.base:]

    def feed(self, piece: str) -> tuple[str, bool]:
        """Add a piece; returns (text safe to send now, whether a stop string was hit)."""
        self.text += piece
        every = self.stops + self.line_stops
        if not every:
            return self._release(len(self.text)), False
        start = max(0, self.sent - max(len(stop) for stop in every))
        hits = [index for stop in self.stops if (index := self.text.find(stop, max(start, self.base))) >= 0]
        hits += [index for stop in self.line_stops if (index := self.text.find(stop, start)) >= 0]
        if hits:
            end = min(hits)
            out = self._release(end)
            self.text = self.text[:max(end, self.base)]
            return out, True
        held = max((_overlap(self.text, stop) for stop in every), default=0)
        return self._release(len(self.text) - held), False

    def flush(self) -> str:
        return self._release(len(self.text))

    def _release(self, end: int) -> str:
        end = max(end, self.sent)
        out = self.text[self.sent:end]
        self.sent = end
        return out


def _overlap(text: str, stop: str) -> int:
    """The length of the longest end of `text` that begins `stop`."""
    for size in range(min(len(text), len(stop) - 1), 0, -1):
        if text.endswith(stop[:size]):
            return size
    return 0


def generate(llama: Any, prompt: list[int], params: SamplingParams, stop_flag: threading.Event,
             on_text: OnText) -> Outcome:
    """Sample up to `params.max_tokens` tokens after `prompt`, handing text to `on_text` as it forms.

    Runs on the model's worker thread. Stops at an end-of-generation token, a stop string (never
    included), the token limit, or when `stop_flag` is set (checked before every token).
    """
    import llama_cpp

    if params.max_tokens <= 0 or stop_flag.is_set():
        return Outcome("length" if params.max_tokens <= 0 else "stop", 0, "", stop_flag.is_set())
    if not prefill(llama, prompt, stop_flag):
        return Outcome("stop", 0, "", True)
    vocab = llama._model.vocab
    recorder = _LogprobRecorder(params.top_logprobs) if params.top_logprobs is not None else None
    tokens = _token_stream(llama, prompt, params, recorder)
    matcher = _StopMatcher(params.stop, params.line_stops)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending: list[TokenLogprob] = []
    count = 0
    hit = False
    finish: FinishReason = "length"
    try:
        for token in tokens:
            if llama_cpp.llama_vocab_is_eog(vocab, token):
                finish = "stop"
                break
            count += 1
            piece_bytes = llama.detokenize([token], special=True)
            piece = decoder.decode(piece_bytes)
            if recorder is not None:
                pending.append(_logprob_of(llama, token, piece_bytes, recorder))
            text, hit = matcher.feed(piece)
            if text or hit:
                on_text(text, pending)
                pending = []
            if hit:
                finish = "stop"
                break
            if count >= params.max_tokens:
                break
            if stop_flag.is_set():
                finish = "stop"
                break
    finally:
        tokens.close()
    if not hit:
        matcher.feed(decoder.decode(b"", final=True))
    tail = matcher.flush()  # after a stop string the text was cut just before it: no stop text leaks
    if tail or pending:
        on_text(tail, pending)
    return Outcome(finish, count, matcher.generated, stop_flag.is_set())


def prefill(llama: Any, prompt: list[int], stop_flag: threading.Event) -> bool:
    """Evaluate all but the prompt's last token in small chunks, looking at `stop_flag` between them.

    `Llama.generate` then finds them cached and evaluates only the last token. Returns False when
    stopped. A prefix already in the cache (the same conversation, one turn longer) is kept.
    """
    target = len(prompt) - 1
    cached = 0
    for have, want in zip(llama.input_ids[: min(llama.n_tokens, target)], prompt, strict=False):
        if int(have) != want:
            break
        cached += 1
    if cached >= target:
        return True
    if not llama._ctx.kv_cache_seq_rm(-1, cached, -1):  # a model whose cache cannot be cut: generate() resets
        return not stop_flag.is_set()
    llama.n_tokens = cached
    for start in range(cached, target, PREFILL_CHUNK):
        if stop_flag.is_set():
            return False
        llama.eval(prompt[start:min(target, start + PREFILL_CHUNK)])
    return not stop_flag.is_set()


def _token_stream(llama: Any, prompt: list[int], params: SamplingParams,
                  recorder: _LogprobRecorder | None) -> Generator[int, Any, None]:
    """llama-cpp's token generator, set up with the request's sampling chain (and seed)."""
    import llama_cpp

    llama.set_seed(params.seed if params.seed is not None else random.randrange(2**31))
    processors: list[Any] = [_LogitBias(params.logit_bias)] if params.logit_bias else []
    if recorder is not None:
        processors.append(recorder)
    grammar = llama_cpp.LlamaGrammar.from_string(params.grammar, verbose=False) if params.grammar else None
    tokens: Generator[int, Any, None] = llama.generate(
        prompt, temp=params.temperature, top_p=params.top_p, top_k=params.top_k, min_p=params.min_p,
        repeat_penalty=params.repeat_penalty, presence_penalty=params.presence_penalty,
        frequency_penalty=params.frequency_penalty, grammar=grammar,
        logits_processor=llama_cpp.LogitsProcessorList(processors) if processors else None,
    )
    return tokens


def _logprob_of(llama: Any, token: int, piece: bytes, recorder: _LogprobRecorder) -> TokenLogprob:
    step = recorder.last
    top: tuple[tuple[str, bytes, float], ...] = ()
    if recorder.top > 0:
        best = np.argpartition(-step, recorder.top)[: recorder.top]
        best = best[np.argsort(-step[best])]
        top = tuple(_entry(llama, int(candidate), float(step[candidate])) for candidate in best)
    return TokenLogprob(piece.decode("utf-8", errors="replace"), piece, float(step[token]), top)


def _entry(llama: Any, token: int, logprob: float) -> tuple[str, bytes, float]:
    raw = llama.detokenize([token], special=True)
    return raw.decode("utf-8", errors="replace"), raw, logprob
