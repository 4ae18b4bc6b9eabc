"""Writes made in one event-loop turn leave in one socket write; close and abort behave as unwrapped."""

import asyncio

from polystack.core.server.coalescing import CoalescingTransport


class RecordingTransport(asyncio.Transport):
    """A transport that records what reaches the socket (a fake: the point is to count writes)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data):
        self.writes.append(bytes(data))

    def close(self):
        self.closed = True

    def abort(self):
        self.aborted = True

    def is_closing(self):
        return self.closed or self.aborted

    def get_write_buffer_size(self):
        return 0


async def next_turn() -> None:
    await asyncio.sleep(0)
    await asyncio.sleep(0)


async def test_a_head_and_its_body_written_in_one_turn_leave_in_one_write():
    inner = RecordingTransport()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(b"")
    transport.writelines([b"data: 1\n\n", bytearray(b"data: 2\n\n")])
    assert inner.writes == []  # not before the turn ends
    await next_turn()
    assert inner.writes == [b"HTTP/1.1 200 OK\r\n\r\ndata: 1\n\ndata: 2\n\n"]
    transport.write(b"data: 3\n\n")  # a later turn: a write of its own
    await next_turn()
    assert inner.writes[1:] == [b"data: 3\n\n"] and transport.get_write_buffer_size() == 0


async def test_closing_flushes_what_is_pending_and_aborting_drops_it():
    inner = RecordingTransport()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())
    transport.write(b"last words")
    transport.close()
    assert inner.writes == [b"last words"] and inner.closed and transport.is_closing()
    await next_turn()
    assert inner.writes == [b"last words"]  # the scheduled flush finds nothing left

    inner = RecordingTransport()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())
    transport.write(b"never sent")
    transport.abort()
    await next_turn()
    assert inner.writes == [] and inner.aborted
