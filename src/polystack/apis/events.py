"""A named stream event (OpenAI Responses style) and its SSE framing: `event: <name>` + `data: {...}`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from pydantic import BaseModel

from polystack.apis.errors import PolystackError


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One event of a named-event stream: `name` is its `type`, `data` the rest of its payload.

    `sequence_number` is None until the event is numbered: the event log numbers what it stores, and the
    SSE writer numbers live events in the order it sends them. On the wire `type` and `sequence_number`
    sit inside the data, as in OpenAI's `ResponseStreamEvent`s:

        event: response.output_text.delta
        data: {"type":"response.output_text.delta","delta":"Hi","sequence_number":7}
    """

    name: str
    data: dict[str, Any] | BaseModel = field(default_factory=dict)
    sequence_number: int | None = None

    def numbered(self, sequence_number: int) -> StreamEvent:
        return replace(self, sequence_number=sequence_number)

    def payload(self) -> dict[str, Any]:
        """The JSON object sent as `data`: type first, the data's fields, sequence_number last."""
        data = self.data.model_dump(mode="json") if isinstance(self.data, BaseModel) else self.data
        payload = {"type": self.name, **data}
        payload["type"] = self.name  # the event's name wins over a stray "type" in its data
        payload["sequence_number"] = self.sequence_number
        return payload

    def to_sse(self) -> bytes:
        return b"event: " + self.name.encode() + b"\ndata: " + orjson.dumps(self.payload(), default=_model) + b"\n\n"


def _model(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def error_event(error: PolystackError) -> StreamEvent:
    """OpenAI's streamed `error` event: the error body's fields, flat (a stream that already started)."""
    body = error.to_body()["error"]
    return StreamEvent("error", {"code": body["code"] or body["type"], "message": body["message"],
                                 "param": body["param"]})
