"""The one SSE writer: chat completions' `data:` lines and named, numbered events, with their errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from polystack.apis.errors import InvalidRequestError
from polystack.apis.events import StreamEvent
from polystack.apis.http import end_open_streams, respond


async def body(result: object, **kwargs: bool) -> bytes:
    response = await respond(result, **kwargs)
    return b"".join([chunk async for chunk in response.body_iterator])


async def chunks(*items: object, error: Exception | None = None) -> AsyncIterator[object]:
    for item in items:
        yield item
    if error is not None:
        raise error


async def test_plain_chunks_are_data_lines_ending_with_done():
    assert await body(chunks({"id": "a"}, {"id": "b"})) == b'data: {"id":"a"}\n\ndata: {"id":"b"}\n\ndata: [DONE]\n\n'
    assert await body(chunks({"id": "a"}), done_marker=False) == b'data: {"id":"a"}\n\n'


async def test_a_late_error_in_data_lines_is_an_error_body_and_no_done():
    sent = await body(chunks({"id": "a"}, error=InvalidRequestError("bad", param="x")))
    assert sent == (b'data: {"id":"a"}\n\n'
                    b'data: {"error":{"message":"bad","type":"invalid_request_error","param":"x","code":null}}\n\n')


async def test_stream_events_are_named_and_numbered_in_the_order_sent():
    sent = await body(chunks(StreamEvent("response.created", {"id": "r"}), StreamEvent("response.completed")))
    assert sent == (b'event: response.created\ndata: {"type":"response.created","id":"r","sequence_number":0}\n\n'
                    b'event: response.completed\ndata: {"type":"response.completed","sequence_number":1}\n\n')


async def test_replayed_events_keep_their_numbers_and_live_ones_continue_after_them():
    sent = await body(chunks(StreamEvent("a", {}, 7), StreamEvent("b"), error=InvalidRequestError("bad")))
    assert sent.count(b"event: ") == 3
    assert b'"sequence_number":7' in sent and b'"type":"b","sequence_number":8' in sent
    assert sent.endswith(b'event: error\ndata: {"type":"error","code":"invalid_request_error","message":"bad",'
                         b'"param":null,"sequence_number":9}\n\n')


async def test_an_unexpected_failure_is_a_generic_error_event_without_its_details():
    sent = await body(chunks(StreamEvent("a"), error=RuntimeError("password=hunter2")))
    assert b"hunter2" not in sent and b'"message":"internal error while streaming"' in sent
    assert b'"sequence_number":1' in sent.split(b"event: error")[1]


async def test_a_graceful_shutdown_ends_a_waiting_named_stream_with_a_numbered_503_event():
    release = asyncio.Event()

    async def slow() -> AsyncIterator[StreamEvent]:
        yield StreamEvent("first")
        await release.wait()
        yield StreamEvent("never")

    response = await respond(slow())
    sent: list[bytes] = []

    async def consume() -> None:  # one task per stream, as a server runs it
        async for chunk in response.body_iterator:
            sent.append(chunk)

    consumer = asyncio.create_task(consume())
    while not sent:
        await asyncio.sleep(0.01)
    assert end_open_streams() >= 1
    await asyncio.wait_for(consumer, 1)
    assert sent[0].startswith(b"event: first") and len(sent) == 2
    assert sent[1].startswith(b"event: error") and b'"code":"service_unavailable"' in sent[1]
    assert b'"sequence_number":1' in sent[1]
