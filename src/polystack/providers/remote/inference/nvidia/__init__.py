"""remote::nvidia: inference on NVIDIA NIM / build.nvidia.com, through the shared OpenAI-compatible client."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polystack.providers.remote.inference.nvidia.config import NvidiaConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


async def create(config: NvidiaConfig, deps: ProviderDeps) -> Any:
    from polystack.providers.utils.openai_compat.adapter import OpenAICompatAdapter

    adapter = OpenAICompatAdapter(config, api_key_field="nvidia_api_key")
    return adapter
