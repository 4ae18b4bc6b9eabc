"""Chunking strategies and token-window chunking."""

import random
import time
from itertools import pairwise

import pytest

from polystack.providers.utils.documents.chunking import TextChunk, chunk_pieces, chunk_text
from polystack.providers.utils.documents.tokens import count_tokens, decode, encode

PROSE = " ".join(f"Sentence number {i} talks about topic {i % 7} with some detail." for i in range(600))
MULTIBYTE = "".join(f"第{i}章 日本語のテキスト 🎉🧪 naïve façade ñandú. " for i in range(400))


def rebuild(chunks: list[TextChunk], text: str) -> str:
    """The text again from the chunks, each shared overlap counted once."""
    ids = encode(text)
    out = chunks[0].text
    for previous, current in pairwise(chunks):
        shared = decode(ids[current.start_token : previous.start_token + previous.token_count])
        assert current.text.startswith(shared)
        out += current.text[len(shared) :]
    return out


@pytest.mark.parametrize(("max_tokens", "overlap"), [(100, 0), (100, 50), (800, 400), (257, 13)])
def test_chunks_never_exceed_max_and_overlap_exactly(max_tokens: int, overlap: int) -> None:
    chunks = chunk_text(PROSE, max_tokens, overlap)
    assert len(chunks) > 3
    assert all(chunk.token_count <= max_tokens for chunk in chunks)
    assert all(chunk.token_count == max_tokens for chunk in chunks[:-1])
    for previous, current in pairwise(chunks):
        assert current.start_token == previous.start_token + previous.token_count - overlap


@pytest.mark.parametrize(("max_tokens", "overlap"), [(100, 0), (100, 50), (800, 400)])
def test_chunks_cover_the_whole_text_in_order(max_tokens: int, overlap: int) -> None:
    chunks = chunk_text(PROSE, max_tokens, overlap)
    ids = encode(PROSE)
    assert [chunk.index for chunk in chunks] == list(range(len(chunks)))
    assert chunks[0].start_token == 0
    assert chunks[-1].start_token + chunks[-1].token_count == len(ids)
    for chunk in chunks:
        assert chunk.text == decode(ids[chunk.start_token : chunk.start_token + chunk.token_count])
        assert count_tokens(chunk.text) == chunk.token_count
    assert rebuild(chunks, PROSE) == PROSE


def test_chunks_without_overlap_concatenate_to_the_text() -> None:
    assert "".join(chunk.text for chunk in chunk_text(PROSE, 100, 0)) == PROSE


@pytest.mark.parametrize(("max_tokens", "overlap"), [(100, 0), (100, 50), (101, 7), (4, 1)])
def test_multibyte_characters_are_never_split(max_tokens: int, overlap: int) -> None:
    chunks = chunk_text(MULTIBYTE, max_tokens, overlap)
    assert all("\ufffd" not in chunk.text for chunk in chunks)
    assert all(chunk.token_count <= max_tokens for chunk in chunks)
    assert all(current.start_token > previous.start_token for previous, current in pairwise(chunks))
    assert rebuild(chunks, MULTIBYTE) == MULTIBYTE


def test_short_text_is_one_chunk() -> None:
    assert chunk_text("hello world", 800, 400) == [TextChunk(text="hello world", start_token=0, token_count=2, index=0)]


def test_empty_or_blank_text_has_no_chunks() -> None:
    assert chunk_text("", 800, 400) == []
    assert chunk_text(" \n\t ", 800, 400) == []


@pytest.mark.parametrize(("max_tokens", "overlap", "field"), [(0, 0, "max_tokens"), (10, 10, "overlap_tokens"),
                                                              (10, -1, "overlap_tokens")])  # fmt: skip
def test_chunk_text_rejects_impossible_windows(max_tokens: int, overlap: int, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        chunk_text("text", max_tokens, overlap)


def test_a_megabyte_of_text_is_chunked_in_well_under_a_second() -> None:
    text = (PROSE * 20)[:1_000_000]
    count_tokens("warm up")  # loading the vocabulary once is not chunking
    started = time.perf_counter()
    chunks = chunk_text(text, 800, 400)
    elapsed = time.perf_counter() - started
    assert chunks[-1].start_token + chunks[-1].token_count == count_tokens(text)
    assert elapsed < 1.0, f"chunking 1 MB took {elapsed:.2f}s"




def test_chunk_pieces_gives_the_chunks_of_the_whole_text_while_holding_two_windows() -> None:
    words = ["llama", "hay", "the", "mirror", "über", "naïve", "日本語", "🙂", "\n\n", "a."]
    text = " ".join(random.Random(1).choice(words) for _ in range(20000))
    pieces = [text[i:i + 777] for i in range(0, len(text), 777)]
    assert list(chunk_pieces(pieces, 100, 20, window_chars=3000)) == chunk_text(text.strip(), 100, 20)
