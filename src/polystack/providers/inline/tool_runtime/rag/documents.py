"""What a RAG document's content is, as bytes to upload or as an already uploaded file.

Content is text, a data URL (as text or `{"uri": ...}`), an http(s) URL (fetched with a size and time limit)
or an uploaded file (`file-...`, `files/file-...`, `/v1/files/file-.../content`), which is attached as it is.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import mimetypes
import re
import socket
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes, urlsplit

import httpx

from polystack.apis.errors import InvalidRequestError, PayloadTooLargeError
from polystack.apis.tool_groups.types import URL
from polystack.apis.tool_runtime.rag import RAGDocument
from polystack.apis.tool_runtime.types import InterleavedContent, TextContentItem

_FILE_ID = re.compile(r"^/?(?:v1/)?(?:files/)?(file-[A-Za-z0-9_-]+)(?:/content)?/?$")
MAX_REDIRECTS = 5
_EXTENSIONS = {"text/plain": ".txt", "text/markdown": ".md", "text/html": ".html", "text/csv": ".csv",
               "application/json": ".json", "application/pdf": ".pdf"}


@dataclass(frozen=True)
class Payload:
    """Bytes to upload as a file named `filename`."""

    data: bytes
    mime_type: str
    filename: str


@dataclass(frozen=True)
class UploadedFile:
    file_id: str


def content_text(content: InterleavedContent, separator: str = " ") -> str:
    """The text of interleaved content (images have none)."""
    if isinstance(content, str):
        return content
    items = content if isinstance(content, list) else [content]
    return separator.join(item.text for item in items if isinstance(item, TextContentItem))


def filename_for(document: RAGDocument, mime_type: str) -> str:
    """The metadata's `filename` if given, else the document id with the extension of its type."""
    given = document.metadata.get("filename")
    if isinstance(given, str) and given.strip():
        return given.strip()[:255]
    mime = mime_type.split(";")[0].strip().lower()
    extension = _EXTENSIONS.get(mime) or mimetypes.guess_extension(mime) or ".txt"
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", document.document_id)[:200] or "document"
    return stem if stem.lower().endswith(extension) else stem + extension


def parse_data_url(url: str, param: str) -> tuple[bytes, str]:
    """`data:[<type>][;base64],<data>` as (bytes, mime type)."""
    header, comma, data = url[len("data:"):].partition(",")
    if not comma:
        raise InvalidRequestError("A data URL needs a ',' before its data", param=param)
    parts = [part.strip() for part in header.split(";")]
    mime = parts[0] or "text/plain"
    if "base64" in parts[1:]:
        try:
            return base64.b64decode(data, validate=True), mime
        except (binascii.Error, ValueError):
            raise InvalidRequestError("The data URL's base64 data is not valid", param=param) from None
    return unquote_to_bytes(data), mime


class DocumentReader:
    """Turns documents into payloads (a fetch follows redirects itself, checking each address)."""

    def __init__(self, max_bytes: int, fetch_timeout: float, *, private_addresses: bool = False) -> None:
        self.max_bytes = max_bytes
        self.fetch_timeout = fetch_timeout
        self.private_addresses = private_addresses

    async def read(self, document: RAGDocument, param: str) -> Payload | UploadedFile:
        content = document.content
        if isinstance(content, URL):
            return await self._from_uri(document, content.uri.strip(), param)
        text = content_text(content)
        if text.startswith("data:"):
            return await self._from_uri(document, text, param)
        if not text.strip():
            raise InvalidRequestError("The document has no text", param=param)
        data = text.encode()
        self._check_size(len(data), param)
        mime = document.mime_type or "text/plain"
        return Payload(data, mime, filename_for(document, mime))

    async def _from_uri(self, document: RAGDocument, uri: str, param: str) -> Payload | UploadedFile:
        if uri.startswith("data:"):
            self._check_size(len(uri) * 3 // 4, param)
            data, mime = parse_data_url(uri, param)
            mime = document.mime_type or mime
            self._check_size(len(data), param)
            return Payload(data, mime, filename_for(document, mime))
        match = _FILE_ID.match(uri)
        if match:
            return UploadedFile(match.group(1))
        if urlsplit(uri).scheme.lower() in ("http", "https"):
            data, mime = await self._fetch(uri, param)
            mime = document.mime_type or mime
            return Payload(data, mime, filename_for(document, mime))
        raise InvalidRequestError("A document URI must be a data URL, an http(s) URL or an uploaded file's id "
                                  "(file-...)", param=param)

    def _check_size(self, size: int, param: str) -> None:
        if size > self.max_bytes:
            raise PayloadTooLargeError(f"The document is larger than this server's limit of {self.max_bytes} bytes",
                                       param=param)

    async def _fetch(self, uri: str, param: str) -> tuple[bytes, str]:
        host = urlsplit(uri).hostname or "?"
        try:
            async with asyncio.timeout(self.fetch_timeout), httpx.AsyncClient(timeout=self.fetch_timeout) as client:
                for _ in range(MAX_REDIRECTS + 1):
                    await self._check_address(uri, param)
                    async with client.stream("GET", uri) as response:
                        if response.is_redirect and "location" in response.headers:
                            uri = str(response.url.join(response.headers["location"]))
                            if urlsplit(uri).scheme not in ("http", "https"):
                                break
                            continue
                        return await self._body(response, host, param)
                raise InvalidRequestError(f"Fetching the document from {host}: too many redirects, or a redirect "
                                          "to another scheme", param=param)
        except TimeoutError:
            raise InvalidRequestError(f"Fetching the document from {host} took more than {self.fetch_timeout:g}s",
                                      param=param) from None
        except httpx.HTTPError as exc:
            raise InvalidRequestError(f"Fetching the document from {host} failed ({type(exc).__name__})",
                                      param=param) from None

    async def _body(self, response: httpx.Response, host: str, param: str) -> tuple[bytes, str]:
        if response.status_code >= 400:
            raise InvalidRequestError(f"Fetching the document from {host} failed: HTTP {response.status_code}",
                                      param=param)
        declared = response.headers.get("content-length")
        if declared and declared.isdigit():
            self._check_size(int(declared), param)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            self._check_size(size, param)
            chunks.append(chunk)
        mime = response.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
        return b"".join(chunks), mime

    async def _check_address(self, uri: str, param: str) -> None:
        """Unless the config allows it, a URL must not lead into this machine's or a private network (the
        server fetching for a caller must not reach what only the server can: loopback, cloud metadata)."""
        if self.private_addresses:
            return
        parts = urlsplit(uri)
        host = parts.hostname or ""
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
        except OSError:
            raise InvalidRequestError(f"Fetching the document: the host {host} cannot be resolved",
                                      param=param) from None
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if not address.is_global:
                raise InvalidRequestError(f"Fetching the document: {host} is a private or local address, which "
                                          "this server does not fetch from (config fetch_private_addresses)",
                                          param=param)
