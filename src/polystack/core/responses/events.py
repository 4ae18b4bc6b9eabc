"""Builders of OpenAI's Responses stream events (names and fields as the SDK's `response_*_event.py` define them)."""

from __future__ import annotations

from typing import Any

from polystack.apis.events import StreamEvent
from polystack.apis.responses.items import Item
from polystack.apis.responses.types import ResponseObject


def response_event(name: str, response: ResponseObject) -> StreamEvent:
    """response.created / .in_progress / .completed / .incomplete / .failed: a snapshot of the response.

    A shallow copy with its own output list: the engine replaces items and fields, never changes one in place,
    so the snapshot stays as it was, and it is serialised only if someone sends it.
    """
    return StreamEvent(name, {"response": response.model_copy(update={"output": list(response.output)})})


def item_added(item: Item, output_index: int) -> StreamEvent:
    return StreamEvent("response.output_item.added", {"output_index": output_index, "item": item})


def item_done(item: Item, output_index: int) -> StreamEvent:
    return StreamEvent("response.output_item.done", {"output_index": output_index, "item": item})


def part_event(name: str, item_id: str, output_index: int, part: dict[str, Any], content_index: int = 0
               ) -> StreamEvent:
    """response.content_part.added / .done."""
    return StreamEvent(name, {"item_id": item_id, "output_index": output_index, "content_index": content_index,
                              "part": part})


def text_delta(item_id: str, output_index: int, delta: str, logprobs: list[dict[str, Any]],
               content_index: int = 0) -> StreamEvent:
    return StreamEvent("response.output_text.delta", {
        "item_id": item_id, "output_index": output_index, "content_index": content_index, "delta": delta,
        "logprobs": logprobs})


def text_done(item_id: str, output_index: int, text: str, logprobs: list[dict[str, Any]],
              content_index: int = 0) -> StreamEvent:
    return StreamEvent("response.output_text.done", {
        "item_id": item_id, "output_index": output_index, "content_index": content_index, "text": text,
        "logprobs": logprobs})


def annotation_added(item_id: str, output_index: int, index: int, annotation: dict[str, Any],
                     content_index: int = 0) -> StreamEvent:
    return StreamEvent("response.output_text.annotation.added", {
        "item_id": item_id, "output_index": output_index, "content_index": content_index, "annotation_index": index,
        "annotation": annotation})


def refusal_delta(item_id: str, output_index: int, delta: str, content_index: int) -> StreamEvent:
    return StreamEvent("response.refusal.delta", {
        "item_id": item_id, "output_index": output_index, "content_index": content_index, "delta": delta})


def refusal_done(item_id: str, output_index: int, refusal: str, content_index: int) -> StreamEvent:
    return StreamEvent("response.refusal.done", {
        "item_id": item_id, "output_index": output_index, "content_index": content_index, "refusal": refusal})


def reasoning_delta(item_id: str, output_index: int, delta: str) -> StreamEvent:
    return StreamEvent("response.reasoning_text.delta", {
        "item_id": item_id, "output_index": output_index, "content_index": 0, "delta": delta})


def reasoning_done(item_id: str, output_index: int, text: str) -> StreamEvent:
    return StreamEvent("response.reasoning_text.done", {
        "item_id": item_id, "output_index": output_index, "content_index": 0, "text": text})


def arguments_delta(item_id: str, output_index: int, delta: str) -> StreamEvent:
    return StreamEvent("response.function_call_arguments.delta",
                       {"item_id": item_id, "output_index": output_index, "delta": delta})


def arguments_done(item_id: str, output_index: int, arguments: str) -> StreamEvent:
    return StreamEvent("response.function_call_arguments.done",
                       {"item_id": item_id, "output_index": output_index, "arguments": arguments})


def call_progress(name: str, item_id: str, output_index: int) -> StreamEvent:
    """A server tool call's progress, e.g. response.file_search_call.searching."""
    return StreamEvent(name, {"item_id": item_id, "output_index": output_index})
