"""Text extraction per file type, type detection and the errors that become a file's last_error."""

import io
import json
import time

import pytest
from pypdf import PdfReader, PdfWriter

from polystack.providers.utils.documents.parsing import DocumentError, extract_text


def make_pdf(pages: list[str]) -> bytes:
    """A minimal PDF with one Helvetica text line per page, and a correct xref table."""
    count = len(pages)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(count))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode()]
    font = 3 + 2 * count
    for i, text in enumerate(pages):
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_plain_text_is_returned_with_unix_newlines() -> None:
    assert extract_text(b"line one\r\nline two\r\n", "notes.txt", "text/plain") == "line one\nline two"


def test_markdown_is_kept_as_markdown() -> None:
    content = b"# Title\n\n- item **bold**\n"
    assert extract_text(content, "README.md", None) == "# Title\n\n- item **bold**"


def test_text_that_is_not_utf8_falls_back_to_windows_1252() -> None:
    assert extract_text("café naïve “quoted”".encode("cp1252"), "legacy.txt", None) == "café naïve “quoted”"


def test_utf8_bom_and_utf16_bom_are_honoured() -> None:
    assert extract_text("\ufeffhéllo".encode(), "a.txt", None) == "héllo"
    assert extract_text("héllo wörld".encode("utf-16"), "b.txt", None) == "héllo wörld"


def test_binary_content_named_as_text_is_rejected() -> None:
    with pytest.raises(DocumentError, match="looks binary"):
        extract_text(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "fake.txt", None)
    with pytest.raises(DocumentError, match="looks binary"):
        extract_text(bytes(range(1, 32)) * 50, "noise.txt", None)


def test_html_keeps_visible_text_and_drops_scripts_styles_and_comments() -> None:
    page = b"""<!doctype html><html><head><title>Guide</title><style>p { color: red }</style>
    <script>var secret = 1;</script></head><body><!-- hidden comment --><h1>Hello
       world</h1><p>First <b>bold</b> words<br>next line</p><div>a</div><div>b</div>
    <ul><li>one</li><li>two</li></ul><p hidden>invisible</p><noscript>enable js</noscript></body></html>"""
    text = extract_text(page, "page.html", "text/html")
    assert text == "Guide\n\nHello world\n\nFirst bold words\nnext line\n\na\nb\n\none\ntwo"
    for dropped in ("secret", "color", "comment", "invisible", "enable js"):
        assert dropped not in text


def test_html_tables_become_rows_of_cells_split_by_bars() -> None:
    page = b"<table><tr><th>Name</th><th>Age</th></tr><tr><td>Ada</td><td>36</td></tr></table>"
    assert extract_text(page, "t.htm", None) == "Name | Age\nAda | 36"


def test_html_meta_charset_is_used_to_decode() -> None:
    page = '<html><head><meta charset="iso-8859-1"></head><body><p>déjà vu</p></body></html>'.encode("latin-1")
    assert extract_text(page, "old.html", None) == "déjà vu"


def test_json_is_pretty_printed_with_keys_and_unicode() -> None:
    document = {"name": "Zoë", "tags": ["a", "b"], "nested": {"n": 1}}
    text = extract_text(json.dumps(document).encode(), "data.json", None)
    assert json.loads(text) == document
    assert '"name": "Zoë"' in text and '\n  "nested": {\n    "n": 1\n  }' in text


def test_invalid_json_is_a_document_error() -> None:
    with pytest.raises(DocumentError, match="not valid JSON"):
        extract_text(b"{not json", "broken.json", None)


def test_csv_rows_become_header_value_records() -> None:
    content = b'name,city,notes\nAda,London,"likes, commas"\nAlan,,\n'
    assert extract_text(content, "people.csv", "text/csv") == (
        "name: Ada\ncity: London\nnotes: likes, commas\n\nname: Alan"
    )


def test_csv_delimiter_is_sniffed_and_tsv_uses_tabs() -> None:
    assert extract_text(b"a;b\n1;2\n", "semi.csv", None) == "a: 1\nb: 2"
    assert extract_text(b"a\tb\n1\t2\n", "tabs.tsv", None) == "a: 1\nb: 2"


def test_csv_extra_cells_get_numbered_column_names() -> None:
    assert extract_text(b"a\n1,2\n", "ragged.csv", None) == "a: 1\ncolumn 2: 2"


def test_pdf_page_texts_are_joined_by_blank_lines() -> None:
    assert extract_text(make_pdf(["First page", "Second page"]), "doc.pdf", "application/pdf") == (
        "First page\n\nSecond page"
    )


def test_pdf_is_recognised_by_its_magic_without_name_or_mime() -> None:
    assert extract_text(make_pdf(["Sniffed"]), "upload", None) == "Sniffed"


def test_pdf_made_by_pypdf_writer_is_read() -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(["Cloned text"]))))
    buffer = io.BytesIO()
    writer.write(buffer)
    assert extract_text(buffer.getvalue(), "clone.pdf", None) == "Cloned text"


def test_encrypted_pdf_is_a_document_error() -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(["Secret"]))))
    writer.encrypt(user_password="pw", owner_password="owner", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(DocumentError, match="encrypted PDF"):
        extract_text(buffer.getvalue(), "locked.pdf", None)


def test_pdf_encrypted_with_an_empty_user_password_is_read() -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(["Open secret"]))))
    writer.encrypt(user_password="", owner_password="owner", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    assert extract_text(buffer.getvalue(), "readable.pdf", None) == "Open secret"


def test_corrupt_pdf_is_a_document_error() -> None:
    with pytest.raises(DocumentError, match="could not read PDF 'bad.pdf'"):
        extract_text(b"%PDF-1.4\nthis is not a pdf", "bad.pdf", None)


def test_pdf_without_text_is_a_document_error() -> None:
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(DocumentError, match="no text could be extracted from 'scan.pdf'"):
        extract_text(buffer.getvalue(), "scan.pdf", None)


@pytest.mark.parametrize(
    ("filename", "mime_type", "content", "label"),
    [
        ("x.png", "image/png", b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        ("photo.png", None, b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        ("report.docx", None, b"PK\x03\x04\x14\x00\x00\x00", ".docx"),
        ("archive.zip", "application/zip", b"PK\x03\x04\x14\x00\x00\x00", "application/zip"),
        ("blob", None, b"\x00\x01\x02binary", "unknown"),
    ],
)
def test_unsupported_types_name_the_type_the_file_and_what_is_supported(
    filename: str, mime_type: str | None, content: bytes, label: str
) -> None:
    with pytest.raises(DocumentError) as error:
        extract_text(content, filename, mime_type)
    assert str(error.value) == (
        f"unsupported file type '{label}' for '{filename}'; supported: text, Markdown, HTML, JSON, CSV, TSV, PDF"
    )


def test_extension_wins_over_mime_type() -> None:
    assert extract_text(b"a,b\n1,2\n", "table.csv", "application/octet-stream") == "a: 1\nb: 2"
    assert extract_text(b"<p>hi</p>", "page.html", "text/plain") == "hi"


def test_mime_type_decides_when_the_extension_is_unknown() -> None:
    assert extract_text(b'{"k": 1}', "upload.bin", "application/json; charset=utf-8") == '{\n  "k": 1\n}'
    assert extract_text(b"<p>hi</p>", "upload", "text/html") == "hi"
    assert extract_text(b"print(1)", "script.xyz", "text/x-python") == "print(1)"


def test_unnamed_text_is_read_as_plain_text() -> None:
    assert extract_text(b"just some notes", "README", None) == "just some notes"


def test_empty_file_is_a_document_error() -> None:
    with pytest.raises(DocumentError, match="'empty.txt' is empty"):
        extract_text(b"", "empty.txt", "text/plain")


def test_whitespace_only_file_has_no_text() -> None:
    with pytest.raises(DocumentError, match="no text could be extracted from 'blank.md'"):
        extract_text(b" \n\t\n", "blank.md", None)


def test_document_error_is_a_value_error() -> None:
    assert issubclass(DocumentError, ValueError)


def test_pre_keeps_its_lines_and_deep_nesting_is_fine() -> None:
    assert extract_text(b"<pre>x = 1\n  y = 2</pre>", "code.html", None) == "x = 1\ny = 2"
    assert extract_text(b"<div>" * 5000 + b"deep" + b"</div>" * 5000, "nested.html", None) == "deep"


def test_long_html_pages_are_walked_in_linear_time() -> None:
    page = b"<body>" + b"<p>para <b>bold</b></p><script>x()</script>" * 5000 + b"</body>"
    started = time.perf_counter()
    text = extract_text(page, "long.html", None)
    assert text.count("para bold") == 5000
    assert time.perf_counter() - started < 3.0  # sibling lookups on every insert took ~10 s here
