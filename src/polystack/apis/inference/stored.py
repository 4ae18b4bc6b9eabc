"""Bodies of the stored chat completions routes (OpenAI's /v1/chat/completions/{id} family)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from polystack.apis.inference.results import ChatCompletion

MAX_METADATA_PAIRS = 16
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 512


class UpdateChatCompletionRequest(BaseModel):
    """POST /v1/chat/completions/{id}: the only change OpenAI allows is replacing the metadata."""

    model_config = ConfigDict(extra="forbid")

    metadata: dict[str, str] | None = Field(
        description="Replaces the stored metadata (null clears it): up to 16 pairs, keys up to 64 characters, "
        "values up to 512.")

    @field_validator("metadata")
    @classmethod
    def _openai_limits(cls, metadata: dict[str, str] | None) -> dict[str, str] | None:
        if metadata is None:
            return None
        if len(metadata) > MAX_METADATA_PAIRS:
            raise ValueError(f"at most {MAX_METADATA_PAIRS} key-value pairs")
        for key, value in metadata.items():
            if len(key) > MAX_METADATA_KEY:
                raise ValueError(f"key '{key[:20]}...' is longer than {MAX_METADATA_KEY} characters")
            if len(value) > MAX_METADATA_VALUE:
                raise ValueError(f"the value of '{key}' is longer than {MAX_METADATA_VALUE} characters")
        return metadata


class StoredChatCompletion(ChatCompletion):
    """A stored chat completion as GET returns it: the completion plus the messages that produced it."""

    input_messages: list[dict[str, Any]]


class StoredChatMessage(BaseModel):
    """One input message of a stored completion, with the id the messages page uses as cursor."""

    model_config = ConfigDict(extra="allow")

    id: str
    role: str


class DeletedChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion.deleted"] = "chat.completion.deleted"
    deleted: bool
