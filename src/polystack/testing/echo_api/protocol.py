"""The echo contract: a request, its reply, and the Protocol its provider implements."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, Field


class EchoRequest(BaseModel):
    text: str = Field(min_length=1, max_length=1000)


class EchoReply(BaseModel):
    text: str
    provider_id: str
    models_served: int


class Echo(Protocol):
    async def echo(self, request: EchoRequest) -> EchoReply:
        """The text, prefixed as the provider is configured to."""
        ...
