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
from polystack.apis.responses.items import (
    FileCitation,
    FunctionCall,
    Item,
    Message,
    OutputText,
    Reasoning,
    ReasoningText,
    Refusal,
    new_item_id,
)
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
class _Part:
    """One content part of the answer being streamed: its text (output_text) or refusal."""

    kind: str  # "output_text" | "refusal"
    text: str = ""
    logprobs: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Turn:
    """The reasoning, text and tool calls of one chat completion, turned into Responses events as they arrive.

    `add_item(item) -> output_index` puts an item in the response's output, `replace_item` puts its final
    version there; `client_call(name)` says whether a call goes to the client (a function tool) rather than to
    a server tool. The answer's parts (text, refusal) belong to one message item, opened by the first of them.
    """

    add_item: Callable[[Item], int]
    replace_item: Callable[[int, Item], None]
    client_call: Callable[[str], bool]
    message_id: str | None = None
    message_index: int = -1
    parts: list[_Part] = field(default_factory=list)
    reasoning_id: str | None = None
    reasoning_index: int = -1
    reasoning: str = ""
    calls: dict[int, PendingCall] = field(default_factory=dict)
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0

    def _count(self, usage: Any) -> None:
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        prompt, completion = usage.prompt_tokens_details, usage.completion_tokens_details
        self.cached_tokens += (prompt.cached_tokens or 0) if prompt is not None else 0
        self.reasoning_tokens += (completion.reasoning_tokens or 0) if completion is not None else 0

    @property
    def text(self) -> str:
        return "".join(part.text for part in self.parts if part.kind == "output_text")

    def feed(self, chunk: ChatCompletionChunk) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        if chunk.usage is not None:
            self._count(chunk.usage)
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            delta = choice.delta
            thought = _reasoning_of(delta)
            if thought:
                out += self._reasoning(thought)
            if delta.content:
                out += self._part("output_text", delta.content, _logprobs(choice.logprobs))
            if delta.refusal:
                out += self._part("refusal", delta.refusal, [])
            for piece in delta.tool_calls or []:
                out += self._call(piece)
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason
        return out

    def feed_completion(self, completion: ChatCompletion) -> list[StreamEvent]:
        """A whole (non-streamed) completion: the same events, each text as one delta."""
        out: list[StreamEvent] = []
        if completion.usage is not None:
            self._count(completion.usage)
        if not completion.choices:
            return out
        choice = completion.choices[0]
        message = choice.message
        thought = _reasoning_of(message)
        if thought:
            out += self._reasoning(thought)
        if message.content:
            out += self._part("output_text", message.content, _logprobs(choice.logprobs))
        if message.refusal:
            out += self._part("refusal", message.refusal, [])
        for index, call in enumerate(message.tool_calls or []):
            out += self._call(ChoiceDeltaToolCall(index=index, id=call.id, function=ChoiceDeltaFunction(
                name=call.function.name, arguments=call.function.arguments)))
        self.finish_reason = choice.finish_reason
        return out

    # ---- reasoning ----------------------------------------------------------------------------

    def _reasoning(self, delta: str) -> list[StreamEvent]:
        out = []
        if self.reasoning_id is None:
            self.reasoning_id = new_item_id("reasoning")
            item = Reasoning(id=self.reasoning_id, summary=[], content=[], status="in_progress")
            self.reasoning_index = self.add_item(item)
            out.append(events.item_added(item, self.reasoning_index))
            out.append(events.part_event("response.content_part.added", self.reasoning_id, self.reasoning_index,
                                         {"type": "reasoning_text", "text": ""}))
        self.reasoning += delta
        out.append(events.reasoning_delta(self.reasoning_id, self.reasoning_index, delta))
        return out

    def _close_reasoning(self) -> list[StreamEvent]:
        """The reasoning's done events, once the answer or a call starts (or the turn ends)."""
        if self.reasoning_id is None or self.reasoning_index < 0:
            return []
        item_id, index, text = self.reasoning_id, self.reasoning_index, self.reasoning
        self.reasoning_index = -1  # closed
        item = Reasoning(id=item_id, summary=[], content=[ReasoningText(text=text)], status="completed")
        self.replace_item(index, item)
        return [events.reasoning_done(item_id, index, text),
                events.part_event("response.content_part.done", item_id, index,
                                  {"type": "reasoning_text", "text": text}),
                events.item_done(item, index)]

    # ---- the answer ---------------------------------------------------------------------------

    def _part(self, kind: str, delta: str, logprobs: list[dict[str, Any]]) -> list[StreamEvent]:
        out = self._close_reasoning()
        if self.message_id is None:
            self.message_id = new_item_id("message")
            item = Message(id=self.message_id, role="assistant", content=[], status="in_progress")
            self.message_index = self.add_item(item)
            out.append(events.item_added(item, self.message_index))
        if not self.parts or self.parts[-1].kind != kind:
            if self.parts:
                out += self._close_part(len(self.parts) - 1, [])
            self.parts.append(_Part(kind))
            empty = EMPTY_PART if kind == "output_text" else {"type": "refusal", "refusal": ""}
            out.append(events.part_event("response.content_part.added", self.message_id, self.message_index,
                                         empty, len(self.parts) - 1))
        part = self.parts[-1]
        part.text += delta
        part.logprobs += logprobs
        index = len(self.parts) - 1
        if kind == "output_text":
            out.append(events.text_delta(self.message_id, self.message_index, delta, logprobs, index))
        else:
            out.append(events.refusal_delta(self.message_id, self.message_index, delta, index))
        return out

    def _final_part(self, number: int, annotations: list[FileCitation]) -> OutputText | Refusal:
        part = self.parts[number]
        if part.kind == "refusal":
            return Refusal(refusal=part.text)
        return OutputText(text=part.text, annotations=annotations, logprobs=part.logprobs)  # type: ignore[arg-type]

    def _close_part(self, number: int, annotations: list[FileCitation]) -> list[StreamEvent]:
        assert self.message_id is not None
        item_id, index, part = self.message_id, self.message_index, self.parts[number]
        out = []
        if part.kind == "refusal":
            out.append(events.refusal_done(item_id, index, part.text, number))
        else:
            for n, annotation in enumerate(annotations):
                out.append(events.annotation_added(item_id, index, n, annotation.model_dump(mode="json"), number))
            out.append(events.text_done(item_id, index, part.text, part.logprobs, number))
        final = self._final_part(number, annotations)
        out.append(events.part_event("response.content_part.done", item_id, index, final.model_dump(mode="json"),
                                     number))
        return out

    # ---- tool calls ---------------------------------------------------------------------------

    def _call(self, piece: Any) -> list[StreamEvent]:
        out = self._close_reasoning()
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
            return out
        if not self.client_call(call.name):
            return out
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

    # ---- the end ------------------------------------------------------------------------------

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"

    def finish(self, annotations: list[FileCitation], *, interrupted: bool = False) -> list[StreamEvent]:
        """The done events of the reasoning, the message and the client's calls; `annotations` go on the text.

        `interrupted`: the call failed midway; its message keeps what came, as incomplete."""
        if interrupted:
            self.finish_reason = "length"  # ends the message as incomplete
        out = self._close_reasoning()
        if self.message_id is not None:
            last = len(self.parts) - 1
            cited = annotations if self.parts[last].kind == "output_text" else []
            out += self._close_part(last, cited)
            content = [self._final_part(n, cited if n == last else []) for n in range(len(self.parts))]
            message = Message(id=self.message_id, role="assistant", content=content,  # type: ignore[arg-type]
                              status="incomplete" if self.truncated else "completed")
            self.replace_item(self.message_index, message)
            out.append(events.item_done(message, self.message_index))
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
            refusal = "".join(part.text for part in self.parts if part.kind == "refusal")
            message["content"] = refusal
        return message


def _reasoning_of(delta: Any) -> str:
    """A model's reasoning text, where OpenAI-compatible servers put it (vLLM, DeepSeek, Ollama...)."""
    extra = getattr(delta, "model_extra", None) or {}
    value = extra.get("reasoning_content") or extra.get("reasoning")
    return value if isinstance(value, str) else ""


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
