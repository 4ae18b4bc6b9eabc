"""One inference call of a response: its streamed chunks as output items and events (text and tool calls)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from polystack.apis.events import StreamEvent
from polystack.apis.inference.results import (
    ChatCompletion,
    ChatCompletionChunk,
    ChoiceDeltaFunction,
    ChoiceDeltaToolCall,
)
from polystack.apis.responses.items import FileCitation, FunctionCall, Item, Message, OutputText, new_item_id
from polystack.core.responses import events

EMPTY_PART = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}


@dataclass
class PendingCall:
    """A tool call being streamed; `item_id` is set once it is shown to the client as a function_call item."""

    call_id: str
    name: str = ""
    arguments: str = ""
    item_id: str | None = None
    output_index: int = -1
    unsent: str = ""  # argument text received before the name said whether the client sees this call


@dataclass
class Turn:
    """The text and tool calls of one streamed chat completion, turned into Responses events as they arrive.

    `add_item(item) -> output_index` puts an item in the response's output; `client_call(name)` says whether a
    call goes to the client (a function tool) rather than to a server tool.
    """

    add_item: Callable[[Item], int]
    replace_item: Callable[[int, Item], None]
    client_call: Callable[[str], bool]
    text: str = ""
    message_id: str | None = None
    message_index: int = -1
    logprobs: list[dict[str, Any]] = field(default_factory=list)
    calls: dict[int, PendingCall] = field(default_factory=dict)
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def feed(self, chunk: ChatCompletionChunk) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        if chunk.usage is not None:
            self.prompt_tokens += chunk.usage.prompt_tokens
            self.completion_tokens += chunk.usage.completion_tokens
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            delta = choice.delta
            if delta.content:
                out += self._text(delta.content, _logprobs(getattr(choice, "logprobs", None)))
            for piece in delta.tool_calls or []:
                out += self._call(piece)
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason
        return out

    def feed_completion(self, completion: ChatCompletion) -> list[StreamEvent]:
        """A whole (non-streamed) completion: the same events, its text as one delta."""
        out: list[StreamEvent] = []
        if completion.usage is not None:
            self.prompt_tokens += completion.usage.prompt_tokens
            self.completion_tokens += completion.usage.completion_tokens
        if not completion.choices:
            return out
        choice = completion.choices[0]
        if choice.message.content:
            out += self._text(choice.message.content, _logprobs(choice.logprobs))
        for index, call in enumerate(choice.message.tool_calls or []):
            out += self._call(ChoiceDeltaToolCall(index=index, id=call.id, function=ChoiceDeltaFunction(
                name=call.function.name, arguments=call.function.arguments)))
        self.finish_reason = choice.finish_reason
        return out

    def _text(self, delta: str, logprobs: list[dict[str, Any]]) -> list[StreamEvent]:
        out = []
        if self.message_id is None:
            self.message_id = new_item_id("message")
            self.message_index = self.add_item(
                Message(id=self.message_id, role="assistant", content=[], status="in_progress"))
            out.append(events.item_added(Message(id=self.message_id, role="assistant", content=[],
                                                 status="in_progress"), self.message_index))
            out.append(events.part_event("response.content_part.added", self.message_id, self.message_index,
                                         EMPTY_PART))
        self.text += delta
        self.logprobs += logprobs
        out.append(events.text_delta(self.message_id, self.message_index, delta, logprobs))
        return out

    def _call(self, piece: Any) -> list[StreamEvent]:
        call = self.calls.get(piece.index)
        if call is None:
            call = self.calls[piece.index] = PendingCall(call_id=piece.id or f"call_{uuid.uuid4().hex[:24]}")
        function = piece.function
        if function is not None and function.name:
            call.name += function.name
        arguments = function.arguments if function is not None and function.arguments else ""
        call.arguments += arguments
        if not call.name:
            call.unsent += arguments
            return []
        if not self.client_call(call.name):
            return []
        out = []
        if call.item_id is None:
            call.item_id = new_item_id("function_call")
            item = FunctionCall(id=call.item_id, call_id=call.call_id, name=call.name, arguments="",
                                status="in_progress")
            call.output_index = self.add_item(item)
            out.append(events.item_added(item, call.output_index))
            arguments, call.unsent = call.unsent + arguments, ""
        if arguments:
            out.append(events.arguments_delta(call.item_id, call.output_index, arguments))
        return out

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"

    def finish(self, annotations: list[FileCitation]) -> list[StreamEvent]:
        """The done events of the message and of the client's calls; `annotations` go on the message."""
        out: list[StreamEvent] = []
        if self.message_id is not None:
            index, item_id = self.message_index, self.message_id
            for n, annotation in enumerate(annotations):
                out.append(events.annotation_added(item_id, index, n, annotation.model_dump(mode="json")))
            part = OutputText(text=self.text, annotations=annotations, logprobs=self.logprobs)  # type: ignore[arg-type]
            out.append(events.text_done(item_id, index, self.text, self.logprobs))
            out.append(events.part_event("response.content_part.done", item_id, index, part.model_dump(mode="json")))
            message = Message(id=item_id, role="assistant", content=[part],
                              status="incomplete" if self.truncated else "completed")
            self.replace_item(index, message)
            out.append(events.item_done(message, index))
        for call in self.calls.values():
            if call.item_id is None:
                continue
            if call.unsent:
                out.append(events.arguments_delta(call.item_id, call.output_index, call.unsent))
            out.append(events.arguments_done(call.item_id, call.output_index, call.arguments))
            item = FunctionCall(id=call.item_id, call_id=call.call_id, name=call.name, arguments=call.arguments,
                                status="completed")
            self.replace_item(call.output_index, item)
            out.append(events.item_done(item, call.output_index))
        return out

    def assistant_message(self) -> dict[str, Any]:
        """The chat message this turn adds to the context."""
        message: dict[str, Any] = {"role": "assistant", "content": self.text or None}
        if self.calls:
            message["tool_calls"] = [
                {"id": c.call_id, "type": "function", "function": {"name": c.name, "arguments": c.arguments or "{}"}}
                for c in self.calls.values()]
        elif message["content"] is None:
            message["content"] = ""
        return message


def _logprobs(raw: Any) -> list[dict[str, Any]]:
    content = getattr(raw, "content", None) if raw is not None else None
    if not content:
        return []
    return [{
        "token": t.token, "logprob": t.logprob, "bytes": t.bytes if t.bytes is not None else list(t.token.encode()),
        "top_logprobs": [{"token": top.token, "logprob": top.logprob,
                          "bytes": top.bytes if top.bytes is not None else list(top.token.encode())}
                         for top in t.top_logprobs],
    } for t in content]
