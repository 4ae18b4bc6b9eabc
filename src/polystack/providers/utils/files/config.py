"""Config fields every files provider has: size limit, expiry rules, and where the metadata lives."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from polystack.apis.files.types import MAX_EXPIRY_SECONDS, MIN_EXPIRY_SECONDS
from polystack.core.storage.config import SQLStoreReference

MB = 1024 * 1024


class FilesProviderConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metadata_store: SQLStoreReference | None = Field(
        default=None,
        description="The SQL store (a sql_* backend of storage.backends) holding the file metadata, in table "
        "`table_name` (default `files`).",
    )
    max_upload_bytes: int = Field(
        default=512 * MB, ge=1, description="Largest file accepted; a bigger upload gets 413 as soon as it passes this."
    )
    min_expiry_seconds: int = Field(
        default=MIN_EXPIRY_SECONDS, ge=1, le=MAX_EXPIRY_SECONDS,
        description="Shortest `expires_after[seconds]` accepted. OpenAI's is 3600; lower it only for tests.",
    )
    batch_expiry_seconds: int | None = Field(
        default=MAX_EXPIRY_SECONDS, ge=1, le=MAX_EXPIRY_SECONDS,
        description="Expiry of purpose=batch files uploaded without `expires_after` (OpenAI: 30 days); "
        "null keeps them until deleted.",
    )
    expiry_sweep_interval_seconds: float = Field(
        default=300, gt=0,
        description="How often expired files' bytes and rows are deleted. Expired files are hidden at once "
        "regardless; the sweep only frees the space.",
    )
