"""Safety types: shields, a shield's verdict (Llama Stack's shapes) and moderation results (OpenAI's)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

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
