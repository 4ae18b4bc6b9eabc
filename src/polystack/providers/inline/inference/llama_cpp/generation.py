"""Generation over any engine: OpenAI's stop strings and limits on top of the engine's sampled pieces."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from polystack.providers.inline.inference.llama_cpp.engine import Engine, Piece, TokenLogprob
from polystack.providers.inline.inference.llama_cpp.sampling import SamplingParams

__all__ = ["Outcome", "TokenLogprob", "generate"]

FinishReason = Literal["stop", "length"]


@dataclass
class Outcome:
    finish_reason: FinishReason
    completion_tokens: int
    text: str
    stopped_by_flag: bool = False


OnText = Callable[[str, list[TokenLogprob]], None]


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


def generate(engine: Engine, prompt: list[int], params: SamplingParams, stop_flag: threading.Event,
             on_text: OnText) -> Outcome:
    """Sample up to `params.max_tokens` tokens after `prompt`, handing text to `on_text` as it forms.

    Runs on a worker thread. Stops at an end-of-generation token, a stop string (never included),
    the token limit, or when `stop_flag` is set (checked before every token).
    """
    if params.max_tokens <= 0 or stop_flag.is_set():
        return Outcome("length" if params.max_tokens <= 0 else "stop", 0, "", stop_flag.is_set())
    matcher = _StopMatcher(params.stop, params.line_stops)
    pending: list[TokenLogprob] = []
    count = 0
    hit = False

    def on_piece(piece: Piece) -> bool:
        nonlocal count, hit, pending
        if hit:  # the text was cut before a stop string: nothing after it counts
            return True
        count += piece.tokens
        pending.extend(piece.logprobs)
        text, hit = matcher.feed(piece.text)
        if text or hit:
            on_text(text, pending)
            pending = []
        return hit or count >= params.max_tokens or stop_flag.is_set()

    ending = engine.sample(prompt, params, stop_flag, on_piece)
    tail = matcher.flush()  # after a stop string the text was cut just before it: no stop text leaks
    if tail or pending:
        on_text(tail, pending)
    length = not hit and ending != "eog" and count >= params.max_tokens
    return Outcome("length" if length else "stop", count, matcher.generated, stop_flag.is_set())
