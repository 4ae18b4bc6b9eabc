"""Provider specs of the echo API."""

from __future__ import annotations

from polystack.apis.datatypes import Api
from polystack.providers.spec import ProviderSpec


def available_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            api="echo",
            provider_type="inline::echo",
            module="polystack.testing.echo_api.provider",
            config_class="polystack.testing.echo_api.provider.EchoConfig",
            description="Echoes texts back (tests of the API seam).",
            api_dependencies=(Api.models,),
        ),
    ]
