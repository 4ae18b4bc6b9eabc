"""Prompt versions, the list shape, and the request bodies of the prompts API (Llama Stack's shapes)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

PROMPT_ID_PATTERN = r"^pmpt_[0-9a-f]{48}$"


class Prompt(BaseModel):
    """One version of a prompt. `version` counts from 1; `is_default` marks the version served by default."""

    prompt: str = Field(description="The template; `{{ name }}` is replaced by the value of the variable `name`.")
    version: int = Field(ge=1, description="Version, from 1, one more on each update.")
    prompt_id: str = Field(description="'pmpt_' followed by 48 lowercase hex digits.")
    variables: list[str] = Field(default_factory=list, description="The variables the template may use.")
    is_default: bool = Field(default=False, description="Whether this version is the prompt's default.")


class ListPromptsResponse(BaseModel):
    data: list[Prompt]


class CreatePromptRequest(BaseModel):
    """POST /v1/prompts: version 1 of a new prompt, its default."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(description="The template, with `{{ name }}` placeholders.")
    variables: list[str] | None = Field(
        default=None, description="Every variable the template uses, each an identifier, each once.")


class UpdatePromptRequest(BaseModel):
    """POST (or PUT) /v1/prompts/{prompt_id}: a new version made from the latest one."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(description="The new version's template.")
    version: int = Field(ge=1, strict=True, description=(
        "The latest version, which this update follows; a stale one is a 409 (someone updated it first)."))
    variables: list[str] | None = Field(default=None, description="The new version's variables (none if omitted).")
    set_as_default: bool = Field(default=True, description="Make the new version the default.")


class SetDefaultVersionRequest(BaseModel):
    """POST (or PUT) /v1/prompts/{prompt_id}/set-default-version."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, strict=True, description="The version to serve by default.")
