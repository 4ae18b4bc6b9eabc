"""Wire types of /v1/audit: entries in id (time) order, with OpenAI's cursor page."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class AuditEntry(BaseModel):
    object: Literal["audit.entry"] = "audit.entry"
    id: str
    created_at: float
    principal: str | None = None
    key_id: str | None = None
    action: str
    resource_type: str
    resource_id: str | None = None
    outcome: Literal["allowed", "denied"]
    request_id: str | None = None
    content: str | None = Field(default=None, description="The request's content-bearing fields as JSON text, "
                                "secrets masked and cut at a bound: only with server.audit.include_content.")


class AuditList(BaseModel):
    object: Literal["list"] = "list"
    data: list[AuditEntry]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False
