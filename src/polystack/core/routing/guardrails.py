"""Guardrails on chat completions: an inference hook running input and output shields around the model.

- Which shields: `safety.guardrails` (input/output shields for every model, and per model id) plus those a
  request names in `guardrails` (extra_body; a list of shield ids, run on input and output).
- Input: the request's messages are judged before the model is called; a violation answers a chat
  completion whose message has `refusal` set (content null, finish_reason "content_filter"), streamed or
  not, and the model is never called.
- Output, streamed: answer text is held back and judged every `safety.output_check_chars` characters and at
  the choice's end (the answer so far, after the conversation); text is released only once judged, so an
  unsafe passage never reaches the caller. A violation ends the stream cleanly with a final chunk carrying
  the refusal and finish_reason "content_filter"; text already sent is not repeated. Tool-call deltas pass
  unjudged. Output, not streamed: each choice's text is judged and replaced by the refusal on a violation.
- Where the verdicts go: the call's metadata key `guardrails` (a JSON string: {"input": {shield: verdict},
  "output": {...}}), which the stored chat completion keeps (GET /v1/chat/completions/{id} shows it).
- A guard that cannot judge fails the call with 502 naming the shield, unless `safety.fail_open`.
- The guards' own inference calls (llama-guard on a served model) are never judged (see routing/safety.py),
  and run through the hooks after this one only (routing/hooks.py).
- An engine that guards its own calls (Responses) names the shields it runs in `shields_handled(...)`; its
  chat calls are then not judged again by those shields here. It shares `configured_shields` and
  `OutputBatches` (the batching of streamed text) with this hook.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from polystack.apis.errors import InvalidRequestError
from polystack.apis.inference.results import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChoiceDelta,
    ChunkChoice,
    CompletionUsage,
)
from polystack.apis.inference.results import Choice as CompletionChoice
from polystack.apis.inference.types import ChatCompletionRequest
from polystack.apis.safety.types import SafetyViolation
from polystack.core.config import SafetyConfig
from polystack.core.routing.hooks import HookAnswer, HookBase, InferenceCall, StopStream
from polystack.core.routing.safety import SafetyRouter, ShieldVerdict, judging

M = TypeVar("M", bound=BaseModel)

REQUEST_FIELD = "guardrails"
METADATA_KEY = "guardrails"
MAX_METADATA_CHARS = 512  # OpenAI's limit on a metadata value

# Shields a caller (the Responses engine) runs itself around the chat calls it makes: not run again here.
_handled: ContextVar[frozenset[str]] = ContextVar("guardrails_handled", default=frozenset())


@contextmanager
def shields_handled(shield_ids: Collection[str]) -> Iterator[None]:
    """Inference calls made inside are not judged by these shields (their caller judges input and output)."""
    token = _handled.set(_handled.get() | frozenset(shield_ids))
    try:
        yield
    finally:
        _handled.reset(token)


def configured_shields(config: SafetyConfig, model_names: Collection[str], requested: list[str]
                       ) -> tuple[list[str], list[str]]:
    """(input shields, output shields) for a call to the model known by `model_names`: the server's, the
    model's and the request's own, each once."""
    guardrails = config.guardrails
    inputs, outputs = list(guardrails.input_shields), list(guardrails.output_shields)
    for name in dict.fromkeys(model_names):
        per_model = guardrails.models.get(name)
        if per_model is not None:
            inputs += per_model.input_shields
            outputs += per_model.output_shields
    return list(dict.fromkeys(inputs + requested)), list(dict.fromkeys(outputs + requested))


Judge = Callable[[int, str], Awaitable[SafetyViolation | None]]


class OutputBatches:
    """Streamed answer text held back and judged every `every` characters and at its end, per choice index.

    `judge(index, text)` gets all the text of that choice so far (what was released and the new batch), so a
    shield reads a passage in its context; text is released only once judged."""

    def __init__(self, every: int, judge: Judge) -> None:
        self.every = every
        self.judge = judge
        self.pending: dict[int, str] = {}  # choice index -> text held back, not yet judged
        self.released: dict[int, str] = {}  # choice index -> text judged and sent

    async def add(self, index: int, text: str, *, ending: bool) -> tuple[str, SafetyViolation | None]:
        """(the text now safe to send, maybe empty; the violation that stops the answer, if any)."""
        held = self.pending.get(index, "") + text
        self.pending[index] = held
        if not held or not (ending or len(held) >= self.every):
            return "", None
        violation = await self.judge(index, self.released.get(index, "") + held)
        if violation is not None:
            return "", violation
        self.released[index] = self.released.get(index, "") + held
        self.pending[index] = ""
        return held, None


@dataclass
class _Guarded:
    """What one guarded call keeps between the hook's steps."""

    outputs: list[str]
    conversation: list[dict[str, Any]]
    trusted: set[str]  # named by the run config: no access check on the caller
    verdicts: dict[str, dict[str, str]] = field(default_factory=dict)
    batches: OutputBatches | None = None


class GuardrailsHook(HookBase):
    """The guardrails of the module docstring; added to the inference router when the safety API is served."""

    def __init__(self, safety: SafetyRouter, config: SafetyConfig) -> None:
        self.safety = safety
        self.config = config

    # ---- which shields -------------------------------------------------------------------------

    def configured(self, call: InferenceCall) -> set[str]:
        """The shields the run config names for this call's model (used whoever the caller is)."""
        inputs, outputs = self.shields_for(call, [])
        return {*inputs, *outputs}

    def shields_for(self, call: InferenceCall, requested: list[str]) -> tuple[list[str], list[str]]:
        inputs, outputs = configured_shields(self.config, (call.model.identifier, call.request.model), requested)
        handled = _handled.get()
        if handled:
            inputs, outputs = [s for s in inputs if s not in handled], [s for s in outputs if s not in handled]
        return inputs, outputs

    # ---- the hook's steps ----------------------------------------------------------------------

    async def before(self, call: InferenceCall) -> BaseModel | None:
        if judging():  # a guard's own call
            return None
        extra = call.request.model_extra or {}
        named = REQUEST_FIELD in extra
        requested = requested_shields(extra.get(REQUEST_FIELD))
        if call.kind != "chat_completion":
            return _without_field(call.request) if named else None
        inputs, outputs = self.shields_for(call, requested)
        if not inputs and not outputs:  # the common case: nothing copied, nothing checked
            return _without_field(call.request) if named else None
        trusted = self.configured(call)
        for shield_id in outputs:  # an unknown shield is a 404 before the model is called
            await self.safety.shield_named(shield_id, trusted=shield_id in trusted)
        request: ChatCompletionRequest = _without_field(call.request)
        request.metadata = dict(request.metadata or {})  # ours to add the verdicts to
        conversation = [message.model_dump(mode="json", exclude_none=True) for message in request.messages]
        state = _Guarded(outputs, conversation, trusted)
        state.batches = OutputBatches(self.config.output_check_chars,
                                      lambda index, text: self._judge_output(call, state, index, text))
        call.data["guardrails"] = state
        call.request = request
        if inputs:
            verdicts = await self.safety.check(inputs, conversation, trusted=trusted)
            violation = _note(state, request, "input", verdicts)
            if violation is not None:
                raise HookAnswer(_refused(call, violation, stream=bool(request.stream)))
        return request

    def watches_chunks(self, call: InferenceCall) -> bool:
        """Only a stream with output shields: otherwise the chain skips this hook for every chunk."""
        state: _Guarded | None = call.data.get("guardrails")
        return state is not None and bool(state.outputs) and state.batches is not None

    async def on_chunk(self, call: InferenceCall, chunk: Any) -> Any | None:
        state: _Guarded | None = call.data.get("guardrails")
        if state is None or not state.outputs or state.batches is None or not chunk.choices:
            return chunk
        for choice in chunk.choices:
            delta = choice.delta
            text, delta.content = delta.content or "", None
            ending = choice.finish_reason is not None or bool(delta.tool_calls)
            released, violation = await state.batches.add(choice.index, text, ending=ending)
            if violation is not None:
                raise StopStream(_refusal_chunk(chunk, choice.index, refusal_text(violation)))
            if released:
                delta.content = released
        if chunk.usage is None and not any(_says_something(choice) for choice in chunk.choices):
            return None  # only held-back text: nothing to send yet
        return chunk

    async def after(self, call: InferenceCall) -> None:
        state: _Guarded | None = call.data.get("guardrails")
        if state is None or not state.outputs or call.stream or call.error is not None:
            return
        result = call.result
        if not isinstance(result, ChatCompletion):
            return
        for choice in result.choices:
            text = choice.message.content
            if not text:
                continue
            violation = await self._judge_output(call, state, choice.index, text)
            if violation is not None:
                choice.message = ChatCompletionMessage(content=None, refusal=refusal_text(violation))
                choice.finish_reason = "content_filter"

    async def _judge_output(self, call: InferenceCall, state: _Guarded, index: int, text: str
                            ) -> SafetyViolation | None:
        messages = [*state.conversation, {"role": "assistant", "content": text}]
        verdicts = await self.safety.check(state.outputs, messages, trusted=state.trusted)
        return _note(state, call.request, "output" if index == 0 else f"output[{index}]", verdicts)


def _without_field(request: M) -> M:
    """A copy of `request` without `guardrails`: it is never forwarded to the provider."""
    copy = request.model_copy()
    if copy.model_extra is not None:
        copy.__pydantic_extra__ = {k: v for k, v in copy.model_extra.items() if k != REQUEST_FIELD}
    return copy


def requested_shields(value: Any) -> list[str]:
    """The shield ids a request names in `guardrails`: ids, or objects with `type` (Llama Stack) or `shield_id`."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidRequestError("'guardrails' must be a list of shield ids", param=REQUEST_FIELD)
    ids = []
    for item in value:
        shield_id = item if isinstance(item, str) else (
            item.get("shield_id") or item.get("type") if isinstance(item, dict) else None)
        if not isinstance(shield_id, str) or not shield_id:
            raise InvalidRequestError("each entry of 'guardrails' must be a shield id (a string)",
                                      param=REQUEST_FIELD)
        ids.append(shield_id)
    return ids


def _note(state: _Guarded, request: Any, stage: str, verdicts: list[ShieldVerdict]) -> SafetyViolation | None:
    """Record the verdicts in the call's metadata; the first violation, if any."""
    state.verdicts[stage] = {verdict.shield_id: verdict.summary() for verdict in verdicts}
    summary = json.dumps(state.verdicts, separators=(",", ":"))
    if request.metadata is None:
        request.metadata = {}
    request.metadata[METADATA_KEY] = summary[:MAX_METADATA_CHARS]
    for verdict in verdicts:
        if verdict.violation is not None:
            return verdict.violation
    return None


def refusal_text(violation: SafetyViolation) -> str:
    """What the caller reads in place of a refused text."""
    return violation.user_message or "I can't help with that: it goes against this server's safety policy."


def _says_something(choice: ChunkChoice) -> bool:
    delta = choice.delta
    return bool(delta.role or delta.content or delta.refusal or delta.tool_calls or choice.finish_reason
                or choice.logprobs or delta.model_extra)


def _refusal_chunk(chunk: ChatCompletionChunk, index: int, refusal: str) -> ChatCompletionChunk:
    return ChatCompletionChunk(
        id=chunk.id, created=chunk.created, model=chunk.model,
        choices=[ChunkChoice(index=index, delta=ChoiceDelta(refusal=refusal), finish_reason="content_filter")])


def _refused(call: InferenceCall, violation: SafetyViolation, *, stream: bool) -> Any:
    """The answer to a refused input, in place of the model's: a refusal, no tokens spent."""
    refusal = refusal_text(violation)
    created, model = int(time.time()), call.model.provider_resource_id
    if not stream:
        return ChatCompletion(
            id="chatcmpl-refused", created=created, model=model,
            choices=[CompletionChoice(index=0, message=ChatCompletionMessage(content=None, refusal=refusal),
                                      finish_reason="content_filter")],
            usage=CompletionUsage(prompt_tokens=0, completion_tokens=0, total_tokens=0))

    async def chunks() -> AsyncIterator[ChatCompletionChunk]:
        def chunk(choices: list[ChunkChoice], usage: CompletionUsage | None = None) -> ChatCompletionChunk:
            return ChatCompletionChunk(id="chatcmpl-refused", created=created, model=model, choices=choices,
                                       usage=usage)

        yield chunk([ChunkChoice(index=0, delta=ChoiceDelta(role="assistant"))])
        yield chunk([ChunkChoice(index=0, delta=ChoiceDelta(refusal=refusal), finish_reason="content_filter")])
        yield chunk([], CompletionUsage(prompt_tokens=0, completion_tokens=0, total_tokens=0))

    return chunks()
