"""inline::llama-cpp: chat and completions on local GGUF models with llama.cpp, in-process."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polystack.providers.inline.inference.llama_cpp.config import LlamaCppConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


async def create(config: LlamaCppConfig, deps: ProviderDeps) -> Any:
    """Load every configured model (SmolLM2: well under a second) in a worker thread, on the configured engine."""
    import importlib.util

    from polystack.core.errors import StackError
    from polystack.providers.inline.inference.llama_cpp.engine import ENGINE_PACKAGES

    module = "llama_cpp" if config.engine == "llama-cpp-python" else "xllamacpp"
    if importlib.util.find_spec(module) is None:
        raise StackError(f"inline::llama-cpp engine '{config.engine}' needs the package {config.engine}: "
                         f"{ENGINE_PACKAGES[config.engine]}")
    from polystack.providers.inline.inference.llama_cpp.adapter import LlamaCppInferenceAdapter

    return await LlamaCppInferenceAdapter.load(config)
