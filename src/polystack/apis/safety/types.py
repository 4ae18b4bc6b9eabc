"""Safety types: shields, a shield's verdict (Llama Stack's shapes) and moderation results (OpenAI's)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from polystack.apis.datatypes import Resource

# OpenAI's moderation categories, in the order OpenAI lists them; every provider maps its own taxonomy here
OPENAI_CATEGORIES: tuple[str, ...] = (
    "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
    "self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence",
    "violence/graphic",
)


class Shield(Resource):
    """A registered shield: `provider_resource_id` is what the provider checks with (a guard model, a rule set)."""

    type: Literal["shield"] = "shield"
    params: dict[str, Any] | None = None


class ViolationLevel(StrEnum):
    info = "info"
    warn = "warn"
    error = "error"


class SafetyViolation(BaseModel):
    violation_level: ViolationLevel
    user_message: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict, description="The categories found, among others.")


class RunShieldResponse(BaseModel):
    violation: SafetyViolation | None = None


class ModerationResult(BaseModel):
    """One input's judgment, with OpenAI's category names (categories a provider does not judge are false/0)."""

    flagged: bool
    categories: dict[str, bool]
    category_scores: dict[str, float]
    category_applied_input_types: dict[str, list[Literal["text", "image"]]]
    user_message: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class ModerationObject(BaseModel):
    id: str
    model: str
    results: list[ModerationResult]


# ---- requests (additive: the HTTP bodies of the Safety and Shields APIs) ------------------------------


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterShieldRequest(_Request):
    """POST /v1/shields (Llama Stack's fields)."""

    shield_id: str = Field(min_length=1, max_length=256)
    provider_id: str | None = Field(default=None, description="Default: the only safety provider, if there is one.")
    provider_shield_id: str | None = Field(
        default=None, description="What the provider checks with (a guard model, a guardrail id); default shield_id.")
    params: dict[str, Any] | None = None


class ShieldList(BaseModel):
    data: list[Shield]


class RunShieldRequest(_Request):
    """POST /v1/safety/run-shield: judge a conversation (OpenAI chat messages) with one shield."""

    shield_id: str = Field(min_length=1)
    messages: list[dict[str, Any]] = Field(description="OpenAI chat messages; the last one is judged.")
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("messages")
    @classmethod
    def _some_messages(cls, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not messages:
            raise ValueError("'messages' must hold at least one message")
        for message in messages:
            if not isinstance(message.get("role"), str):
                raise ValueError("every message needs a 'role'")
        return messages


class ModerationImageURL(BaseModel):
    url: str


class ModerationTextPart(BaseModel):
    type: Literal["text"]
    text: str


class ModerationImagePart(BaseModel):
    type: Literal["image_url"]
    image_url: ModerationImageURL


ModerationPart = Annotated[ModerationTextPart | ModerationImagePart, Field(discriminator="type")]


class ModerationRequest(BaseModel):
    """POST /v1/moderations as OpenAI defines it; `model` names a shield (default: the configured one)."""

    model_config = ConfigDict(extra="allow")

    input: str | list[str] | list[ModerationPart] = Field(
        description="A text, a list of texts (one result each), or one multimodal input as a list of parts.")
    model: str | None = None

    @field_validator("input")
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        if isinstance(value, list) and not value:
            raise ValueError("'input' must not be an empty list")
        return value
