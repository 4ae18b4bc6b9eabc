"""remote::vllm: inference on a vLLM server, through the shared OpenAI-compatible client."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polystack.providers.remote.inference.vllm.config import VllmConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


async def create(config: VllmConfig, deps: ProviderDeps) -> Any:
    from polystack.providers.utils.openai_compat.adapter import OpenAICompatAdapter

    adapter = OpenAICompatAdapter(config, api_key_field="vllm_api_token")
    return adapter
