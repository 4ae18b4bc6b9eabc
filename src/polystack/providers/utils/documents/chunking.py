"""OpenAI's file chunking strategies and the token-window chunker behind them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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


def chunk_pieces(pieces: Iterable[str], max_tokens: int, overlap_tokens: int,
                 window_chars: int = 256 * 1024) -> Iterator[TextChunk]:
    """chunk_text over text that arrives in pieces, holding about two windows of it at a time.

    Each full window is cut at a space or line end and chunked; all its chunks but the last are
    final, and the last one's text starts the next window, so windows and overlaps continue as
    chunk_text would make them over the whole text (up to the tokenizer's view of the cut). Like
    extract_text, the text is stripped at both ends.
    """
    buffer, index, start_token = "", 0, 0
    for piece in pieces:
        buffer = (buffer + piece) if buffer else piece.lstrip()
        while len(buffer) > 2 * window_chars:
            cut = _cut(buffer, window_chars)
            chunks = chunk_text(buffer[:cut], max_tokens, overlap_tokens)
            if len(chunks) == 1:  # a window within one chunk (tiny windows only): it cannot carry over
                yield _shifted(chunks[0], index, start_token)
                index, start_token, buffer = index + 1, start_token + chunks[0].token_count, buffer[cut:]
                continue
            last = chunks[-1]
            for chunk in chunks[:-1]:
                yield _shifted(chunk, index, start_token)
            index += len(chunks) - 1
            start_token += last.start_token
            buffer = last.text + buffer[cut:]
    for chunk in chunk_text(buffer.rstrip(), max_tokens, overlap_tokens):
        yield _shifted(chunk, index, start_token)


def _cut(text: str, size: int) -> int:
    """Where to end a window of about `size` characters: after the last space or line end in its second half."""
    at = max(text.rfind(" ", size // 2, size), text.rfind("\n", size // 2, size))
    return at if at > 0 else size


def _shifted(chunk: TextChunk, index: int, start_token: int) -> TextChunk:
    return TextChunk(text=chunk.text, start_token=chunk.start_token + start_token, token_count=chunk.token_count,
                     index=chunk.index + index)
