"""Gemini's model listing (GET /models) -> ProviderModels: chat models, and embedding models we know."""

from __future__ import annotations

from typing import Any

from polystack.apis.models.types import ModelType, ProviderModel

# Default output sizes of Gemini's embedding models. An embedding model must declare its dimension,
# and GET /models does not report it, so embedding models missing here are left out of the listing
# (register them with metadata.embedding_dimension to use them).
EMBEDDING_DIMENSIONS = {
    "gemini-embedding-001": 3072,
    "gemini-embedding-exp-03-07": 3072,
    "gemini-embedding-exp": 3072,
    "text-embedding-004": 768,
    "embedding-001": 768,
}


def to_provider_model(item: dict[str, Any]) -> ProviderModel | None:
    """A ProviderModel for one entry of GET /models, or None for models this adapter cannot serve."""
    name = str(item.get("name", "")).removeprefix("models/")
    methods = set(item.get("supportedGenerationMethods") or [])
    metadata = {key: value for key, value in (("display_name", item.get("displayName")),
                                               ("context_length", item.get("inputTokenLimit"))) if value}
    if not name:
        return None
    if "generateContent" in methods:
        return ProviderModel(provider_resource_id=name, model_type=ModelType.llm, metadata=metadata)
    if "embedContent" in methods and name in EMBEDDING_DIMENSIONS:
        return ProviderModel(provider_resource_id=name, model_type=ModelType.embedding,
                             metadata={**metadata, "embedding_dimension": EMBEDDING_DIMENSIONS[name]})
    return None
