"""The text of a file on disk, piece by piece: plain text decoded in blocks, a PDF page by page.

Ingestion parses a temporary copy of the file on disk; reading it in pieces keeps memory at a few
blocks whatever the file's size. HTML, JSON and CSV need the whole document to parse and are read whole.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from typing import IO

from polystack.providers.utils.documents.parsing import (
    DocumentError,
    check_control,
    extract_text,
    kind_of,
    pdf_pages,
)

BLOCK_BYTES = 1024 * 1024
_HEAD_BYTES = 65536
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def file_text(file: IO[bytes], filename: str, mime_type: str | None = None) -> Iterator[str]:
    """Pieces whose concatenation is the file's text, line ends as \\n; DocumentError when it has none.

    The same types and rules as parsing.extract_text (which it uses for the whole-document types).
    """
    head = file.read(_HEAD_BYTES)
    file.seek(0)
    if not head:
        raise DocumentError(f"'{filename}' is empty")
    kind = kind_of(head, filename, mime_type)
    if kind is None:
        extract_text(head, filename, mime_type)  # raises the unsupported-type error, having read only the head
    if kind in ("text", "markdown"):
        pieces = _text_blocks(file, filename, head)
    elif kind == "pdf":
        pieces = _blank_line_separated(pdf_pages(file, filename))
    else:
        pieces = iter([extract_text(file.read(), filename, mime_type)])
    found = False
    for piece in pieces:
        found = found or bool(piece.strip())
        yield piece
    if not found:
        raise DocumentError(f"no text could be extracted from '{filename}'")


def _blank_line_separated(pages: Iterator[str]) -> Iterator[str]:
    for number, page in enumerate(pages):
        page = page.replace("\r\n", "\n").replace("\r", "\n")
        yield f"\n\n{page}" if number else page


def _text_blocks(file: IO[bytes], filename: str, head: bytes) -> Iterator[str]:
    if b"\x00" in head[:8192] and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DocumentError(f"'{filename}' looks binary, not text")
    decoder = codecs.getincrementaldecoder(_codec(file, head))()
    carry, checked = "", False
    while True:
        block = file.read(BLOCK_BYTES)
        text = carry + decoder.decode(block, final=not block)
        if not checked:
            check_control(text[:_HEAD_BYTES], filename)
            checked = True
        carry = "\r" if text.endswith("\r") and block else ""  # its \n may start the next block
        text = text[:-1] if carry else text
        yield text.replace("\r\n", "\n").replace("\r", "\n")
        if not block:
            return


def _codec(file: IO[bytes], head: bytes) -> str:
    """A BOM's codec, else UTF-8 if the whole file decodes as such, else Windows-1252, else Latin-1
    (which decodes anything); the file is read through once per codec tried, never held."""
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec
    for codec in ("utf-8", "cp1252"):
        if _decodes(file, codec):
            return codec
    return "latin-1"


def _decodes(file: IO[bytes], codec: str) -> bool:
    decoder = codecs.getincrementaldecoder(codec)()
    try:
        while block := file.read(BLOCK_BYTES):
            decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    finally:
        file.seek(0)
    return True
