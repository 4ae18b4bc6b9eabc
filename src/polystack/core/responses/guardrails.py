"""Guardrails in Responses: the input judged before any model call, each answer judged in batches as it streams.

Which shields: those the run config's `safety.guardrails` names for the response's model (the config the chat
completions hook reads: whole server and per model) plus the request's `guardrails` (extra_body, as Llama Stack
has it). The engine runs them itself, so its chat calls are not judged again by the chat hook for the same
shields (routing/guardrails.shields_handled).

- Input: the request's input, as the chat messages the model reads (earlier turns were judged when they came),
  is judged in `ResponsesEngine.start`: a guard that is down is a 502 before the stream starts (fail closed).
  A violation answers an assistant message whose content is one `refusal` part; the model is never called and
  the response is `completed` (as Llama Stack answers it).
- Output: the text of each model call is held back and judged every `safety.output_check_chars` characters
  and at its end (routing/guardrails.OutputBatches, shared with the chat hook). A violation ends the message
  with a `refusal` part after the text already sent (never repeated); the response is `incomplete` with
  reason `content_filter` (OpenAI's shape for an answer its filter stopped) and the stream ends with its final
  event. A guard failing mid-answer fails the response with its error, unless `safety.fail_open`.
- Every shield call is listed in the response's `guardrails` field ([{shield_id, stage, verdict}]), and each
  is counted in the server's usage records by the safety router (request_log.note_shield).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractContextManager
from typing import Literal

from polystack.apis.datatypes import Api
from polystack.apis.errors import InvalidRequestError
from polystack.apis.inference.results import (
    ChatCompletion,
    ChatCompletionChunk,
    ChoiceDelta,
    ChoiceLogprobs,
    ChunkChoice,
    TokenLogprob,
)
from polystack.apis.responses.items import InputItem
from polystack.apis.responses.types import CreateResponseRequest, ShieldCall
from polystack.apis.safety.types import SafetyViolation
from polystack.core.config import SafetyConfig
from polystack.core.impls import Impls
from polystack.core.responses.context import ChatMessage, MessageList
from polystack.core.routing.guardrails import (
    REQUEST_FIELD,
    OutputBatches,
    configured_shields,
    refusal_text,
    requested_shields,
    shields_handled,
)
from polystack.core.routing.safety import SafetyRouter

DEFAULT_CHECK_CHARS = 200  # SafetyConfig's default, for an engine built without the config


class ResponseGuard:
    """The shields of one response, what they said, and whether they stopped it."""

    def __init__(self, safety: SafetyRouter, inputs: list[str], outputs: list[str], trusted: set[str],
                 every: int) -> None:
        self.safety = safety
        self.inputs = inputs
        self.outputs = outputs
        self.trusted = trusted  # named by the run config: used whoever the caller is
        self.every = every
        self.calls: list[ShieldCall] = []
        self.conversation: list[ChatMessage] = []  # the input judged, read again with each answer
        self.refused_input: SafetyViolation | None = None
        self.stopped = False  # an answer was stopped by an output shield

    @classmethod
    async def for_request(cls, request: CreateResponseRequest, impls: Impls, config: SafetyConfig | None
                          ) -> ResponseGuard | None:
        """The guard of `request`, or None when no shield applies (the common case: nothing is checked)."""
        requested = requested_shields(request.guardrails)
        inputs, outputs = (configured_shields(config, (request.model,), requested) if config is not None
                           else (requested, list(requested)))
        if not inputs and not outputs:
            return None
        safety = impls.get(Api.safety)
        if not isinstance(safety, SafetyRouter):
            raise InvalidRequestError("'guardrails' name shields, but this server does not serve the safety API",
                                      param=REQUEST_FIELD)
        trusted = set() if config is None else {shield for stage in configured_shields(config, (request.model,), [])
                                                for shield in stage}
        for shield_id in dict.fromkeys(inputs + outputs):  # an unknown shield is a 404 before anything runs
            await safety.shield_named(shield_id, REQUEST_FIELD, trusted=shield_id in trusted)
        every = config.output_check_chars if config is not None else DEFAULT_CHECK_CHARS
        return cls(safety, inputs, outputs, trusted, every)

    def handled(self) -> AbstractContextManager[None]:
        """Around the engine's chat calls: the chat hook leaves these shields to this guard."""
        return shields_handled([*self.inputs, *self.outputs])

    async def _judge(self, stage: Literal["input", "output"], shield_ids: list[str],
                     messages: list[ChatMessage]) -> SafetyViolation | None:
        verdicts = await self.safety.check(shield_ids, messages, trusted=self.trusted)
        self.calls += [ShieldCall(shield_id=v.shield_id, stage=stage, verdict=v.summary()) for v in verdicts]
        return next((v.violation for v in verdicts if v.violation is not None), None)

    # ---- input --------------------------------------------------------------------------------

    async def check_input(self, items: Iterable[InputItem]) -> None:
        """Judge the request's input; a violation is kept in `refused_input` (answered by `refusal_chunk`)."""
        given = MessageList()
        given.extend(items)
        self.conversation = given.messages
        if self.inputs and given.messages:
            self.refused_input = await self._judge("input", self.inputs, given.messages)

    # ---- output -------------------------------------------------------------------------------

    async def _judge_answer(self, index: int, text: str) -> SafetyViolation | None:
        return await self._judge("output", self.outputs,
                                 [*self.conversation, {"role": "assistant", "content": text}])

    async def watch(self, result: ChatCompletion | AsyncIterator[ChatCompletionChunk]
                    ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        """A model call's result as the response may show it: text judged, a violation as a refusal."""
        if not self.outputs:
            return result
        if isinstance(result, ChatCompletion):
            return await self._judged_completion(result)
        return self._judged_stream(result)

    async def _judged_completion(self, completion: ChatCompletion) -> ChatCompletion:
        choice = completion.choices[0] if completion.choices else None
        if choice is None or not choice.message.content:
            return completion
        violation = await self._judge_answer(0, choice.message.content)
        if violation is not None:
            self.stopped = True
            choice.message.content = None
            choice.message.refusal = refusal_text(violation)
            choice.finish_reason = "content_filter"
        return completion

    async def _judged_stream(self, chunks: AsyncIterator[ChatCompletionChunk]) -> AsyncIterator[ChatCompletionChunk]:
        batches = OutputBatches(self.every, self._judge_answer)
        held_logprobs: list[TokenLogprob] = []  # those of the text held back: they go out with it
        try:
            async for chunk in chunks:
                for choice in chunk.choices:
                    if choice.index != 0:  # the engine reads the first choice only
                        continue
                    delta = choice.delta
                    text, delta.content = delta.content or "", None
                    if choice.logprobs is not None and choice.logprobs.content:
                        held_logprobs += choice.logprobs.content
                        choice.logprobs = None
                    ending = choice.finish_reason is not None or bool(delta.tool_calls)
                    released, violation = await batches.add(0, text, ending=ending)
                    if violation is not None:
                        self.stopped = True
                        yield refusal_chunk(refusal_text(violation), chunk)
                        return
                    if released:
                        delta.content = released
                        if held_logprobs:
                            choice.logprobs = ChoiceLogprobs(content=held_logprobs)
                            held_logprobs = []
                yield chunk
        finally:
            close = getattr(chunks, "aclose", None)
            if close is not None:
                await close()  # the upstream stops generating once the answer is stopped


def refusal_chunk(refusal: str, like: ChatCompletionChunk | None = None) -> ChatCompletionChunk:
    """A chunk ending an answer with `refusal` (what a model's own refusal looks like to the engine)."""
    return ChatCompletionChunk(
        id=like.id if like is not None else "chatcmpl-refused",
        created=like.created if like is not None else int(time.time()),
        model=like.model if like is not None else "",
        choices=[ChunkChoice(index=0, delta=ChoiceDelta(refusal=refusal), finish_reason="content_filter")])


def input_refusal(guard: ResponseGuard) -> ChatCompletionChunk:
    """The answer to a refused input, in place of the model's."""
    assert guard.refused_input is not None
    return refusal_chunk(refusal_text(guard.refused_input))
