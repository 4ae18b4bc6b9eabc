"""Config of remote::gemini: Google's Gemini API (generativelanguage.googleapis.com)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr

from polystack.providers.utils.native_api.config import NativeAPIConfig, NativeProviderData


class GeminiConfig(NativeAPIConfig):
    """Where and how to reach the Gemini API.

    Sample: `{"api_key": "${env.GEMINI_API_KEY:=}"}`. Per-request key override: provider data
    `{"gemini_api_key": "..."}`.
    """

    api_key: SecretStr | None = Field(
        default=None, description="Sent as the x-goog-api-key header (never in the URL); never logged.")
    base_url: str = Field(default="https://generativelanguage.googleapis.com/v1beta",
                          validation_alias=AliasChoices("base_url", "url"),
                          description="The API root including its version, e.g. .../v1beta.")


class GeminiProviderData(NativeProviderData):
    """A caller's own Gemini key, sent per request."""

    gemini_api_key: SecretStr | None = None
