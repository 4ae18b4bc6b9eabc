"""One response while its events are produced: the loop of model calls and server-side tools.

`ResponsesEngine.start` (engine.py) checks a request and gathers its context; the `ResponseRun` it returns
yields the events: `response.created`, `response.in_progress`, the output items' events, and one of
`TERMINAL` last, once the response is stored (store=true) and appended to its conversation.
"""


from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from polystack.apis.errors import PolystackError
from polystack.apis.events import StreamEvent
from polystack.apis.inference.types import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest
from polystack.apis.responses.items import (
    FileCitation,
    Item,
    URLCitation,
    new_item_id,
)
from polystack.apis.responses.types import (
    AllowedToolsChoice,
    CreateResponseRequest,
    FunctionChoice,
    FunctionTool,
    HostedToolChoice,
    IncompleteDetails,
    McpChoice,
    ResponseError,
    ResponseObject,
    TextFormatJSONObject,
    TextFormatJSONSchema,
    Usage,
)
from polystack.core.responses import events
from polystack.core.responses.citations import file_citations
from polystack.core.responses.context import ChatMessage, MessageList
from polystack.core.responses.guardrails import ResponseGuard, input_refusal
from polystack.core.responses.mcp_config import function_name
from polystack.core.responses.peers import ConversationItems
from polystack.core.responses.tool_runs import merged, sequential
from polystack.core.responses.tools import (
    Binding,
    Source,
    ToolCall,
    ToolContext,
    ToolOutcome,
    ToolSession,
)
from polystack.core.responses.turn import Turn
from polystack.core.responses.web_search_citations import url_citations

if TYPE_CHECKING:
    from polystack.core.responses.engine import ResponsesEngine

logger = logging.getLogger("polystack.responses")

TERMINAL = ("response.completed", "response.incomplete", "response.failed")


def _error_of(exc: PolystackError) -> ResponseError:
    """OpenAI's response error: its `code` is one of a few values, so the detail travels in the message."""
    code = ("rate_limit_exceeded" if exc.status_code == 429
            else "invalid_prompt" if exc.status_code < 500 else "server_error")
    return ResponseError(code=code, message=exc.message, param=exc.param, type=exc.error_type)



class ResponseRun:
    """The state of one response while its events are produced."""

    def __init__(self, engine: ResponsesEngine, request: CreateResponseRequest, response: ResponseObject,
                 input_items: list[Item], context: MessageList, instructions: str | None,
                 functions: list[FunctionTool], bindings: dict[str, Binding], tool_context: ToolContext,
                 conversations: ConversationItems | None, sessions: Sequence[ToolSession] = ()) -> None:
        self.engine = engine
        self.request = request
        self.response = response
        self.input_items = input_items
        self.context = context
        self.instructions = instructions
        self.functions = functions
        self.bindings = bindings
        self.tool_context = tool_context
        self.conversations = conversations
        self.sessions = list(sessions)
        self.awaiting_approval = False  # a call waits for the client's approval: the response ends
        self.usage = Usage()
        self.sources: list[Source] = []
        self.tool_calls = 0
        self.error: PolystackError | None = None  # what failed the response, for the non-streaming path
        # Whether the model's tokens are streamed: worth it only when someone watches the events as they come
        # (a non-streaming caller gets the same events, each text as one delta, from a cheaper call).
        self.stream_upstream = request.stream
        # Whether a row of this response may already be stored (e.g. saved `queued` by a background job): the
        # final save then replaces it instead of inserting.
        self.replace_stored = False
        self.turn: Turn | None = None  # the model call under way
        self.guard: ResponseGuard | None = None  # the shields judging input and answers, if any
        self.referenced: set[str] = set()  # ids of the input's item_references: earlier items, not new ones

    # ---- output items -------------------------------------------------------------------------

    def add_item(self, item: Item) -> int:
        self.response.output.append(item)
        return len(self.response.output) - 1

    def replace_item(self, index: int, item: Item) -> None:
        self.response.output[index] = item

    def is_client_call(self, name: str) -> bool:
        return name not in self.bindings

    def add_tool_call(self, call_id: str, name: str, arguments: str, result: str) -> None:
        self.context.assistant_call({"id": call_id, "type": "function",
                                     "function": {"name": name, "arguments": arguments or "{}"}})
        self.context.tool_result(call_id, result)

    async def _begin_sessions(self) -> AsyncIterator[StreamEvent]:
        """The tool sessions' first steps (e.g. listing MCP tools), then their functions offered to the model."""
        if self.guard is not None and self.guard.refused_input is not None:
            return  # a refused input runs nothing: no MCP listing either
        for session in self.sessions:
            async for event in session.begin(self):
                yield event
            for function, server_tool in session.functions():
                if function.name in self.bindings or any(f.name == function.name for f in self.functions):
                    logger.warning("response %s: a second tool offers the function '%s'; only the first is offered",
                                   self.response.id, function.name)
                    continue
                self.bindings[function.name] = Binding(server_tool, session.tool)
                self.functions.append(function)

    # ---- the loop -----------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[StreamEvent]:
        response = self.response
        yield events.response_event("response.created", response)
        yield events.response_event("response.in_progress", response)
        try:
            async for event in self._begin_sessions():
                yield event
            async for event in self._loop():
                yield event
        except PolystackError as exc:
            self._fail(exc)
        except Exception as exc:
            logger.exception("response %s failed", response.id)
            self._fail(PolystackError(f"internal error: {type(exc).__name__}"))
        if response.status == "in_progress":
            response.status = "completed"
            response.completed_at = int(time.time())
        response.usage = self.usage
        if self.guard is not None:
            response.guardrails = list(self.guard.calls)
        await self._keep()
        yield events.response_event(f"response.{response.status}", response)

    def _fail(self, exc: PolystackError) -> None:
        if self.turn is not None:
            self.turn.finish([], interrupted=True)  # its message keeps the text that came
            self.turn = None
        self.error = exc
        self.response.status = "failed"
        self.response.error = _error_of(exc)
        for index, item in enumerate(self.response.output):  # what was under way when it failed never ends
            if getattr(item, "status", None) in ("in_progress", "searching", "calling"):
                ended = "failed" if item.type in ("web_search_call",) else "incomplete"
                self.response.output[index] = item.model_copy(update={"status": ended})

    async def _loop(self) -> AsyncIterator[StreamEvent]:
        request = self.request
        if self.guard is not None and self.guard.refused_input is not None:  # answered without the model
            turn = Turn(self.add_item, self.replace_item, self.is_client_call)
            for event in [*turn.feed(input_refusal(self.guard)), *turn.finish([])]:
                yield event
            self.context.messages.append(turn.assistant_message())
            return
        for iteration in range(request.max_infer_iters):
            offer_server_tools = iteration < request.max_infer_iters - 1 and not self._budget_spent()
            turn = self.turn = Turn(self.add_item, self.replace_item, self.is_client_call)
            result = await self._call_model(iteration, offer_server_tools)
            if isinstance(result, ChatCompletion):
                for event in turn.feed_completion(result):
                    yield event
            else:
                async for chunk in result:
                    for event in turn.feed(chunk):
                        yield event
            self.usage.add(turn.prompt_tokens, turn.completion_tokens, turn.cached_tokens, turn.reasoning_tokens)
            final = not turn.calls
            self.turn = None
            cited: list[FileCitation | URLCitation] = (
                [*file_citations(turn.text, self.sources), *url_citations(turn.text, self.sources)] if final else [])
            for event in turn.finish(cited):
                yield event
            self.context.messages.append(turn.assistant_message())
            if self.guard is not None and self.guard.stopped:  # an output shield stopped the answer
                self.response.status = "incomplete"
                self.response.incomplete_details = IncompleteDetails(reason="content_filter")
                return
            if turn.truncated:
                self.response.status = "incomplete"
                self.response.incomplete_details = IncompleteDetails(reason="max_output_tokens")
                return
            server_calls = [c for c in turn.calls.values() if not self.is_client_call(c.name)]
            if server_calls:
                async for event in self._run_server_calls(server_calls):
                    yield event
            if final or len(server_calls) < len(turn.calls) or self.awaiting_approval:
                return  # an answer, or calls the client runs: the response ends here
            if self._max_tokens_left() == 0:  # the tools ran, but no tokens are left for the answer
                self.response.status = "incomplete"
                self.response.incomplete_details = IncompleteDetails(reason="max_output_tokens")
                return

    async def _call_model(self, iteration: int, offer_server_tools: bool
                          ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        """One model call; with truncation "auto", a context too long for the model loses its oldest turns."""
        while True:
            try:
                if self.guard is None:
                    return await self.engine.inference.chat_completion(self._chat_request(iteration,
                                                                                          offer_server_tools))
                with self.guard.handled():
                    result = await self.engine.inference.chat_completion(self._chat_request(iteration,
                                                                                            offer_server_tools))
                return await self.guard.watch(result)
            except PolystackError as exc:
                if (exc.code != "context_length_exceeded" or self.request.truncation != "auto"
                        or not self.context.drop_oldest()):
                    raise
                logger.info("response %s: context too long for the model, oldest turn dropped", self.response.id)

    def _budget_spent(self) -> bool:
        limit = self.request.max_tool_calls
        return limit is not None and self.tool_calls >= limit

    def _max_tokens_left(self) -> int | None:
        limit = self.request.max_output_tokens
        return None if limit is None else max(limit - self.usage.output_tokens, 0)

    def _chat_request(self, iteration: int, offer_server_tools: bool) -> ChatCompletionRequest:
        request = self.request
        messages: list[ChatMessage] = self.context.messages
        if self.instructions:
            messages = [{"role": "system", "content": self.instructions}, *messages]
        body: dict[str, Any] = {"model": request.model, "messages": messages, "store": False}
        if self.stream_upstream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        functions = [f for f in self.functions if (offer_server_tools or f.name not in self.bindings)
                     and self._allowed(f.name)]
        if functions:
            body["tools"] = [{"type": "function", "function": f.model_dump(exclude={"type"}, exclude_none=True)}
                             for f in functions]
            body["tool_choice"] = self._tool_choice(iteration, {f.name for f in functions})
            body["parallel_tool_calls"] = request.parallel_tool_calls
        if request.reasoning is not None and request.reasoning.effort is not None:
            body["reasoning_effort"] = request.reasoning.effort  # for the providers that reason
        for name in ("temperature", "top_p", "user", "safety_identifier", "prompt_cache_key", "service_tier"):
            if getattr(request, name) is not None:
                body[name] = getattr(request, name)  # OpenAI's chat takes each; other providers ignore the extras
        if request.text is not None and request.text.verbosity is not None:
            body["verbosity"] = request.text.verbosity
        left = self._max_tokens_left()
        if left is not None:
            body["max_tokens"] = max(left, 1)
        wants_logprobs = "message.output_text.logprobs" in request.include or request.top_logprobs
        if wants_logprobs:
            body["logprobs"] = True
            if request.top_logprobs:
                body["top_logprobs"] = request.top_logprobs
        text_format = request.text.format if request.text else None
        if isinstance(text_format, TextFormatJSONSchema):
            spec = {"name": text_format.name, "schema": text_format.schema_, "strict": text_format.strict,
                    "description": text_format.description}
            body["response_format"] = {"type": "json_schema",
                                       "json_schema": {k: v for k, v in spec.items() if v is not None}}
        elif isinstance(text_format, TextFormatJSONObject):
            body["response_format"] = {"type": "json_object"}
        return ChatCompletionRequest.model_validate(body)

    def _allowed(self, name: str) -> bool:
        """Whether tool_choice's `allowed_tools` (if any) lets the model call `name`."""
        choice = self.request.tool_choice
        if not isinstance(choice, AllowedToolsChoice):
            return True
        binding = self.bindings.get(name)
        for allowed in choice.tools:
            if binding is None:
                if allowed.get("type") == "function" and allowed.get("name") == name:
                    return True
                continue
            spec = binding.tool.model_dump()  # a server tool: {"type": "file_search"}, {"type": "mcp", ...}
            if allowed.get("name", name) == name and all(spec.get(k) == v for k, v in allowed.items() if k != "name"):
                return True
        return False

    def _tool_choice(self, iteration: int, offered: set[str]) -> Any:
        """The request's tool_choice for the first call; later calls choose freely (no endless forced calls)."""
        choice = self.request.tool_choice
        if isinstance(choice, str):
            return choice if iteration == 0 or choice == "none" else "auto"
        if iteration > 0:
            return "auto"
        if isinstance(choice, FunctionChoice):
            return {"type": "function", "function": {"name": choice.name}}
        if isinstance(choice, HostedToolChoice) and "file_search" in offered and choice.type == "file_search":
            return {"type": "function", "function": {"name": "file_search"}}
        if isinstance(choice, HostedToolChoice) and "web_search" in offered and choice.type.startswith("web_search"):
            return {"type": "function", "function": {"name": "web_search"}}
        if isinstance(choice, McpChoice) and choice.name and function_name(choice.name) in offered:
            return {"type": "function", "function": {"name": function_name(choice.name)}}
        if isinstance(choice, AllowedToolsChoice):
            return choice.mode
        if isinstance(choice, McpChoice | HostedToolChoice):
            return "required"
        return "auto"

    # ---- server tools -------------------------------------------------------------------------

    async def _run_server_calls(self, pending: list[Any]) -> AsyncIterator[StreamEvent]:
        """Run the server's calls (in parallel when allowed) within max_tool_calls; feed the results back."""
        calls: list[ToolCall] = []
        skipped: dict[str, str] = {}
        for call in pending:
            if self._budget_spent():
                skipped[call.call_id] = ("Not run: the limit of tool calls for this response (max_tool_calls) "
                                         "was reached. Answer with what you have.")
                continue
            self.tool_calls += 1
            binding = self.bindings[call.name]
            item_id = new_item_id(f"{binding.server_tool.name}_call")
            tool_call = ToolCall(call.call_id, call.name, call.arguments, item_id, len(self.response.output))
            item = binding.server_tool.item(tool_call, binding.tool)
            self.add_item(item)
            calls.append(tool_call)
            yield events.item_added(item, tool_call.output_index)
        outcomes: dict[str, ToolOutcome] = {}
        runs = [(call, self._drive(call)) for call in calls]
        stream = merged(runs) if self.request.parallel_tool_calls and len(runs) > 1 else sequential(runs)
        async for call, produced in stream:
            if isinstance(produced, ToolOutcome):
                outcomes[call.call_id] = produced
                self.replace_item(call.output_index, produced.item)
                yield events.item_done(produced.item, call.output_index)
            else:
                yield produced
        for call in pending:  # the results in the order of the calls
            outcome = outcomes.get(call.call_id)
            if outcome is not None and outcome.awaiting_approval:
                self.awaiting_approval = True
                self.context.withdraw_call(call.call_id)  # the approved call is added when it runs
                continue
            self.context.tool_result(call.call_id, outcome.output if outcome else skipped[call.call_id])
            if outcome is not None:
                self.sources.extend(outcome.sources)

    async def _drive(self, call: ToolCall) -> AsyncIterator[StreamEvent | ToolOutcome]:
        """One call's events and its outcome; a tool that raises (or ends without an outcome) fails the call."""
        binding = self.bindings[call.name]
        try:
            async for produced in binding.server_tool.run(call, binding.tool, self.tool_context):
                yield produced
                if isinstance(produced, ToolOutcome):
                    return
            message = "the tool ended without a result"
        except PolystackError as exc:
            message = exc.message
        except Exception as exc:
            logger.warning("tool %s failed: %s", call.name, exc, exc_info=True)
            message = f"{type(exc).__name__}: {exc}"
        yield binding.server_tool.failed(call, binding.tool, message)

    # ---- keeping the result -------------------------------------------------------------------

    async def _keep(self) -> None:
        """Store the response and append its items to its conversation, before its last event is sent."""
        response = self.response
        inputs = [item.model_dump(mode="json") for item in self.input_items]
        try:
            if self.conversations is not None and response.status != "failed":
                assert self.request.conversation_id is not None
                outputs = [item.model_dump(mode="json") for item in response.output]
                new = [item for item in inputs if item.get("id") not in self.referenced]  # those are there already
                await self.conversations.add_items(self.request.conversation_id, new + outputs)
            if self.request.store and self.engine.store is not None:
                save = self.engine.store.save_again if self.replace_stored else self.engine.store.save
                await save(response.model_dump(mode="json"), inputs, self.context.messages)
        except PolystackError as exc:
            logger.error("response %s could not be kept: %s", response.id, exc.message)
            self._fail(exc)
        except Exception as exc:  # e.g. the database refused the row: the response says so
            logger.exception("response %s could not be kept", response.id)
            self._fail(PolystackError(f"the response could not be stored: {type(exc).__name__}"))
