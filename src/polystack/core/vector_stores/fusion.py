"""Combining vector and keyword results for hybrid search: reciprocal rank fusion or weighted scores."""

from __future__ import annotations

from polystack.apis.vector_io.index import ScoredChunk


def reciprocal_rank_fusion(rankings: list[list[ScoredChunk]], k: float = 60.0) -> list[ScoredChunk]:
    """Score each chunk by sum(1 / (k + rank)) over the rankings it appears in (rank from 1), best first."""
    scores: dict[str, float] = {}
    chunks: dict[str, ScoredChunk] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            key = item.chunk.chunk_id
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
            chunks.setdefault(key, item)
    ordered = sorted(scores, key=lambda key: scores[key], reverse=True)
    return [ScoredChunk(chunk=chunks[key].chunk, score=scores[key]) for key in ordered]


def _normalised(ranking: list[ScoredChunk]) -> dict[str, float]:
    """Scores scaled to [0, 1] within one ranking (all equal scores become 1)."""
    if not ranking:
        return {}
    values = [item.score for item in ranking]
    low, high = min(values), max(values)
    span = high - low
    return {item.chunk.chunk_id: (item.score - low) / span if span else 1.0 for item in ranking}


def weighted_fusion(vector: list[ScoredChunk], keyword: list[ScoredChunk], alpha: float) -> list[ScoredChunk]:
    """alpha * normalised vector score + (1 - alpha) * normalised keyword score, best first."""
    by_vector, by_keyword = _normalised(vector), _normalised(keyword)
    chunks = {item.chunk.chunk_id: item.chunk for item in [*vector, *keyword]}
    scores = {key: alpha * by_vector.get(key, 0.0) + (1 - alpha) * by_keyword.get(key, 0.0) for key in chunks}
    ordered = sorted(scores, key=lambda key: scores[key], reverse=True)
    return [ScoredChunk(chunk=chunks[key], score=scores[key]) for key in ordered]
