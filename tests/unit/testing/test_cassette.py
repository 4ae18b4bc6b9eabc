"""Tests for the on-disk recording format: body encodings round-trip to the same bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from polystack.testing.cassette import body_chunks, encode_body, load_recording, save_recording


@pytest.mark.parametrize(("content_type", "chunks", "field"), [
    ("application/json", [b'{"a":', b' [1, 2.5]}'], "body"),
    ("application/json", [b'"just a string"'], "body"),
    ("application/json", [b"not json"], "body"),
    ("text/plain; charset=utf-8", [b"hello"], "body"),
    ("audio/mpeg", [b"\xff\xfb\x90\x00"], "body_base64"),
    ("text/event-stream", [b"data: 1\n\n", b"data: 2\n\n"], "chunks"),
    ("application/x-ndjson", [b'{"a":1}\n', b'{"a":2}\n'], "chunks"),
    ("application/octet-stream", [b"\xff\x00", b"\xfe"], "chunks_base64"),
])
def test_bodies_round_trip(content_type: str, chunks: list[bytes], field: str) -> None:
    encoded = encode_body(content_type, chunks)
    assert list(encoded) == [field]
    encoded = json.loads(json.dumps(encoded))  # through the file format
    replayed = b"".join(body_chunks(encoded))
    if field == "body" and content_type == "application/json" and chunks[0].startswith(b"{"):
        assert json.loads(replayed) == json.loads(b"".join(chunks))
    else:
        assert replayed == b"".join(chunks)


def test_a_character_split_across_stream_chunks_survives() -> None:
    text = "héllo".encode()
    encoded = encode_body("text/event-stream", [text[:2], text[2:]])
    assert b"".join(body_chunks(encoded)) == text


def test_save_scrubs_secrets_and_load_reads_it_back(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "abc.json"
    record = {"request": {"path": "/x"}, "response": {"status": 200, "body": "token sk-live-123456789"}}
    save_recording(path, record, {"sk-live-123456789", "short"})
    assert "sk-live" not in path.read_text()
    loaded = load_recording(path)
    assert loaded is not None and loaded["response"]["body"] == "token <redacted>"
    assert load_recording(tmp_path / "missing.json") is None


def test_recording_without_status_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"response": {}}')
    with pytest.raises(ValueError, match="bad.json"):
        load_recording(path)
