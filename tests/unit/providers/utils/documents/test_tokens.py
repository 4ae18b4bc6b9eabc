"""Offline cl100k_base token counting."""

import socket

import pytest

from polystack.providers.utils.documents import tokens
from polystack.providers.utils.documents.tokens import count_tokens, decode, encode, token_bytes


def test_hello_world_is_two_cl100k_tokens() -> None:
    assert count_tokens("hello world") == 2
    assert encode("hello world") == [15339, 1917]


def test_known_cl100k_ids_round_trip() -> None:
    assert encode("tiktoken is great!") == [83, 1609, 5963, 374, 2294, 0]
    assert decode([83, 1609, 5963, 374, 2294, 0]) == "tiktoken is great!"


def test_unicode_round_trips_and_token_bytes_rebuild_the_utf8() -> None:
    text = "naïve café 日本語 🎉 done"
    ids = encode(text)
    assert decode(ids) == text
    assert b"".join(token_bytes(ids)) == text.encode()


def test_special_token_markers_in_documents_are_ordinary_text() -> None:
    ids = encode("before <|endoftext|> after")
    assert 100257 not in ids
    assert decode(ids) == "before <|endoftext|> after"


def test_empty_text_has_no_tokens() -> None:
    assert count_tokens("") == 0


def test_encoding_loads_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    tokens._tables.cache_clear()
    assert count_tokens("offline please") == 2
    assert tokens.encoding() is tokens.encoding()
