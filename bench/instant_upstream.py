"""A minimal OpenAI-compatible upstream that answers instantly: the baseline for proxy benchmarks.

A fake backend on purpose (named as such): fixed bodies, 20 SSE chunks when streaming.
Run: python bench/instant_upstream.py --port 9100
"""

from __future__ import annotations

import argparse
import json
import time
import uuid

import uvicorn

MODEL = "instant-model"


def _completion() -> bytes:
    return json.dumps({
        "id": "chatcmpl-instant", "object": "chat.completion", "created": int(time.time()), "model": MODEL,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "Hello from the instant upstream."}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
    }).encode()


def _chunk(index: int, last: bool) -> bytes:
    delta = {} if last else ({"role": "assistant", "content": "tok "} if index == 0 else {"content": "tok "})
    body = {"id": "chatcmpl-instant", "object": "chat.completion.chunk", "created": 0, "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "finish_reason": "stop" if last else None}]}
    return b"data: " + json.dumps(body).encode() + b"\n\n"


COMPLETION = _completion()
MODELS = json.dumps({"object": "list", "data": [{"id": MODEL, "object": "model", "created": 0,
                                                  "owned_by": "bench"}]}).encode()
CHUNKS = [_chunk(i, i == 19) for i in range(20)] + [b"data: [DONE]\n\n"]


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    body = await read_body(receive)
    if scope["path"].endswith("/models"):
        await _send(send, MODELS, b"application/json")
    elif b'"stream":true' in body.replace(b" ", b""):
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        stream_id = b"chatcmpl-" + uuid.uuid4().hex.encode()  # one id per stream, as real servers give
        for chunk in CHUNKS:
            await send({"type": "http.response.body", "body": chunk.replace(b"chatcmpl-instant", stream_id),
                        "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    else:  # a fresh id each time, as real servers give (stored completions are keyed by it)
        await _send(send, COMPLETION.replace(b"chatcmpl-instant", b"chatcmpl-" + uuid.uuid4().hex.encode()),
                    b"application/json")


async def read_body(receive) -> bytes:  # type: ignore[no-untyped-def]
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body


async def _send(send, payload: bytes, content_type: bytes) -> None:  # type: ignore[no-untyped-def]
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=9100)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, loop="uvloop", http="httptools", log_level="warning",
                access_log=False)
