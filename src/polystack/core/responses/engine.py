"""The Responses engine: checks a request and gathers its context, then hands it to a `ResponseRun` (run.py).

`ResponsesEngine.run(request)` checks the request and gathers its context (previous response, conversation,
prompt, guardrails, tools) before its first event, so a bad request is a plain 4xx; the run then yields
OpenAI's event sequence. The streaming and non-streaming paths both consume it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from polystack.apis.datatypes import Api
from polystack.apis.errors import InvalidRequestError, NotFoundError
from polystack.apis.events import StreamEvent
from polystack.apis.inference.types import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest
from polystack.apis.responses.items import (
    InputItem,
    ItemReference,
    normalize_items,
)
from polystack.apis.responses.types import (
    ConversationRef,
    CreateResponseRequest,
    FunctionTool,
    ResponseObject,
    ResponsePrompt,
)
from polystack.core.config import SafetyConfig
from polystack.core.impls import Impls
from polystack.core.responses.chain import EarlierItems
from polystack.core.responses.context import ChatMessage, MessageList, known_items, parse_input
from polystack.core.responses.guardrails import ResponseGuard
from polystack.core.responses.input_files import with_file_text
from polystack.core.responses.mcp_approvals import check_answered_server
from polystack.core.responses.mcp_config import shown_tool_config
from polystack.core.responses.peers import ConversationItems, PromptSource, prompt_version, render_prompt
from polystack.core.responses.references import resolve_references
from polystack.core.responses.run import ResponseRun
from polystack.core.responses.store import ResponsesStore
from polystack.core.responses.tools import (
    Binding,
    ServerTool,
    SessionTool,
    ToolContext,
    ToolSession,
)


class ChatInference(Protocol):
    async def chat_completion(self, request: ChatCompletionRequest
                              ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]: ...


def new_response_id() -> str:
    return f"resp_{uuid.uuid4().hex}"


def _skeleton(request: CreateResponseRequest, response_id: str, instructions: str | None) -> ResponseObject:
    """The response as it starts: every field the request sets, echoed as OpenAI does."""
    return ResponseObject(
        id=response_id, created_at=int(time.time()), status="in_progress",
        instructions=instructions, metadata=request.metadata or {}, model=request.model,
        parallel_tool_calls=request.parallel_tool_calls, temperature=request.temperature,
        tool_choice=request.tool_choice if isinstance(request.tool_choice, str)
        else request.tool_choice.model_dump(mode="json"),
        tools=[shown_tool_config(tool) for tool in request.tools],
        top_p=request.top_p, background=request.background,
        conversation=ConversationRef(id=request.conversation_id) if request.conversation_id else None,
        max_output_tokens=request.max_output_tokens, max_tool_calls=request.max_tool_calls,
        previous_response_id=request.previous_response_id,
        prompt=ResponsePrompt(id=request.prompt.id, variables=request.prompt.variables,
                              version=request.prompt.version) if request.prompt else None,
        reasoning=request.reasoning.model_dump(mode="json") if request.reasoning else None,
        safety_identifier=request.safety_identifier, service_tier=request.service_tier, store=request.store,
        text={"format": {"type": "text"},
              **(request.text.model_dump(mode="json", exclude_none=True, by_alias=True) if request.text else {})},
        top_logprobs=request.top_logprobs, truncation=request.truncation, user=request.user)


class ResponsesEngine:
    """Runs responses over the inference router, the server tools and the store (None: nothing is kept)."""

    def __init__(self, inference: ChatInference, impls: Impls, store: ResponsesStore | None,
                 server_tools: Sequence[ServerTool] = (), safety: SafetyConfig | None = None) -> None:
        self.inference = inference
        self.impls = impls
        self.store = store
        self.server_tools = list(server_tools)
        self.safety = safety  # the run config's guardrails (core/responses/guardrails.py)

    async def run(self, request: CreateResponseRequest) -> AsyncIterator[StreamEvent]:
        """The response's events; errors in the request are raised before the first one."""
        run = await self.start(request)
        async for event in run.events():
            yield event

    async def start(self, request: CreateResponseRequest, response_id: str | None = None, *,
                    previous_messages: list[ChatMessage] | None = None) -> ResponseRun:
        """Check the request and gather its context (previous response, conversation, prompt, tools).

        `previous_messages`: the previous response's context when the caller holds it (a WebSocket keeps its
        last response's, so store=false responses continue there); else it is read from the store.
        """
        if request.background:
            raise InvalidRequestError("background responses are not supported yet", param="background")
        context = MessageList()
        row = None
        if request.previous_response_id is not None and previous_messages is not None:
            context = MessageList(previous_messages)
        elif request.previous_response_id is not None:
            if self.store is None:
                raise NotFoundError(f"No response with id '{request.previous_response_id}' found.",
                                    param="previous_response_id")
            row = await self.store.row(request.previous_response_id, param="previous_response_id")
            context = MessageList(row["messages"])
        conversations = None
        conversation_items: list[InputItem] = []
        if request.conversation_id is not None:
            conversations = self.impls.get_as(Api.conversations, ConversationItems)
            if conversations is None:
                raise InvalidRequestError("this server does not serve the conversations API", param="conversation")
            conversation_items = known_items(await conversations.context_items(request.conversation_id,
                                                                                writable=True))
            context.extend(conversation_items)
        earlier = EarlierItems(self.store, request.previous_response_id,
                               [i for i in conversation_items if not isinstance(i, ItemReference)], previous_row=row)
        parsed = parse_input(request.input)
        input_items = await resolve_references(parsed, earlier)
        check_answered_server(request.tools, input_items)
        given = await with_file_text(input_items, self.impls)
        context.extend(given)
        if not context.messages:
            raise InvalidRequestError("'input' must hold at least one item", param="input")
        unanswered = context.unanswered_calls()
        if unanswered:
            raise InvalidRequestError(f"No tool output found for function call {unanswered[0]}: send a "
                                      "function_call_output item for it", param="input")
        kept = normalize_items(input_items)  # type: ignore[arg-type]  # item_references were resolved above
        instructions = await self._instructions(request)
        guard = await ResponseGuard.for_request(request, self.impls, self.safety)
        if guard is not None:
            await guard.check_input(given)  # a guard that is down: its 502 before the first event
        tool_context = ToolContext(self.impls, request, response_id or new_response_id(), earlier=earlier,
                                   input_items=tuple(kept))
        functions, bindings, sessions = await self._tools(request, tool_context)
        response = _skeleton(request, tool_context.response_id, instructions)
        run = ResponseRun(self, request, response, kept, context, instructions, functions, bindings, tool_context,
                          conversations, sessions)
        run.guard = guard
        run.referenced = {item.id for item in parsed if isinstance(item, ItemReference)}
        return run

    async def _instructions(self, request: CreateResponseRequest) -> str | None:
        if request.prompt is None:
            return request.instructions
        prompts = self.impls.get_as(Api.prompts, PromptSource)
        if prompts is None:
            raise InvalidRequestError("this server does not serve the prompts API", param="prompt")
        stored = await prompts.get_prompt(request.prompt.id, prompt_version(request.prompt))
        rendered = render_prompt(stored, request.prompt.variables or {})
        return rendered if not request.instructions else f"{rendered}\n\n{request.instructions}"

    async def _tools(self, request: CreateResponseRequest, context: ToolContext
                     ) -> tuple[list[FunctionTool], dict[str, Binding], list[ToolSession]]:
        functions: list[FunctionTool] = []
        bindings: dict[str, Binding] = {}
        sessions: list[ToolSession] = []
        for index, tool in enumerate(request.tools):
            if isinstance(tool, FunctionTool):
                functions.append(tool)
                continue
            server_tool = next((s for s in reversed(self.server_tools) if s.matches(tool)), None)  # last wins
            if server_tool is None:
                raise InvalidRequestError(f"tools of type '{tool.type}' are not supported by this server yet",
                                          param=f"tools[{index}].type")
            if isinstance(server_tool, SessionTool):
                sessions.append(await server_tool.prepare(tool, context))
                continue
            for function in await server_tool.functions(tool, context):
                if function.name in bindings or any(f.name == function.name for f in functions):
                    raise InvalidRequestError(f"two tools offer the function '{function.name}'",
                                              param=f"tools[{index}]")
                bindings[function.name] = Binding(server_tool, tool)
                functions.append(function)
        return functions, bindings, sessions
