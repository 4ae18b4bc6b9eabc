"""HTTP routes of the files API (OpenAI paths): a streamed multipart upload, list, retrieve, content, delete."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from starlette.responses import Response, StreamingResponse

from polystack.apis.datatypes import Api
from polystack.apis.documented import returns, returns_bytes
from polystack.apis.errors import InvalidRequestError
from polystack.apis.files.protocol import Files
from polystack.apis.files.types import (
    MAX_EXPIRY_SECONDS,
    CreateFileRequest,
    DeletedFile,
    ExpiresAfter,
    FileList,
    FileObject,
    FilePurpose,
)
from polystack.apis.files.upload import MultipartUpload, spooled_chunks
from polystack.apis.http import JSONBody, impl_of

router = APIRouter(tags=["files"])
files = Depends(impl_of(Api.files))

PURPOSES = ", ".join(purpose.value for purpose in FilePurpose)
REQUEST_FIELDS = ("purpose", "expires_after[anchor]", "expires_after[seconds]")

_UPLOAD_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object",
            "required": ["file", "purpose"],
            "properties": {
                "file": {"type": "string", "format": "binary"},
                "purpose": {"type": "string", "enum": [purpose.value for purpose in FilePurpose]},
                "expires_after[anchor]": {"type": "string", "enum": ["created_at"]},
                "expires_after[seconds]": {"type": "integer", "maximum": MAX_EXPIRY_SECONDS},
            },
        }}},
    }
}


def _json(model: BaseModel) -> Response:
    # every field, defaults included: `object`, `status` and a null `expires_at` are part of the wire shape
    return JSONBody(model.model_dump(mode="json"))


def _purpose(value: str | None) -> FilePurpose:
    if value is None:
        raise InvalidRequestError("Missing required parameter: 'purpose'.", param="purpose")
    try:
        return FilePurpose(value)
    except ValueError:
        raise InvalidRequestError(f"Invalid value for 'purpose': '{value}'. Expected one of: {PURPOSES}.",
                                  param="purpose") from None


def _expires_after(fields: dict[str, str]) -> ExpiresAfter | None:
    anchor, seconds = fields.get("expires_after[anchor]"), fields.get("expires_after[seconds]")
    if anchor is None and seconds is None:
        return None
    if anchor != "created_at":
        raise InvalidRequestError("Invalid value for 'expires_after[anchor]': the only anchor is 'created_at'.",
                                  param="expires_after[anchor]")
    try:
        return ExpiresAfter(anchor="created_at", seconds=int(seconds or ""))
    except ValueError:
        raise InvalidRequestError(
            f"Invalid value for 'expires_after[seconds]': expected an integer number of seconds up to "
            f"{MAX_EXPIRY_SECONDS} (30 days), got '{seconds}'.", param="expires_after[seconds]") from None


def create_file_request(fields: dict[str, str], filename: str) -> CreateFileRequest:
    """The upload's form fields, checked one by one so that each error names its field."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1] or "upload"
    return CreateFileRequest(purpose=_purpose(fields.get("purpose")), filename=name[:1024],
                             expires_after=_expires_after(fields))


@router.post("/files", summary="Upload a file (multipart/form-data: file, purpose, expires_after)",
             openapi_extra=_UPLOAD_SCHEMA, responses=returns(FileObject))
async def create_file(request: Request, impl: Files = files) -> Response:
    upload = MultipartUpload(request)
    try:
        part = await upload.next_file("file")
        if part is None:
            _purpose(upload.fields.get("purpose"))
            raise InvalidRequestError("Missing required parameter: 'file'.", param="file")
        if "purpose" not in upload.fields:
            # The file came before the fields it needs (some clients send it first): keep it aside.
            with await upload.spool_file() as spool:
                await upload.read_rest()
                body = create_file_request(upload.fields, part.filename)
                return _json(await impl.create_file(body, spooled_chunks(spool)))
        created = await impl.create_file(create_file_request(upload.fields, part.filename), upload.file_chunks())
        late = [name for name in await upload.read_rest() if name in REQUEST_FIELDS]
        if late:
            await impl.delete_file(created.id)
            raise InvalidRequestError(f"'{late[0]}' came after 'file' in the form; send it before the file.",
                                      param=late[0])
        return _json(created)
    finally:
        await upload.aclose()


@router.get("/files", summary="List files", responses=returns(FileList))
async def list_files(
    after: str | None = Query(default=None, description="Continue after this file id."),
    limit: int = Query(default=10000, ge=1, le=10000),
    order: Literal["asc", "desc"] = "desc",
    purpose: str | None = Query(default=None, description="Only files with this purpose."),
    impl: Files = files,
) -> Response:
    wanted = _purpose(purpose) if purpose is not None else None
    return _json(await impl.list_files(after=after, limit=limit, order=order, purpose=wanted))


@router.get("/files/{file_id}", summary="Retrieve a file's metadata", responses=returns(FileObject))
async def get_file(file_id: str, impl: Files = files) -> Response:
    return _json(await impl.get_file(file_id))


@router.get("/files/{file_id}/content", summary="Download a file's bytes",
             responses=returns_bytes("application/octet-stream"),
             response_class=StreamingResponse)  # documents no JSON body
async def get_file_content(file_id: str, impl: Files = files) -> Response:
    file = await impl.get_file(file_id)
    chunks = await impl.open_file_content(file_id)
    return StreamingResponse(chunks, media_type="application/octet-stream",
                             headers={"Content-Length": str(file.bytes)})


@router.delete("/files/{file_id}", summary="Delete a file", responses=returns(DeletedFile))
async def delete_file(file_id: str, impl: Files = files) -> Response:
    return _json(await impl.delete_file(file_id))
