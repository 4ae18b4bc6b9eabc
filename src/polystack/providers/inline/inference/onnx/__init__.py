"""inline::onnx: sentence embeddings (all-MiniLM-L6-v2) on onnxruntime, in-process."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polystack.providers.inline.inference.onnx.config import OnnxEmbeddingsConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


async def create(config: OnnxEmbeddingsConfig, deps: ProviderDeps) -> Any:
    """Load the model once, in a thread (about 0.4 s), so startup never blocks the event loop."""
    from polystack.providers.inline.inference.onnx.encoder import (
        OnnxSentenceEncoder,
        default_model_path,
        default_tokenizer_path,
    )
    from polystack.providers.utils.embeddings import EmbeddingsAdapter

    model_path = _existing(config.model_path, "model_path") or default_model_path()
    tokenizer_path = _existing(config.tokenizer_path, "tokenizer_path") or default_tokenizer_path()
    encoder = await asyncio.to_thread(
        OnnxSentenceEncoder, model_path, tokenizer_path,
        max_tokens=config.max_tokens, intra_op_threads=config.intra_op_threads,
    )
    return EmbeddingsAdapter(
        encoder, model=config.model, provider_id="onnx", batch_size=config.batch_size,
        max_concurrent_batches=config.max_concurrent_batches,
        allow_dimension_truncation=config.allow_dimension_truncation,
    )


def _existing(path: str | None, field: str) -> Path | None:
    if path is None:
        return None
    if not Path(path).is_file():
        raise FileNotFoundError(f"config.{field} '{path}' is not a file")
    return Path(path)
