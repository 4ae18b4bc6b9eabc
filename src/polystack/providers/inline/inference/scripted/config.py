"""Config of inline::scripted: a deterministic test provider that plays back scripted replies."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ScriptedReply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str | None = None
    tool_calls: list[dict[str, Any]] = Field(default_factory=list, description="[{name, arguments}] to call.")
    reasoning: str | None = Field(default=None, description="Reasoning text, sent as `reasoning_content` first.")
    refusal: str | None = Field(default=None, description="A refusal instead of content.")
    finish_reason: Literal["stop", "length", "tool_calls", "content_filter"] | None = Field(
        default=None, description="Default: tool_calls when the reply calls tools, else stop.")


class ScriptedConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: list[str] = Field(default_factory=lambda: ["scripted-model"])
    replies: list[ScriptedReply] = Field(
        default_factory=list, description="Played in order, cycling; empty means echo the last user message."
    )
    embedding_dimension: int = Field(default=8, ge=1)
    completion_id: str | None = Field(
        default=None, description="Answer every chat completion with this id, as upstreams that reuse ids do; "
        "default a fresh id each time.")
    stream_delay_seconds: float = Field(
        default=0, ge=0, description="Pause before each streamed chunk, for tests of in-flight streams.")
