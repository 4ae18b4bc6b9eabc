"""inline::sentence-transformers: sentence embeddings with sentence-transformers on torch (optional extra)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from polystack.providers.inline.inference.sentence_transformers.config import SentenceTransformersConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


async def create(config: SentenceTransformersConfig, deps: ProviderDeps) -> Any:
    """Load the model once, in a thread. A missing sentence_transformers or torch raises
    ModuleNotFoundError, which the resolver turns into the `pip install` to run."""
    from sentence_transformers import SentenceTransformer

    from polystack.providers.inline.inference.sentence_transformers.encoder import (
        SentenceTransformerEncoder,
        default_model_folder,
    )
    from polystack.providers.utils.embeddings import EmbeddingsAdapter

    location = config.model_path or str(default_model_folder())

    def load() -> SentenceTransformerEncoder:
        return SentenceTransformerEncoder(SentenceTransformer(location, device=config.device))

    encoder = await asyncio.to_thread(load)
    return EmbeddingsAdapter(encoder, model=config.model, provider_id="sentence-transformers",
                             batch_size=config.batch_size,
                             allow_dimension_truncation=config.allow_dimension_truncation)
