"""remote::azure on the shared OpenAI-compatible client.

Serves Azure OpenAI's v1 API (https://<resource>.openai.azure.com/openai/v1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polystack.providers.remote.inference.azure.config import AzureConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


async def create(config: AzureConfig, deps: ProviderDeps) -> Any:
    from polystack.providers.utils.openai_compat.adapter import OpenAICompatAdapter

    adapter = OpenAICompatAdapter(config, api_key_field="azure_api_key")
    adapter.auth_header = "api-key"
    adapter.auth_scheme = ""
    return adapter
