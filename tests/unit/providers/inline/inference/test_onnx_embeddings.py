"""inline::onnx with the real packaged all-MiniLM-L6-v2 on onnxruntime (loaded once, ~0.4 s)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import pytest

from polystack.apis.errors import InvalidRequestError, UnsupportedParameterError
from polystack.apis.inference.types import ChatCompletionRequest, EmbeddingsRequest
from polystack.apis.models.types import ModelType
from polystack.providers.inline.inference.onnx import create
from polystack.providers.inline.inference.onnx.config import OnnxEmbeddingsConfig
from polystack.providers.utils.embeddings import EmbeddingsAdapter, decode_base64

MODEL = "all-MiniLM-L6-v2"
EATING = "A man is eating food."
BREAD = "A man is eating a piece of bread."
DRUMS = "A monkey is playing drums."


@pytest.fixture(scope="module")
async def adapter() -> AsyncIterator[EmbeddingsAdapter]:
    impl = await create(OnnxEmbeddingsConfig(), {})
    yield impl
    await impl.shutdown()


async def embed(adapter: EmbeddingsAdapter, input_: object, **fields: object) -> np.ndarray:
    request = EmbeddingsRequest(model=MODEL, input=input_, **fields)  # type: ignore[arg-type]
    response = await adapter.embeddings(request)
    return np.array([item.embedding for item in response.data], dtype=np.float32)


async def test_lists_one_embedding_model_of_384_dimensions(adapter: EmbeddingsAdapter) -> None:
    (model,) = await adapter.list_models() or []
    assert model.provider_resource_id == MODEL and model.model_type == ModelType.embedding
    assert model.metadata == {"embedding_dimension": 384, "context_length": 256}
    assert adapter.accepts_unlisted_models is False


async def test_similar_sentences_are_closer_and_vectors_are_unit_length(adapter: EmbeddingsAdapter) -> None:
    eating, bread, drums = await embed(adapter, [EATING, BREAD, DRUMS])
    assert eating @ bread > eating @ drums + 0.3
    np.testing.assert_allclose(np.linalg.norm([eating, bread, drums], axis=1), 1.0, atol=1e-5)


async def test_a_text_gets_the_same_vector_in_a_batch_and_alone(adapter: EmbeddingsAdapter) -> None:
    texts = [DRUMS, "word " * 300, EATING, "", BREAD]
    batched = await embed(adapter, texts)
    for text, vector in zip(texts, batched, strict=True):
        np.testing.assert_allclose((await embed(adapter, text))[0], vector, atol=1e-5)


async def test_usage_counts_the_tokens_the_model_read(adapter: EmbeddingsAdapter) -> None:
    response = await adapter.embeddings(EmbeddingsRequest(model=MODEL, input=[EATING, ""]))
    # [CLS] a man is eating food . [SEP] = 8, and [CLS] [SEP] = 2
    assert response.usage.prompt_tokens == response.usage.total_tokens == 10


async def test_long_texts_are_cut_at_256_tokens(adapter: EmbeddingsAdapter) -> None:
    response = await adapter.embeddings(EmbeddingsRequest(model=MODEL, input="word " * 1000))
    assert response.usage.prompt_tokens == 256
    assert len(response.data[0].embedding) == 384


async def test_base64_decodes_to_the_float_vector(adapter: EmbeddingsAdapter) -> None:
    floats = await embed(adapter, [EATING, BREAD])
    response = await adapter.embeddings(EmbeddingsRequest(model=MODEL, input=[EATING, BREAD],
                                                          encoding_format="base64"))
    for item, expected in zip(response.data, floats, strict=True):
        assert isinstance(item.embedding, str)
        np.testing.assert_array_equal(decode_base64(item.embedding), expected)


async def test_token_ids_from_the_tokenizer_give_the_texts_vector(adapter: EmbeddingsAdapter) -> None:
    ids = adapter.encoder.tokenizer.encode(EATING).ids  # type: ignore[attr-defined]
    from_ids = await embed(adapter, ids)
    np.testing.assert_allclose(from_ids[0], (await embed(adapter, EATING))[0], atol=1e-5)
    both = await embed(adapter, [ids, ids[:4]])
    assert both.shape == (2, 384)


@pytest.mark.parametrize(
    ("ids", "message"), [([[101, 30522, 102]], "vocabulary"), ([[101] * 257], "at most 256")]
)
async def test_token_ids_the_model_cannot_take_are_refused(adapter: EmbeddingsAdapter, ids: list[list[int]],
                                                           message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        await embed(adapter, ids)


async def test_dimensions_below_384_are_unsupported_and_above_are_invalid(adapter: EmbeddingsAdapter) -> None:
    assert (await embed(adapter, EATING, dimensions=384)).shape == (1, 384)
    with pytest.raises(UnsupportedParameterError, match="cannot shorten"):
        await embed(adapter, EATING, dimensions=128)
    with pytest.raises(InvalidRequestError, match="have 384"):
        await embed(adapter, EATING, dimensions=512)


async def test_allowed_truncation_returns_the_renormalised_prefix(adapter: EmbeddingsAdapter) -> None:
    cutting = EmbeddingsAdapter(adapter.encoder, model=MODEL, provider_id="onnx", batch_size=32,
                                allow_dimension_truncation=True)
    try:
        full = (await embed(adapter, EATING))[0]
        short = (await embed(cutting, EATING, dimensions=64))[0]
    finally:
        await cutting.shutdown()
    np.testing.assert_allclose(short, full[:64] / np.linalg.norm(full[:64]), atol=1e-6)


async def test_concurrent_requests_match_sequential_ones(adapter: EmbeddingsAdapter) -> None:
    texts = [EATING, BREAD, DRUMS, "Polystack serves embeddings."]
    alone = [await embed(adapter, text) for text in texts]
    together = await asyncio.gather(*(embed(adapter, text) for text in texts))
    for a, b in zip(alone, together, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


async def test_the_event_loop_keeps_running_while_a_request_encodes(adapter: EmbeddingsAdapter) -> None:
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.002)
            ticks += 1

    beating = asyncio.create_task(heartbeat())
    await embed(adapter, ["a long sentence about many things " * 20] * 16)
    beating.cancel()
    assert ticks >= 2


async def test_chat_is_refused_as_embedding_only(adapter: EmbeddingsAdapter) -> None:
    chat = ChatCompletionRequest(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(InvalidRequestError, match="embedding models only"):
        await adapter.chat_completion(chat)


async def test_a_missing_model_file_fails_at_create_with_its_path() -> None:
    with pytest.raises(FileNotFoundError, match="config.model_path '/nowhere/model.onnx'"):
        await create(OnnxEmbeddingsConfig(model_path="/nowhere/model.onnx"), {})
