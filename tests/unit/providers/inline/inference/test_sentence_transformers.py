"""inline::sentence-transformers with the real packaged model; skipped when the extra is not installed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import pytest

pytest.importorskip("sentence_transformers")

from polystack.apis.errors import UnsupportedParameterError
from polystack.apis.inference.types import EmbeddingsRequest
from polystack.providers.inline.inference.sentence_transformers import create
from polystack.providers.inline.inference.sentence_transformers.config import (
    SentenceTransformersConfig,
)
from polystack.providers.utils.embeddings import EmbeddingsAdapter

MODEL = "all-MiniLM-L6-v2"
TEXTS = ["A man is eating food.", "A man is eating a piece of bread.", "A monkey is playing drums."]


@pytest.fixture(scope="module")
async def adapter() -> AsyncIterator[EmbeddingsAdapter]:
    impl = await create(SentenceTransformersConfig(), {})
    yield impl
    await impl.shutdown()


async def embed(adapter: EmbeddingsAdapter, input_: object) -> np.ndarray:
    request = EmbeddingsRequest(model=MODEL, input=input_)  # type: ignore[arg-type]
    response = await adapter.embeddings(request)
    return np.array([item.embedding for item in response.data], dtype=np.float32)


async def test_lists_the_packaged_model_with_384_dimensions(adapter: EmbeddingsAdapter) -> None:
    (model,) = await adapter.list_models() or []
    assert model.metadata["embedding_dimension"] == 384


async def test_similar_sentences_are_closer_and_vectors_are_unit_length(adapter: EmbeddingsAdapter) -> None:
    eating, bread, drums = await embed(adapter, TEXTS)
    assert eating @ bread > eating @ drums + 0.3
    np.testing.assert_allclose(np.linalg.norm([eating, bread, drums], axis=1), 1.0, atol=1e-5)


async def test_vectors_agree_with_the_onnx_provider(adapter: EmbeddingsAdapter) -> None:
    pytest.importorskip("onnxruntime")
    from polystack.providers.inline.inference.onnx import create as create_onnx
    from polystack.providers.inline.inference.onnx.config import OnnxEmbeddingsConfig

    onnx = await create_onnx(OnnxEmbeddingsConfig(), {})
    try:
        reference, quantised = await embed(adapter, TEXTS), await embed(onnx, TEXTS)
    finally:
        await onnx.shutdown()
    assert np.min(np.sum(reference * quantised, axis=1)) > 0.99


async def test_token_ids_are_unsupported(adapter: EmbeddingsAdapter) -> None:
    with pytest.raises(UnsupportedParameterError):
        await embed(adapter, [101, 102])
