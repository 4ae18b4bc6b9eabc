"""The byte-level SSE decoder: events come out the same however the network cuts the stream."""

from __future__ import annotations

import pytest

from polystack.providers.utils.sse import SSEDecoder

STREAM = (b": a comment\n"
          b"event: message\ndata: {\"a\": 1}\n\n"
          b"data:{\"b\": 2}\r\n\r\n"
          b"data: line one\rdata: line two\r\r"
          b"id: 7\ndata: [DONE]\n\n")
EVENTS = [b'{"a": 1}', b'{"b": 2}', b"line one\nline two", b"[DONE]"]


def decode(pieces: list[bytes]) -> list[bytes]:
    decoder = SSEDecoder()
    events = [data for piece in pieces for data in decoder.feed(piece)]
    return events + list(decoder.close())


def test_a_whole_stream_gives_each_events_data() -> None:
    assert decode([STREAM]) == EVENTS


@pytest.mark.parametrize("cut", range(1, len(STREAM)))
def test_a_stream_cut_anywhere_gives_the_same_events(cut: int) -> None:
    assert decode([STREAM[:cut], STREAM[cut:]]) == EVENTS


def test_a_stream_fed_byte_by_byte_gives_the_same_events() -> None:
    assert decode([STREAM[i:i + 1] for i in range(len(STREAM))]) == EVENTS


def test_a_crlf_split_between_pieces_is_one_line_end() -> None:
    assert decode([b"data: x\r", b"\ndata: y\r\n\r\n"]) == [b"x\ny"]


def test_the_last_event_counts_without_a_final_blank_line() -> None:
    assert decode([b"data: {}\n\ndata: last"]) == [b"{}", b"last"]
