"""The in-process WebSocket client speaks the ASGI websocket protocol to the app, both directions and closes."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from polystack.core.asgi_websocket import WebSocketClosed, WebSocketRejected, connect_websocket


def app_with(received: list[object]) -> FastAPI:
    app = FastAPI()

    @app.websocket("/echo")
    async def echo(socket: WebSocket) -> None:
        await socket.accept(subprotocol=(socket.scope["subprotocols"] or [None])[0])
        received.append(("query", socket.query_params.get("q"), socket.headers.get("x-test")))
        try:
            while True:
                message = await socket.receive()
                if message["type"] == "websocket.disconnect":
                    received.append(("disconnect", message["code"]))
                    return
                if message.get("bytes") is not None:
                    await socket.send_bytes(message["bytes"][::-1])
                elif message["text"] == "fail":
                    raise RuntimeError("handler failed")
                elif message["text"] == "close":
                    await socket.close(code=4001, reason="asked")
                    return
                else:
                    await socket.send_text(message["text"].upper())
        except WebSocketDisconnect:
            received.append(("disconnect", None))

    @app.websocket("/refuse")
    async def refuse(socket: WebSocket) -> None:
        await socket.close(code=4403, reason="not allowed")

    return app


async def test_text_and_bytes_round_trip_and_the_handshake_carries_query_headers_and_subprotocol():
    received: list[object] = []
    async with connect_websocket(app_with(received), "/echo?q=1", headers={"X-Test": "yes"},
                                 subprotocols=["events.v1"]) as socket:
        assert socket.subprotocol == "events.v1"
        await socket.send("hi")
        assert await socket.recv() == "HI"
        await socket.send(b"abc")
        assert await socket.recv() == b"cba"
    await asyncio.sleep(0)
    assert received == [("query", "1", "yes"), ("disconnect", 1000)]  # the app saw the client close


async def test_an_app_close_reaches_the_client_with_its_code():
    async with connect_websocket(app_with([]), "/echo") as socket:
        await socket.send("close")
        with pytest.raises(WebSocketClosed) as closed:
            await socket.recv()
        assert (closed.value.code, closed.value.reason) == (4001, "asked")
        with pytest.raises(WebSocketClosed):
            await socket.send("after close")


async def test_a_refused_handshake_raises_with_the_apps_close_code():
    with pytest.raises(WebSocketRejected) as refused:
        async with connect_websocket(app_with([]), "/refuse"):
            pass
    assert refused.value.code == 4403


async def test_a_failing_handler_surfaces_as_an_error_not_a_hang():
    async with connect_websocket(app_with([]), "/echo") as socket:
        await socket.send("fail")
        with pytest.raises(RuntimeError):
            await asyncio.wait_for(socket.recv(), 2)
