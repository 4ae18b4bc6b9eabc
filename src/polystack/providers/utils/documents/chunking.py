"""OpenAI's file chunking strategies and the token-window chunker behind them."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate

from polystack.providers.utils.documents.tokens import encode, token_bytes


@dataclass(frozen=True, slots=True)
class TextChunk:
    text: str
    start_token: int
    token_count: int
    index: int


class _Boundaries:
    """Which token positions fall on a character boundary of the UTF-8 text.

    cl100k tokens are byte sequences, so a CJK character or an emoji can span several tokens;
    windows only start and end where a character starts, so every chunk decodes without U+FFFD.
    """

    def __init__(self, data: bytes, offsets: list[int]) -> None:
        self._data = data
        self._offsets = offsets

    def clean(self, position: int) -> bool:
        offset = self._offsets[position]
        return offset >= len(self._data) or self._data[offset] & 0xC0 != 0x80

    def snap(self, position: int, floor: int) -> int:
        """The nearest clean position at or before `position` and after `floor`, else the first after it."""
        back = position
        while back > floor and not self.clean(back):
            back -= 1
        if back > floor:
            return back
        while not self.clean(position):
            position += 1
        return position


def chunk_text(text: str, max_tokens: int, overlap_tokens: int) -> list[TextChunk]:
    """Split `text` into windows of at most `max_tokens` tokens, each sharing `overlap_tokens` with the previous.

    Windows are cut on token boundaries, which in cl100k mostly fall between words (a word's token
    carries its leading space); snapping further to whitespace would make overlaps inexact. A window
    moves back by at most three tokens to avoid splitting a character (that overlap then grows as
    much). Only when `max_tokens` is smaller than one character's tokens can a chunk exceed it.
    Text that is empty or only whitespace gives no chunks.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    if not 0 <= overlap_tokens < max_tokens:
        raise ValueError(f"overlap_tokens must be at least 0 and below max_tokens ({max_tokens}), got {overlap_tokens}")
    if not text.strip():
        return []
    pieces = token_bytes(encode(text))
    data = b"".join(pieces)
    offsets = [0, *accumulate(map(len, pieces))]
    boundaries = _Boundaries(data, offsets)
    total = len(pieces)
    chunks: list[TextChunk] = []
    start = 0
    while True:
        end = boundaries.snap(min(start + max_tokens, total), floor=start)
        body = data[offsets[start] : offsets[end]].decode("utf-8")
        chunks.append(TextChunk(text=body, start_token=start, token_count=end - start, index=len(chunks)))
        if end >= total:
            return chunks
        start = boundaries.snap(end - overlap_tokens, floor=start)
