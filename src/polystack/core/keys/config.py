"""`server.keys` and `server.audit`: admins of virtual keys, the key lookup cache, and the audit log."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class KeysConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    admin_attribute: str = Field(default="roles", description="The principal attribute that makes an admin.")
    admin_value: str = Field(default="admin", description="An admin has this value in `admin_attribute`.")
    cache_seconds: float = Field(default=5, ge=0, le=300, description="How long a replica trusts a virtual key "
                                 "it looked up: a revoked or rotated key is refused by every replica within this.")


class AuditConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="Record create/update/delete and access denied (with auth on).")
    flush_seconds: float = Field(default=0.2, gt=0, le=10, description="Entries are written in one transaction "
                                 "this often (group commit), off the request path.")
    include_content: bool = Field(
        default=False, description="Also record the content of the request behind each entry (messages, input, "
        "prompt, items, ...: see core/audit/content.py), secrets masked, at most max_content_bytes. Off: the log "
        "never holds message content.")
    max_content_bytes: int = Field(default=8192, ge=256, le=1024 * 1024,
                                   description="The most content kept per entry (with include_content); "
                                   "longer content is cut and marked `...[truncated]`.")
