"""inline::llama-cpp: chat and completions on local GGUF models with llama.cpp, in-process."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polystack.providers.inline.inference.llama_cpp.config import LlamaCppConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


async def create(config: LlamaCppConfig, deps: ProviderDeps) -> Any:
    """Load every configured model (SmolLM2: about 0.2 s) in a worker thread."""
    import llama_cpp  # noqa: F401 - a missing package is reported by the resolver with its pip command

    from polystack.providers.inline.inference.llama_cpp.adapter import LlamaCppInferenceAdapter

    return await LlamaCppInferenceAdapter.load(config)
