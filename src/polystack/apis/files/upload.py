"""MultipartUpload: a multipart/form-data body read as it arrives, the file part handed on chunk by chunk.

Starlette's `request.form()` spools the whole file before the handler runs, so a size limit could only
be checked once everything is on disk. Reading the parts ourselves lets the provider store the file
while it arrives and refuse it at the first byte past its limit.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import IO, Any

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from polystack.apis.errors import InvalidRequestError, PayloadTooLargeError

MAX_FIELD_BYTES = 64 * 1024
MAX_FIELDS = 100
SPOOL_MEMORY_BYTES = 1024 * 1024
READ_CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class FilePart:
    field: str
    filename: str
    content_type: str | None


# Parser events: ("field", name, value) | ("file", FilePart) | ("data", bytes) | ("end",)
Event = tuple[Any, ...]


class MultipartUpload:
    """The form of one request: small fields collected in `fields`, the file part streamed."""

    def __init__(self, request: Request) -> None:
        content_type, options = parse_options_header(request.headers.get("content-type"))
        if content_type != b"multipart/form-data" or b"boundary" not in options:
            raise InvalidRequestError("The request body must be multipart/form-data with a boundary.")
        self.fields: dict[str, str] = {}
        self._request = request
        self._boundary = options[b"boundary"]
        self._pending: deque[Event] = deque()
        self._events = self._parse()
        self._part: dict[str, Any] = {}

    async def next_file(self, field: str) -> FilePart | None:
        """Read fields up to the start of the file part named `field`; None when the body has none."""
        async for event in self._events:
            if event[0] == "field":
                self._add_field(event[1], event[2])
            elif event[0] == "file" and event[1].field == field:
                return event[1]  # type: ignore[no-any-return]
            elif event[0] == "file":
                await self._skip_file()
        return None

    async def file_chunks(self) -> AsyncIterator[bytes]:
        """The current file part's bytes, as they arrive."""
        async for event in self._events:
            if event[0] == "end":
                return
            if event[0] == "data":
                yield event[1]
        raise InvalidRequestError("The request body ended inside the file part.", param="file")

    async def spool_file(self) -> IO[bytes]:
        """Keep the current file part aside (in memory up to 1 MB, then on disk) to read the fields after it."""
        spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)
        try:
            async for chunk in self.file_chunks():
                await asyncio.to_thread(spool.write, chunk)
            await asyncio.to_thread(spool.seek, 0)
        except BaseException:
            spool.close()
            raise
        return spool

    async def read_rest(self) -> list[str]:
        """Read the fields after the file part (further files are skipped); returns their names."""
        names = []
        async for event in self._events:
            if event[0] == "field":
                self._add_field(event[1], event[2])
                names.append(event[1])
            elif event[0] == "file":
                await self._skip_file()
        return names

    async def aclose(self) -> None:
        await self._events.aclose()  # type: ignore[attr-defined]

    def _add_field(self, name: str, value: str) -> None:
        if len(self.fields) >= MAX_FIELDS and name not in self.fields:
            raise InvalidRequestError(f"Too many form fields (at most {MAX_FIELDS}).")
        self.fields[name] = value

    async def _skip_file(self) -> None:
        async for _ in self.file_chunks():
            pass

    async def _parse(self) -> AsyncIterator[Event]:
        parser = MultipartParser(self._boundary, {
            "on_part_begin": self._on_part_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
        })
        try:
            async for chunk in self._request.stream():
                parser.write(chunk)
                while self._pending:
                    yield self._pending.popleft()
            parser.finalize()
        except FormParserError as exc:
            raise InvalidRequestError(f"The multipart/form-data body is malformed: {exc}") from None
        while self._pending:
            yield self._pending.popleft()

    # ---- parser callbacks: they only record events, consumed by the async methods above ----

    def _on_part_begin(self) -> None:
        self._part = {"headers": {}, "field": b"", "value": b"", "data": bytearray(), "file": None}

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._part["field"] += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._part["value"] += data[start:end]

    def _on_header_end(self) -> None:
        self._part["headers"][self._part["field"].lower()] = self._part["value"]
        self._part["field"], self._part["value"] = b"", b""

    def _on_headers_finished(self) -> None:
        headers = self._part["headers"]
        _, options = parse_options_header(headers.get(b"content-disposition"))
        if b"name" not in options:
            raise InvalidRequestError("A multipart part has no name in its Content-Disposition header.")
        self._part["name"] = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            content_type = headers.get(b"content-type")
            self._part["file"] = FilePart(self._part["name"], options[b"filename"].decode("utf-8", "replace"),
                                          content_type.decode("latin-1") if content_type else None)
            self._pending.append(("file", self._part["file"]))

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part["file"] is not None:
            self._pending.append(("data", data[start:end]))
            return
        self._part["data"] += data[start:end]
        if len(self._part["data"]) > MAX_FIELD_BYTES:
            raise PayloadTooLargeError(f"The form field '{self._part['name']}' is too long.",
                                       param=self._part["name"])

    def _on_part_end(self) -> None:
        if self._part["file"] is not None:
            self._pending.append(("end",))
        else:
            self._pending.append(("field", self._part["name"], self._part["data"].decode("utf-8", "replace")))


async def spooled_chunks(spool: IO[bytes]) -> AsyncIterator[bytes]:
    """Read a spooled file back in chunks, off the event loop."""
    while chunk := await asyncio.to_thread(spool.read, READ_CHUNK_BYTES):
        yield chunk
