"""Build a ServedModel from a config entry: find the GGUF file, open it with llama.cpp, describe it."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from polystack.core.errors import StackError
from polystack.providers.inline.inference.llama_cpp.config import LlamaCppModelConfig
from polystack.providers.inline.inference.llama_cpp.model_files import gguf_path
from polystack.providers.inline.inference.llama_cpp.prompts import (
    PromptFormat,
    template_default_system,
    template_turn_end,
)
from polystack.providers.inline.inference.llama_cpp.runner import ModelRunner
from polystack.providers.inline.inference.llama_cpp.served_model import ServedModel

logger = logging.getLogger("polystack.providers")

DEFAULT_N_CTX = 4096
_PARAMS_LOCK = threading.Lock()


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def extra_buffers_safe() -> bool:
    """False when llama.cpp was built with AMX and the CPU advertises it.

    Some virtual machines (Firecracker among them) report AMX but fault on its first instruction,
    killing the process; without the extra buffers llama.cpp never takes the AMX path.
    """
    import llama_cpp

    built_with_amx = b"AMX_INT8 = 1" in llama_cpp.llama_print_system_info()
    try:
        cpu_flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return True
    return not (built_with_amx and "amx_int8" in cpu_flags)


def open_llama(path: Path, model: LlamaCppModelConfig) -> Any:
    """Load the model (blocking: 0.2 s for SmolLM2, a few seconds for Qwen)."""
    llama = _load(path, model, model.n_ctx or DEFAULT_N_CTX)
    trained = llama._model.n_ctx_train()
    if model.n_ctx is None and 0 < trained < llama.n_ctx():
        logger.info("%s was trained on %d tokens of context; using that", path.name, trained)
        llama.close()
        llama = _load(path, model, trained)
    return llama


def _load(path: Path, model: LlamaCppModelConfig, n_ctx: int) -> Any:
    import llama_cpp.llama as llama_module

    threads = model.n_threads or usable_cores()
    kwargs: dict[str, Any] = dict(model_path=str(path), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads,
                  n_batch=model.n_batch, verbose=False)
    use_extra = model.extra_buffers if model.extra_buffers is not None else extra_buffers_safe()
    if use_extra:
        return llama_module.Llama(**kwargs)
    # Llama() takes no switch for this model parameter, so its default is overridden while it loads.
    with _PARAMS_LOCK:
        original = llama_module.llama_cpp.llama_model_default_params

        def without_extra_buffers() -> Any:
            params = original()
            params.use_extra_bufts = False
            return params

        llama_module.llama_cpp.llama_model_default_params = without_extra_buffers
        try:
            return llama_module.Llama(**kwargs)
        finally:
            llama_module.llama_cpp.llama_model_default_params = original


def describe(llama: Any, path: Path, model: LlamaCppModelConfig) -> dict[str, Any]:
    """Metadata listed with the model: context, quantisation, size on disk, parameter count."""
    desc = llama._model.desc()  # "<arch> <size> <quantisation>", e.g. "llama 256M Q4_1"
    parts = desc.split(" ", 2)
    return {
        "context_length": llama.n_ctx(),
        "trained_context_length": llama._model.n_ctx_train(),
        "quantization": parts[2] if len(parts) == 3 else desc,
        "file_size_bytes": path.stat().st_size,
        "parameters": llama._model.n_params(),
        "architecture": llama.metadata.get("general.architecture"),
        "chat_format": model.chat_format,
        "source": model.source or ("file" if model.path else "smollm2"),
    }


def prompt_format_of(llama: Any, model: LlamaCppModelConfig) -> PromptFormat:
    template = llama.metadata.get("tokenizer.chat_template")
    if model.chat_format == "chatml-function-calling":
        return PromptFormat("chatml-function-calling",
                            default_system=template_default_system(template) if template else "")
    if not template:
        raise StackError(f"inline::llama-cpp: model '{model.served_name}' has no chat template in its GGUF file; "
                         "use chat_format: chatml-function-calling")
    vocab = llama._model

    def text(token: int) -> str:
        return str(vocab.token_get_text(token)) if token >= 0 else ""

    bos, eos = text(llama.token_bos()), text(llama.token_eos())
    return PromptFormat("gguf-template", template=template, bos=bos, eos=eos,
                        turn_end=template_turn_end(template, bos=bos, eos=eos))


def load_served_model(model: LlamaCppModelConfig, cache_dir: Path, *, max_queued: int) -> ServedModel:
    """Find (or assemble) the GGUF file and load it. Blocking: run it in a worker thread."""
    started = time.monotonic()
    path = gguf_path(model, cache_dir)
    llama = open_llama(path, model)
    try:
        served = ServedModel(
            name=model.served_name,
            runner=ModelRunner(llama, model.served_name, max_queued=max_queued),
            prompt_format=prompt_format_of(llama, model),
            metadata=describe(llama, path, model),
            max_parallel_tool_calls=model.max_parallel_tool_calls,
            answer_after_tool_results=model.after_tool_results == "answer",
        )
    except BaseException:
        llama.close()
        raise
    logger.info("loaded %s from %s in %.1f s", served.name, path, time.monotonic() - started,
                extra={"model": served.name})
    return served
