"""File objects, the upload request and the list/delete shapes of OpenAI's Files API."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# OpenAI's bounds for `expires_after[seconds]`; a provider may allow a shorter minimum for tests.
MIN_EXPIRY_SECONDS = 3600
MAX_EXPIRY_SECONDS = 2592000


class FilePurpose(StrEnum):
    assistants = "assistants"
    batch = "batch"
    fine_tune = "fine-tune"
    vision = "vision"
    user_data = "user_data"
    evals = "evals"


class ExpiresAfter(BaseModel):
    """`expires_after[anchor]` and `expires_after[seconds]`: the file expires `seconds` after creation."""

    model_config = ConfigDict(extra="forbid")

    anchor: Literal["created_at"]
    seconds: int = Field(ge=1, le=MAX_EXPIRY_SECONDS)


class CreateFileRequest(BaseModel):
    """The form fields of POST /v1/files; the bytes travel separately, as a stream of chunks."""

    model_config = ConfigDict(extra="forbid")

    purpose: FilePurpose
    filename: str = Field(min_length=1, max_length=1024)
    expires_after: ExpiresAfter | None = None


class FileObject(BaseModel):
    """OpenAI's `file` object."""

    id: str
    object: Literal["file"] = "file"
    bytes: int
    created_at: int
    expires_at: int | None = None
    filename: str
    purpose: FilePurpose
    status: Literal["uploaded", "processed", "error"] = "processed"


class FileList(BaseModel):
    """OpenAI's spec types first_id and last_id as strings: an empty list has ''."""

    object: Literal["list"] = "list"
    data: list[FileObject]
    first_id: str = ""
    last_id: str = ""
    has_more: bool = False


class DeletedFile(BaseModel):
    id: str
    object: Literal["file"] = "file"
    deleted: bool = True
