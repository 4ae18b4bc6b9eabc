"""Chunking strategies of the vector stores API, validated as OpenAI documents them."""

import pytest
from pydantic import TypeAdapter, ValidationError

from polystack.apis.vector_io.types import (
    AutoChunkingStrategy,
    ChunkingStrategy,
    StaticChunkingStrategy,
    static_of,
)

STRATEGIES: TypeAdapter[AutoChunkingStrategy | StaticChunkingStrategy] = TypeAdapter(ChunkingStrategy)


def resolve(strategy, embedding_context=None):
    static = static_of(strategy, embedding_context).static
    return static.max_chunk_size_tokens, static.chunk_overlap_tokens


def test_no_strategy_and_auto_mean_800_tokens_overlapping_by_400() -> None:
    assert resolve(None) == (800, 400)
    assert resolve(AutoChunkingStrategy()) == (800, 400)
    assert resolve(AutoChunkingStrategy(), embedding_context=8191) == (800, 400)


def test_auto_shrinks_to_what_the_embedding_model_reads() -> None:
    assert resolve(AutoChunkingStrategy(), embedding_context=256) == (192, 48)  # all-MiniLM-L6-v2
    assert resolve(None, embedding_context=64) == (100, 25)  # never below OpenAI's minimum of 100


def test_a_static_strategy_is_kept_whatever_the_model_reads() -> None:
    strategy = STRATEGIES.validate_python(
        {"type": "static", "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400}})
    assert resolve(strategy, embedding_context=256) == (800, 400)


def test_static_strategy_resolves_to_its_sizes() -> None:
    strategy = STRATEGIES.validate_python(
        {"type": "static", "static": {"max_chunk_size_tokens": 1000, "chunk_overlap_tokens": 500}}
    )
    assert isinstance(strategy, StaticChunkingStrategy)
    assert resolve(strategy) == (1000, 500)


def test_strategy_union_picks_the_model_by_type() -> None:
    assert isinstance(STRATEGIES.validate_python({"type": "auto"}), AutoChunkingStrategy)
    with pytest.raises(ValidationError, match="type"):
        STRATEGIES.validate_python({"type": "semantic"})


@pytest.mark.parametrize(
    ("static", "message"),
    [
        ({"max_chunk_size_tokens": 99, "chunk_overlap_tokens": 0}, "max_chunk_size_tokens"),
        ({"max_chunk_size_tokens": 4097, "chunk_overlap_tokens": 0}, "max_chunk_size_tokens"),
        ({"max_chunk_size_tokens": 800, "chunk_overlap_tokens": -1}, "chunk_overlap_tokens"),
        ({"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 401}, "chunk_overlap_tokens .* must not exceed half"),
        ({"max_chunk_size_tokens": 101, "chunk_overlap_tokens": 51}, "must not exceed half of max_chunk_size_tokens"),
        ({"chunk_overlap_tokens": 0}, "max_chunk_size_tokens"),
        ({"max_chunk_size_tokens": 800}, "chunk_overlap_tokens"),
    ],
)
def test_static_strategy_is_validated_as_openai_documents(static: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        STRATEGIES.validate_python({"type": "static", "static": static})


@pytest.mark.parametrize(("max_tokens", "overlap"), [(100, 0), (100, 25), (4096, 2048), (101, 50)])
def test_static_strategy_accepts_the_documented_bounds(max_tokens: int, overlap: int) -> None:
    static = {"max_chunk_size_tokens": max_tokens, "chunk_overlap_tokens": overlap}
    assert resolve(STRATEGIES.validate_python({"type": "static", "static": static})) == (max_tokens, overlap)
