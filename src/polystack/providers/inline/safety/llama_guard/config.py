"""Config of inline::llama-guard."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from polystack.providers.inline.safety.llama_guard.taxonomy import HAZARDS


class LlamaGuardConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    excluded_categories: list[str] = Field(
        default_factory=list, description="Hazard codes left out of the policy, e.g. [S6, S8]; a verdict naming "
        "only excluded ones is safe. A shield's params.excluded_categories adds to these.")
    max_tokens: int = Field(default=20, ge=1, description="The guard's answer is one or two short lines.")
    timeout_seconds: float = Field(default=60, gt=0, description="Per guard call; a slower guard is a 502.")

    @field_validator("excluded_categories")
    @classmethod
    def _known(cls, codes: list[str]) -> list[str]:
        unknown = [code for code in codes if code.upper() not in HAZARDS]
        if unknown:
            raise ValueError(f"unknown hazard categories {unknown} (known: S1-S14)")
        return [code.upper() for code in codes]
