"""What the offline shields share: which message is judged, its text, and verdicts in the contract's shapes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from polystack.apis.errors import InvalidRequestError
from polystack.apis.safety.types import (
    OPENAI_CATEGORIES,
    ModerationResult,
    RunShieldResponse,
    SafetyViolation,
    ViolationLevel,
)

JudgedRole = Literal["any", "user", "assistant", "system", "tool"]


class OfflineShieldConfig(BaseModel):
    """Fields every offline shield has."""

    model_config = ConfigDict(extra="forbid")

    judged_role: JudgedRole = Field(
        default="any",
        description="run-shield judges the last message with this role; `any` judges the very last message. "
        "A shield's `params` may override it per shield or per call.",
    )
    violation_level: ViolationLevel = Field(
        default=ViolationLevel.error, description="The level of the violation run-shield returns."
    )


def message_text(message: Mapping[str, Any]) -> str:
    """The text of an OpenAI chat message: a string content, or its text parts joined (images are skipped)."""
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts: list[str] = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, Mapping) and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part, Mapping) and isinstance(part.get("refusal"), str):
                texts.append(part["refusal"])
        return "\n".join(texts)
    raise InvalidRequestError("A message's content must be a string or a list of content parts.", param="messages")


def judged_message(messages: list[dict[str, Any]], role: str) -> tuple[int, str] | None:
    """(index, text) of the last message with `role` (`any`: the last one); None if no message has that role."""
    if not messages:
        raise InvalidRequestError("messages must not be empty.", param="messages")
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if not isinstance(message, Mapping):
            raise InvalidRequestError(f"messages[{index}] must be an object.", param="messages")
        if role == "any" or message.get("role") == role:
            return index, message_text(message)
    return None


def judged_role(config: OfflineShieldConfig, *param_sets: Mapping[str, Any] | None) -> str:
    """The role to judge: the last of the call's params, the shield's params, the config that names one."""
    role: str = config.judged_role
    for params in param_sets:
        if params and "judged_role" in params:
            value = params["judged_role"]
            if value not in ("any", "user", "assistant", "system", "tool"):
                raise InvalidRequestError(
                    "params.judged_role must be one of any, user, assistant, system, tool.", param="params"
                )
            role = value
    return role


def violation(config: OfflineShieldConfig, user_message: str, categories: Iterable[str],
              **metadata: Any) -> RunShieldResponse:
    return RunShieldResponse(violation=SafetyViolation(
        violation_level=config.violation_level, user_message=user_message,
        metadata={"categories": sorted(set(categories)), **metadata},
    ))


def moderation_result(scores: Mapping[str, float] | None = None, flagged_openai: Iterable[str] = (), *,
                      judged: Iterable[str] = (), flagged: bool | None = None, user_message: str | None = None,
                      metadata: dict[str, Any] | None = None) -> ModerationResult:
    """A result over all of OpenAI's categories: those not given are false with score 0.

    `judged` are the categories the shield scores (their applied input type is text); `flagged` defaults to
    "an OpenAI category is flagged", shields with their own taxonomy (PII, code) set it.
    """
    chosen = set(flagged_openai)
    applied = chosen.union(judged)
    unknown = applied.union(scores or {}).difference(OPENAI_CATEGORIES)
    if unknown:
        raise ValueError(f"not OpenAI moderation categories: {sorted(unknown)}")
    categories = {name: name in chosen for name in OPENAI_CATEGORIES}
    return ModerationResult(
        flagged=bool(chosen) if flagged is None else flagged,
        categories=categories,
        category_scores={name: round(float((scores or {}).get(name, 0.0)), 6) for name in OPENAI_CATEGORIES},
        category_applied_input_types={name: ["text"] if name in applied else [] for name in OPENAI_CATEGORIES},
        user_message=user_message,
        metadata=metadata or {},
    )
