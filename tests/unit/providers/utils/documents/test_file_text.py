"""The text of a file on disk in pieces: the same text as extract_text, read a block or a page at a time."""

import io
import tracemalloc

import pytest

from polystack.providers.utils.documents import file_text as module
from polystack.providers.utils.documents.chunking import chunk_pieces
from polystack.providers.utils.documents.file_text import file_text
from polystack.providers.utils.documents.parsing import DocumentError, extract_text
from tests.unit.providers.utils.documents.test_parsing import make_pdf


def read(content: bytes, filename: str) -> str:
    return "".join(file_text(io.BytesIO(content), filename)).strip()


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(module, "BLOCK_BYTES", 7)


@pytest.mark.parametrize(("content", "filename"), [
    (b"line one\r\nline two\rline three\n", "notes.txt"),
    ("caf\u00e9 na\u00efve \u65e5\u672c\u8a9e \U0001f642\r\n".encode() * 5, "unicode.md"),
    ("caf\u00e9 \u2013 cr\u00e8me".encode("cp1252"), "legacy.txt"),
    ("\ufeffwith a BOM".encode(), "bom.txt"),
    ("utf-16 text \u00e9".encode("utf-16"), "wide.txt"),
    (b'{"b": [1, 2], "a": "\\u00e9"}', "data.json"),
    (b"name,age\nada,36\n", "people.csv"),
    (b"<html><body><p>Hello</p><p>world</p></body></html>", "page.html"),
])
def test_the_text_is_what_extract_text_gives_even_in_tiny_blocks(small_blocks, content, filename):
    assert read(content, filename) == extract_text(content, filename, None)


def test_a_pdf_is_read_page_by_page_into_the_same_text():
    pdf = make_pdf(["First page text.", "Second page text."])
    pages = list(file_text(io.BytesIO(pdf), "two.pdf"))
    assert pages == ["First page text.", "\n\nSecond page text."]
    assert "".join(pages) == extract_text(pdf, "two.pdf", None)


@pytest.mark.parametrize(("content", "filename", "error"), [
    (b"", "empty.txt", "empty"),
    (b"   \n\n  ", "blank.txt", "no text"),
    (b"text\x00with\x00nuls" * 10, "binary.txt", "looks binary"),
    (b"\x89PNG\r\n\x1a\n" + bytes(100), "photo.png", "unsupported file type"),
])
def test_files_without_text_are_document_errors(content, filename, error):
    with pytest.raises(DocumentError, match=error):
        read(content, filename)


def test_a_large_text_file_is_chunked_in_bounded_memory(tmp_path):
    """6 MB of text: chunking it whole would hold its 1.3M tokens as Python objects (over 100 MB); read and
    chunked in pieces, Python's peak stays at a few windows."""
    line = b"Paragraph about the weather on an ordinary day in the valley, with some words.\n"
    path = tmp_path / "big.txt"
    path.write_bytes(line * (6 * 1024 * 1024 // len(line)))
    tracemalloc.start()
    try:
        with path.open("rb") as file:
            count = sum(1 for _ in chunk_pieces(file_text(file, "big.txt"), 800, 400))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count > 2000
    assert peak < 40 * 1024 * 1024  # chunk_text over the whole text: ~125 MB, f"peak {peak / 2**20:.0f} MB"
