"""Build a ServedModel from a config entry: find the GGUF file, open it with the configured engine, describe it."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from polystack.core.errors import StackError
from polystack.providers.inline.inference.llama_cpp.config import EngineName, LlamaCppModelConfig
from polystack.providers.inline.inference.llama_cpp.engine import Engine
from polystack.providers.inline.inference.llama_cpp.model_files import gguf_path
from polystack.providers.inline.inference.llama_cpp.prompts import (
    PromptFormat,
    template_default_system,
    template_turn_end,
)
from polystack.providers.inline.inference.llama_cpp.runner import ModelRunner
from polystack.providers.inline.inference.llama_cpp.served_model import ServedModel

logger = logging.getLogger("polystack.providers")


def open_engine(path: Path, model: LlamaCppModelConfig, *, engine: EngineName, parallel: int,
                kv_unified: bool) -> Engine:
    """Load the model with the chosen binding (blocking: well under a second for SmolLM2)."""
    if engine == "llama-cpp-python":
        from polystack.providers.inline.inference.llama_cpp.engine_llama_cpp_python import LlamaCppPythonEngine

        return LlamaCppPythonEngine.open(path, model)
    from polystack.providers.inline.inference.llama_cpp.engine_xllamacpp import XLlamaCppEngine

    return XLlamaCppEngine.open(path, model, parallel=parallel, kv_unified=kv_unified)


def describe(engine: Engine, path: Path, model: LlamaCppModelConfig) -> dict[str, Any]:
    """Metadata listed with the model: context, quantisation, size on disk, parameter count, engine."""
    facts = engine.facts
    return {
        "context_length": facts.n_ctx,
        "trained_context_length": facts.n_ctx_train,
        "quantization": facts.quantization,
        "file_size_bytes": path.stat().st_size,
        "parameters": facts.n_params,
        "architecture": facts.architecture,
        "chat_format": model.chat_format,
        "source": model.source or ("file" if model.path else "smollm2"),
        "engine": engine.name,
        "parallel": engine.slots,
    }


def prompt_format_of(engine: Engine, model: LlamaCppModelConfig) -> PromptFormat:
    template = engine.facts.chat_template
    if model.chat_format == "chatml-function-calling":
        return PromptFormat("chatml-function-calling",
                            default_system=template_default_system(template) if template else "")
    if not template:
        raise StackError(f"inline::llama-cpp: model '{model.served_name}' has no chat template in its GGUF file; "
                         "use chat_format: chatml-function-calling")
    bos, eos = engine.facts.bos, engine.facts.eos
    return PromptFormat("gguf-template", template=template, bos=bos, eos=eos,
                        turn_end=template_turn_end(template, bos=bos, eos=eos))


def load_served_model(model: LlamaCppModelConfig, cache_dir: Path, *, max_queued: int, engine: EngineName = "xllamacpp",
                      parallel: int = 4, kv_unified: bool = True) -> ServedModel:
    """Find (or assemble) the GGUF file and load it. Blocking: run it in a worker thread."""
    started = time.monotonic()
    path = gguf_path(model, cache_dir)
    opened = open_engine(path, model, engine=engine, parallel=parallel, kv_unified=kv_unified)
    try:
        served = ServedModel(
            name=model.served_name,
            runner=ModelRunner(opened, model.served_name, max_queued=max_queued, slots=opened.slots),
            prompt_format=prompt_format_of(opened, model),
            metadata=describe(opened, path, model),
            max_parallel_tool_calls=model.max_parallel_tool_calls,
            answer_after_tool_results=model.after_tool_results == "answer",
        )
    except BaseException:
        opened.close()
        raise
    logger.info("loaded %s from %s with %s in %.1f s", served.name, path, opened.name, time.monotonic() - started,
                extra={"model": served.name})
    return served
