"""Text extraction from uploaded files: plain text, Markdown, HTML, JSON, CSV/TSV and PDF.

The type comes from the file extension, then the mime type, then the content (%PDF, or text
when nothing names a type). CSV rows become "header: value" lines, one blank-line-separated
record per row, so every chunk of a long table still says which column a value belongs to.
HTML keeps the visible text only, one line per block element and a blank line between paragraphs.
"""

from __future__ import annotations

import csv
import io
import json
import mimetypes
import re
from collections.abc import Callable, Iterator
from pathlib import PurePosixPath
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from bs4 import NavigableString, Tag


class DocumentError(ValueError):
    """A file that cannot be turned into text; the message is meant for the file's `last_error`."""


_BY_EXTENSION = {
    ".txt": "text", ".text": "text", ".log": "text", ".rst": "text", ".tex": "text", ".xml": "text",
    ".yaml": "text", ".yml": "text", ".toml": "text", ".ini": "text", ".sql": "text", ".css": "text",
    ".py": "text", ".js": "text", ".ts": "text", ".java": "text", ".c": "text", ".h": "text",
    ".cpp": "text", ".cs": "text", ".go": "text", ".rs": "text", ".rb": "text", ".php": "text", ".sh": "text",
    ".md": "markdown", ".markdown": "markdown",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".json": "json", ".csv": "csv", ".tsv": "tsv", ".pdf": "pdf",
}  # fmt: skip
_BY_MIME = {
    "text/markdown": "markdown", "text/x-markdown": "markdown", "text/html": "html",
    "application/xhtml+xml": "html", "application/json": "json", "text/csv": "csv", "application/csv": "csv",
    "text/tab-separated-values": "tsv", "application/pdf": "pdf", "application/xml": "text",
}  # fmt: skip
SUPPORTED = "text, Markdown, HTML, JSON, CSV, TSV, PDF"

_MIME_GUESSER = mimetypes.MimeTypes()  # Python's own table, so labels do not depend on the host's mime.types
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_MAX_CONTROL_RATIO = 0.05


def extract_text(content: bytes, filename: str, mime_type: str | None) -> str:
    """The text of a file, ready for chunking; raises DocumentError when there is none to get."""
    if not content:
        raise DocumentError(f"'{filename}' is empty")
    kind = kind_of(content, filename, mime_type)
    if kind is None:
        label = _type_label(filename, mime_type)
        raise DocumentError(f"unsupported file type '{label}' for '{filename}'; supported: {SUPPORTED}")
    text = _EXTRACTORS[kind](content, filename)
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise DocumentError(f"no text could be extracted from '{filename}'")
    return text


def kind_of(content: bytes, filename: str, mime_type: str | None) -> str | None:
    """The parser a file needs (text, markdown, html, json, csv, tsv, pdf), from its name, type or first bytes."""
    extension = PurePosixPath(filename).suffix.lower()
    if extension in _BY_EXTENSION:
        return _BY_EXTENSION[extension]
    mime = (mime_type or "").split(";")[0].strip().lower()
    if mime in _BY_MIME:
        return _BY_MIME[mime]
    if mime.endswith("+json"):
        return "json"
    if mime.startswith("text/"):
        return "text"
    if content.startswith(b"%PDF-"):
        return "pdf"
    named = mime not in ("", "application/octet-stream") or _MIME_GUESSER.guess_type(filename)[0] is not None
    if not named and not _looks_binary(content):
        return "text"  # README, Makefile, notes.xyz: nothing says what it is and it reads as text
    return None


def _type_label(filename: str, mime_type: str | None) -> str:
    if mime_type and mime_type != "application/octet-stream":
        return mime_type
    return _MIME_GUESSER.guess_type(filename)[0] or PurePosixPath(filename).suffix or mime_type or "unknown"


def _looks_binary(content: bytes) -> bool:
    head = content[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False  # UTF-16 text is full of NUL bytes
    return b"\x00" in head


def decode_text(content: bytes, filename: str, declared: str | None = None) -> str:
    """Text of `content`: BOM, else the declared charset, else UTF-8, else Windows-1252 or Latin-1.

    Latin-1 accepts any byte, so binary content is recognised by NUL bytes and control characters.
    """
    if _looks_binary(content):
        raise DocumentError(f"'{filename}' looks binary, not text")
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if content.startswith(bom):
            return _decode(content, codec, filename)
    for fallback in (declared, "utf-8", "cp1252"):
        if fallback:
            try:
                text = content.decode(fallback)
            except (UnicodeDecodeError, LookupError):
                continue
            return check_control(text, filename)
    return check_control(content.decode("latin-1"), filename)


def _decode(content: bytes, codec: str, filename: str) -> str:
    try:
        return check_control(content.decode(codec), filename)
    except UnicodeDecodeError as error:
        raise DocumentError(f"'{filename}' is not valid {codec} text: {error.reason}") from None


def check_control(text: str, filename: str) -> str:
    """`text` itself, unless too many control characters say it was binary (DocumentError)."""
    sample = text[:65536]
    if sample and len(_CONTROL.findall(sample)) > _MAX_CONTROL_RATIO * len(sample):
        raise DocumentError(f"'{filename}' looks binary, not text")
    return text


def _plain(content: bytes, filename: str) -> str:
    return decode_text(content, filename)


def _json(content: bytes, filename: str) -> str:
    try:
        document = json.loads(decode_text(content, filename))
    except (json.JSONDecodeError, RecursionError) as error:
        raise DocumentError(f"'{filename}' is not valid JSON: {error}") from None
    return json.dumps(document, indent=2, ensure_ascii=False)


def _csv(content: bytes, filename: str, delimiter: str | None = None) -> str:
    text = decode_text(content, filename)
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:65536], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    try:
        rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        header = [cell.strip() for cell in next(rows, [])]
        records = [_record(header, row) for row in rows]
    except csv.Error as error:
        raise DocumentError(f"'{filename}' is not valid CSV: {error}") from None
    body = "\n\n".join(record for record in records if record)
    return body or " ".join(header)


def _record(header: list[str], row: list[str]) -> str:
    names = [*header, *[""] * (len(row) - len(header))]
    return "\n".join(
        f"{names[i] or f'column {i + 1}'}: {value.strip()}" for i, value in enumerate(row) if value.strip()
    )


def _tsv(content: bytes, filename: str) -> str:
    return _csv(content, filename, delimiter="\t")


def _html(content: bytes, filename: str) -> str:
    return html_text(decode_text(content, filename, declared=_meta_charset(content)))


def _meta_charset(content: bytes) -> str | None:
    match = re.search(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", content[:4096], re.IGNORECASE)
    return match.group(1).decode("ascii") if match else None


_LINE, _PARAGRAPH = "\ue000", "\ue001"  # private-use markers that survive whitespace collapsing
_BREAKS = re.compile(f" ?[{_LINE}{_PARAGRAPH}][ {_LINE}{_PARAGRAPH}]*")
_DROPPED = ["script", "style", "noscript", "template", "svg", "head"]
_PARAGRAPHS = {
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "table", "ul", "ol", "dl", "section",
    "article", "header", "footer", "main", "nav", "aside", "figure", "form", "hr", "address", "fieldset",
}  # fmt: skip
_LINES = {"div", "li", "dt", "dd", "tr", "caption", "figcaption", "summary", "details", "legend"}


def html_text(markup: str) -> str:
    """The visible text of an HTML page: one line per block, a blank line between paragraphs, cells split by |.

    The tree is walked once with an explicit stack and never modified: bs4's insert and decompose
    look a node up among its siblings, which is quadratic on long pages.
    """
    from bs4 import BeautifulSoup, Tag
    from bs4.element import PreformattedString

    soup = BeautifulSoup(markup.replace(_LINE, "").replace(_PARAGRAPH, ""), "html.parser")
    parts = [soup.title.get_text(" ", strip=True), _PARAGRAPH] if soup.title else []
    stack: list[Tag | NavigableString | str] = [soup]
    while stack:
        node = stack.pop()
        if isinstance(node, Tag):
            stack.extend(reversed(_open(node, parts)))
        elif not isinstance(node, PreformattedString):  # comments, doctype and CDATA are not shown
            parts.append(node)
    text = re.sub(r"\s+", " ", "".join(parts))
    return _BREAKS.sub(lambda match: "\n\n" if _PARAGRAPH in match.group() else "\n", text).strip()


def _open(tag: Tag, parts: list[str]) -> list[Tag | NavigableString | str]:
    """Emit what starts `tag` into `parts`; return what comes next in order: its children, then its end marker."""
    from bs4 import NavigableString, Tag

    if tag.name in _DROPPED or tag.has_attr("hidden"):
        return []
    if tag.name == "br":
        return [_LINE]
    mark = _PARAGRAPH if tag.name in _PARAGRAPHS else _LINE if tag.name in _LINES else ""
    parts.append(mark)
    if tag.name == "pre":
        parts.append(tag.get_text().replace("\n", _LINE))
        return [mark]
    following: list[Tag | NavigableString | str] = []
    cells = 0
    for child in tag.contents:
        if tag.name == "tr" and isinstance(child, Tag) and child.name in ("td", "th"):
            following.append(" | " if cells else "")
            cells += 1
        if isinstance(child, Tag | NavigableString):
            following.append(child)
    return [*following, mark]


def _pdf(content: bytes, filename: str) -> str:
    return "\n\n".join(pdf_pages(io.BytesIO(content), filename))


def pdf_pages(stream: IO[bytes], filename: str) -> Iterator[str]:
    """The text of each page that has some, read as it is needed.

    The reader works on the caller's stream (a file on disk, or BytesIO over bytes) and pypdf's own limits stop
    decompression bombs. Pages are read one at a time and only their text is kept. pypdf caches
    every object it resolves (decoded content streams, image data); emptying that cache after each
    page makes memory follow the largest page rather than the whole file.
    """
    from pypdf import PasswordType, PdfReader

    try:
        reader = PdfReader(stream)
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise DocumentError(f"'{filename}' is an encrypted PDF; upload it without a password")
        for number in range(len(reader.pages)):
            page = (reader.pages[number].extract_text() or "").strip()
            reader.resolved_objects.clear()  # objects are re-read from the file when a later page needs them
            if page:
                yield page
    except DocumentError:
        raise
    except Exception as error:  # noqa: BLE001 - a malformed PDF can fail anywhere inside pypdf, with any exception type
        raise DocumentError(f"could not read PDF '{filename}': {error}") from None


_EXTRACTORS: dict[str, Callable[[bytes, str], str]] = {
    "text": _plain, "markdown": _plain, "html": _html, "json": _json, "csv": _csv, "tsv": _tsv, "pdf": _pdf,
}  # fmt: skip
