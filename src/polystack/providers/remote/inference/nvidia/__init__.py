"""remote::nvidia: inference on NVIDIA NIM / build.nvidia.com, through the shared OpenAI-compatible client."""

from __future__ import annotations

from typing import Any

from polystack.providers.remote.inference.nvidia.config import NvidiaConfig


async def create(config: NvidiaConfig, deps: dict[Any, Any]) -> Any:
    from polystack.providers.utils.openai_compat.adapter import OpenAICompatAdapter

    adapter = OpenAICompatAdapter(config, api_key_field="nvidia_api_key")
    return adapter
