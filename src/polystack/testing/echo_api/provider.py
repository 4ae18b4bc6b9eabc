"""The echo provider: its config, its implementation and its factory."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from polystack.apis.datatypes import Api
from polystack.apis.models.protocol import Models
from polystack.testing.echo_api.protocol import EchoReply, EchoRequest

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


class EchoConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prefix: str = ""


class EchoProvider:
    def __init__(self, config: EchoConfig, models: Models) -> None:
        self.config = config
        self.models = models
        self.provider_id = ""

    async def echo(self, request: EchoRequest) -> EchoReply:
        served = len(await self.models.list_models())
        return EchoReply(text=self.config.prefix + request.text, provider_id=self.provider_id, models_served=served)


async def create(config: EchoConfig, deps: ProviderDeps) -> EchoProvider:
    return EchoProvider(config, deps.require(Api.models, Models))
