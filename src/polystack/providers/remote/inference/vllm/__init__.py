"""remote::vllm: inference on a vLLM server, through the shared OpenAI-compatible client."""

from __future__ import annotations

from typing import Any

from polystack.providers.remote.inference.vllm.config import VllmConfig


async def create(config: VllmConfig, deps: dict[Any, Any]) -> Any:
    from polystack.providers.utils.openai_compat.adapter import OpenAICompatAdapter

    adapter = OpenAICompatAdapter(config, api_key_field="vllm_api_token")
    return adapter
