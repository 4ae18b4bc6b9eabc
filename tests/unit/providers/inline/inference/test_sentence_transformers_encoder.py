"""SentenceTransformerEncoder on a fake with sentence-transformers' interface (runs without torch)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from polystack.apis.errors import UnsupportedParameterError
from polystack.apis.inference.types import EmbeddingsRequest
from polystack.providers.inline.inference.sentence_transformers.config import SentenceTransformersConfig
from polystack.providers.inline.inference.sentence_transformers.encoder import SentenceTransformerEncoder
from polystack.providers.utils.embeddings import EmbeddingsAdapter


class FakeTokenizer:
    """One token per word, plus [CLS] and [SEP], cut at max_length."""

    def __len__(self) -> int:
        return 1000

    def __call__(self, texts: list[str], *, truncation: bool, max_length: int) -> dict[str, list[list[int]]]:
        rows = [[101, *(7 for _ in text.split()), 102] for text in texts]
        return {"input_ids": [row[:max_length] if truncation else row for row in rows]}


class FakeSentenceTransformer:
    """The slice of SentenceTransformer the encoder uses; vectors are one-hot on the word count."""

    max_seq_length = 4

    def __init__(self) -> None:
        self.tokenizer = FakeTokenizer()
        self.calls: list[dict[str, Any]] = []

    def encode(self, sentences: list[str], **options: Any) -> np.ndarray:
        self.calls.append(options)
        vectors = np.zeros((len(sentences), 6), dtype=np.float64)
        for row, text in enumerate(sentences):
            vectors[row, min(len(text.split()), 5)] = 1.0
        return vectors


def test_the_encoder_reads_dimension_and_limits_from_the_model() -> None:
    encoder = SentenceTransformerEncoder(FakeSentenceTransformer())
    assert (encoder.dimension, encoder.max_tokens, encoder.vocab_size) == (6, 4, 1000)
    assert encoder.supports_token_ids is False


def test_texts_are_encoded_normalised_in_one_call_with_truncated_token_counts() -> None:
    model = FakeSentenceTransformer()
    encoded = SentenceTransformerEncoder(model).encode_texts(["one", "one two three four five"])
    assert encoded.vectors.dtype == np.float32 and encoded.vectors.shape == (2, 6)
    assert encoded.token_counts == [3, 4]
    assert model.calls[-1] == {"batch_size": 2, "convert_to_numpy": True, "normalize_embeddings": True,
                               "show_progress_bar": False}


def test_token_ids_are_unsupported() -> None:
    with pytest.raises(UnsupportedParameterError):
        SentenceTransformerEncoder(FakeSentenceTransformer()).encode_ids([[101, 102]])


async def test_the_shared_adapter_serves_the_encoder() -> None:
    config = SentenceTransformersConfig()
    adapter = EmbeddingsAdapter(SentenceTransformerEncoder(FakeSentenceTransformer()), model=config.model,
                                provider_id="sentence-transformers", batch_size=config.batch_size)
    try:
        response = await adapter.embeddings(EmbeddingsRequest(model="all-MiniLM-L6-v2", input=["a b", "c"]))
        with pytest.raises(UnsupportedParameterError, match="takes text input only"):
            await adapter.embeddings(EmbeddingsRequest(model="all-MiniLM-L6-v2", input=[1, 2]))
    finally:
        await adapter.shutdown()
    assert [item.embedding.index(1.0) for item in response.data] == [2, 1]
    assert response.usage.prompt_tokens == 4 + 3


async def test_without_the_package_the_resolver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from polystack.apis.datatypes import Api
    from polystack.core.errors import StackError
    from polystack.core.resolver import PlannedProvider, instantiate
    from polystack.providers.registry import all_specs

    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # as if not installed
    spec = all_specs()[(Api.inference, "inline::sentence-transformers")]
    planned = PlannedProvider(Api.inference, "st", spec, SentenceTransformersConfig(), "providers.x[0]")
    with pytest.raises(StackError, match=r"pip install 'polystack\[sentence-transformers\]'"):
        await instantiate(planned, {})
