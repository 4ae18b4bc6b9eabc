"""Chat on a local model: a request becomes a ChatPlan (on the event loop), run by `run_chat` (on a worker thread)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from polystack.apis.errors import InvalidRequestError, UnsupportedParameterError
from polystack.apis.inference.types import (
    AssistantMessage,
    ChatCompletionRequest,
    JSONObjectFormat,
    JSONSchemaFormat,
    NamedToolChoice,
    ToolMessage,
)
from polystack.providers.inline.inference.llama_cpp import grammars
from polystack.providers.inline.inference.llama_cpp.engine import Engine
from polystack.providers.inline.inference.llama_cpp.generation import TokenLogprob, generate
from polystack.providers.inline.inference.llama_cpp.prompts import turns_of
from polystack.providers.inline.inference.llama_cpp.sampling import SamplingParams, sampling_from
from polystack.providers.inline.inference.llama_cpp.served_model import ServedModel
from polystack.providers.inline.inference.llama_cpp.tool_protocol import (
    CALL_PREFIX,
    MESSAGE_PREFIX,
    PROTOCOL_MARKERS,
    CallEvent,
    CallParser,
    tools_block,
)

Mode = Literal["text", "tools", "auto"]


@dataclass(frozen=True)
class ChatPlan:
    """Everything the model thread needs, checked and tokenised before any work is queued."""

    prompt: list[int]
    mode: Mode
    sampling: SamplingParams
    n: int
    n_ctx: int
    max_tokens: int
    text_grammar: str | None = None
    tool_grammar: str | None = None
    message_prefix: tuple[int, ...] = ()


# ---- events from the model thread -----------------------------------------------------------------


@dataclass(frozen=True)
class ChoiceStarted:
    choice: int
    kind: Literal["text", "tools"]


@dataclass(frozen=True)
class TextPiece:
    choice: int
    text: str
    logprobs: list[TokenLogprob]


@dataclass(frozen=True)
class CallPiece:
    choice: int
    event: CallEvent


@dataclass(frozen=True)
class ChoiceFinished:
    choice: int
    finish_reason: str
    completion_tokens: int


ChatEvent = ChoiceStarted | TextPiece | CallPiece | ChoiceFinished


# ---- planning (event loop) ------------------------------------------------------------------------


def plan_chat(request: ChatCompletionRequest, model: ServedModel, *, max_choices: int,
              default_max_tokens: int) -> ChatPlan:
    """Check and tokenise a request; without max_tokens the reply stops at `default_max_tokens`."""
    n = request.n or 1
    if n > max_choices:
        raise UnsupportedParameterError(
            f"n={n} is more than this provider generates for one request ({max_choices})", param="n"
        )
    tools = list(request.tools or [])
    choice = request.tool_choice or ("auto" if tools else "none")
    mode: Mode = "text" if choice == "none" or not tools else "auto" if choice == "auto" else "tools"
    if mode == "auto" and model.answer_after_tool_results and isinstance(request.messages[-1], ToolMessage):
        mode = "text"
    if isinstance(choice, NamedToolChoice):
        callable_tools = [tool for tool in tools if tool.function.name == choice.function.name]
    else:
        callable_tools = tools
    turns = turns_of(request.messages, tools_text=tools_block(tools) if mode != "text" else None,
                     default_system=model.prompt_format.default_system)
    prompt = model.tokenize(model.prompt_format.render(turns))
    room = model.budget(len(prompt), request.max_output_tokens, param="messages")
    max_tokens = request.max_output_tokens or min(default_max_tokens, room)

    text_grammar = _response_grammar(request, model)
    tool_grammar = None
    if mode != "text":
        max_calls = 1 if request.parallel_tool_calls is False else model.max_parallel_tool_calls
        tool_grammar = grammars.tool_calls_grammar(callable_tools, max_calls=max_calls)
        _check(model, tool_grammar, param="tools")
    top_logprobs = (request.top_logprobs or 0) if request.logprobs else None
    sampling = sampling_from(request, n_vocab=model.n_vocab, top_logprobs=top_logprobs)
    sampling = replace(sampling, stop=sampling.stop + model.prompt_format.stops,
                       line_stops=PROTOCOL_MARKERS if tools or _has_tool_traffic(request) else ())
    return ChatPlan(
        prompt=prompt, mode=mode, sampling=sampling, n=n, n_ctx=model.n_ctx,
        max_tokens=max_tokens, text_grammar=text_grammar, tool_grammar=tool_grammar,
        message_prefix=tuple(model.engine.tokenize(MESSAGE_PREFIX, special=False)),
    )


def _has_tool_traffic(request: ChatCompletionRequest) -> bool:
    return any(isinstance(message, ToolMessage) or (isinstance(message, AssistantMessage) and message.tool_calls)
               for message in request.messages)


def _response_grammar(request: ChatCompletionRequest, model: ServedModel) -> str | None:
    response_format = request.response_format
    if isinstance(response_format, JSONObjectFormat):
        grammar = grammars.json_grammar(None)
    elif isinstance(response_format, JSONSchemaFormat):
        grammar = grammars.json_grammar(response_format.json_schema.schema_,
                                        param="response_format.json_schema.schema")
    else:
        return None
    _check(model, grammar, param="response_format")
    return grammar


def _check(model: ServedModel, grammar: str, *, param: str) -> None:
    """A grammar llama.cpp rejects would crash sampling: refuse the request before any work is queued."""
    if not model.engine.check_grammar(grammar):
        raise InvalidRequestError("cannot constrain output to this schema (llama.cpp rejected the grammar)",
                                  param=param)


# ---- running (worker thread) ----------------------------------------------------------------------


def run_chat(engine: Engine, plan: ChatPlan, emit: Callable[[ChatEvent], None], stop: threading.Event) -> None:
    """Generate every choice in turn, emitting events as text and calls form."""
    for choice in range(plan.n):
        if stop.is_set():
            return
        kind: Literal["text", "tools"] = "tools" if plan.mode == "tools" else "text"
        prompt = plan.prompt
        if plan.mode == "auto":
            kind, prompt = _reply_kind(engine, plan, stop)
        emit(ChoiceStarted(choice, kind))
        room = plan.n_ctx - len(prompt)
        params = replace(plan.sampling.with_seed_offset(choice), max_tokens=min(plan.max_tokens, room))
        run = _text_choice if kind == "text" else _tools_choice
        finish, tokens = run(engine, plan, prompt, params, choice, emit, stop)
        emit(ChoiceFinished(choice, finish, tokens))


def _text_choice(engine: Engine, plan: ChatPlan, prompt: list[int], params: SamplingParams, choice: int,
                 emit: Callable[[ChatEvent], None], stop: threading.Event) -> tuple[str, int]:
    def on_text(text: str, logprobs: list[TokenLogprob]) -> None:
        emit(TextPiece(choice, text, logprobs))

    outcome = generate(engine, prompt, replace(params, grammar=plan.text_grammar), stop, on_text)
    return outcome.finish_reason, outcome.completion_tokens


def _tools_choice(engine: Engine, plan: ChatPlan, prompt: list[int], params: SamplingParams, choice: int,
                  emit: Callable[[ChatEvent], None], stop: threading.Event) -> tuple[str, int]:
    """Calls under the tool grammar; the user's stop strings and logprobs apply to text, not to calls."""
    parser = CallParser(lambda event: emit(CallPiece(choice, event)))
    params = replace(params, grammar=plan.tool_grammar, stop=(), line_stops=(), top_logprobs=None)
    outcome = generate(engine, prompt, params, stop, lambda text, _: parser.feed(text))
    finish = "tool_calls" if outcome.finish_reason == "stop" and parser.calls else outcome.finish_reason
    return finish, outcome.completion_tokens


def _reply_kind(engine: Engine, plan: ChatPlan, stop: threading.Event) -> tuple[Literal["text", "tools"], list[int]]:
    """Let the model choose, greedily, between a message and tool calls (a few constrained tokens)."""
    params = SamplingParams(max_tokens=8, temperature=0.0, grammar=grammars.REPLY_KIND_GRAMMAR)
    outcome = generate(engine, plan.prompt, params, stop, lambda *_: None)
    if outcome.text.startswith(CALL_PREFIX):
        return "tools", plan.prompt
    return "text", plan.prompt + list(plan.message_prefix)
