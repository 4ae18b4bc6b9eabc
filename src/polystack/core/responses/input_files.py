"""Parts that name uploaded files, made readable for any chat model: an `input_file` becomes its text (from
file_id or file_data, parsed like vector store ingestion parses files: text, Markdown, HTML, JSON, CSV, PDF),
an `input_image` by file_id a data URL of its bytes."""

from __future__ import annotations

import asyncio
import base64
import binascii
import mimetypes
from typing import Any

from polystack.apis.datatypes import Api
from polystack.apis.errors import InvalidRequestError, PayloadTooLargeError
from polystack.apis.files.protocol import Files
from polystack.apis.responses.items import InputFile, InputImage, InputItem, InputText, Message
from polystack.core.impls import Impls

MAX_FILE_BYTES = 32 * 1024 * 1024  # a file the model reads whole: far more than any context holds


def _names_a_file(part: Any) -> bool:
    return isinstance(part, InputFile) or (isinstance(part, InputImage) and part.file_id is not None
                                           and part.image_url is None)


async def with_file_text(items: list[InputItem], impls: Impls) -> list[InputItem]:
    """The items with each part naming a file made readable (the items kept for the caller are unchanged)."""
    if not any(isinstance(item, Message) and any(map(_names_a_file, item.content)) for item in items):
        return items
    read: list[InputItem] = []
    for item in items:
        if isinstance(item, Message) and any(map(_names_a_file, item.content)):
            content = [await _readable(part, impls) if isinstance(part, InputFile | InputImage) and _names_a_file(part)
                       else part for part in item.content]
            item = item.model_copy(update={"content": content})
        read.append(item)
    return read


async def _readable(part: InputFile | InputImage, impls: Impls) -> InputText | InputImage:
    if isinstance(part, InputFile):
        return InputText(text=await _text(part, impls))
    assert part.file_id is not None
    content, filename = await _uploaded(part.file_id, impls)
    mime = mimetypes.guess_type(filename)[0] or "image/png"
    return part.model_copy(update={"image_url": f"data:{mime};base64,{base64.b64encode(content).decode()}"})


async def _text(part: InputFile, impls: Impls) -> str:
    if part.file_id is not None:
        content, filename = await _uploaded(part.file_id, impls)
    elif part.file_data is not None:
        content, filename = _inline(part.file_data), part.filename or "file"
    else:
        raise InvalidRequestError("an input_file needs file_id or file_data (file_url is not supported)",
                                  param="input")
    from polystack.providers.utils.documents.parsing import DocumentError, extract_text

    try:
        text = await asyncio.to_thread(extract_text, content, filename, None)
    except DocumentError as exc:
        raise InvalidRequestError(f"input_file: {exc}", param="input") from None
    return f"<file name=\"{filename}\">\n{text}\n</file>"


async def _uploaded(file_id: str, impls: Impls) -> tuple[bytes, str]:
    files = impls.get_as(Api.files, Files)
    if files is None:
        raise InvalidRequestError("an input_file by file_id needs the files API, which this server does not serve",
                                  param="input")
    meta = await files.get_file(file_id)  # NotFoundError for another caller's file too
    if meta.bytes > MAX_FILE_BYTES:
        raise PayloadTooLargeError(f"input_file '{file_id}' has {meta.bytes} bytes; at most {MAX_FILE_BYTES}",
                                   param="input")
    chunks: list[bytes] = [chunk async for chunk in await files.open_file_content(file_id)]
    return b"".join(chunks), meta.filename


def _inline(data: str) -> bytes:
    """`file_data`: base64, bare or as a data URL (`data:application/pdf;base64,...`)."""
    payload: Any = data.split(",", 1)[1] if data.startswith("data:") and "," in data else data
    try:
        content = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequestError("input_file file_data is not base64", param="input") from None
    if len(content) > MAX_FILE_BYTES:
        raise PayloadTooLargeError(f"input_file data has {len(content)} bytes; at most {MAX_FILE_BYTES}",
                                   param="input")
    return content
