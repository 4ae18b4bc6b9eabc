"""The escaping that lets PostgreSQL hold U+0000: exact round trips, and nothing jsonb or text refuses."""

import json

import pytest

from polystack.core.storage.sql import nul_escape

TEXTS = ["", "plain", "a\x00b", "\x00\x00", "\x01", "\x01\x01", "\x01\x02", "\x00\x01\x02", "\\u0000", "\\u0001",
         "\\\x00", "\\\\u0000", "é\x00ü", "\x02", "a"]


@pytest.mark.parametrize("text", TEXTS)
def test_text_round_trips_and_holds_no_nul(text):
    escaped = nul_escape.escape_text(text)
    assert "\x00" not in escaped and nul_escape.unescape_text(escaped) == text


@pytest.mark.parametrize("text", TEXTS)
def test_json_round_trips_and_holds_no_nul_escape(text):
    value = {text: [text, {"k": text}], "n": 1.5, "none": None}
    serialized = nul_escape.dumps(value)
    assert "\\u0000" not in serialized.replace("\\\\", "")  # what jsonb refuses
    assert nul_escape.loads(serialized) == value


def test_escaping_keeps_the_order_of_strings():
    assert sorted(TEXTS) == sorted(TEXTS, key=nul_escape.escape_text)


def test_equal_values_escape_equally_and_different_ones_differently():
    escaped = {nul_escape.escape_text(text) for text in TEXTS}
    assert len(escaped) == len(TEXTS)
    assert json.loads(nul_escape.dumps("a\x00b")) == nul_escape.escape_text("a\x00b")
