"""The Agents API over the Responses engine: a session is a conversation, a turn one (or, resumed, two) responses.

A turn maps the agent's config to a Responses request (core/agents/config_map.py) in the session's
conversation, runs it through the same engine the Responses API uses, and streams the engine's events as
Llama Stack's steps (core/agents/steps.py), with the agent's input and output shields as shield_call steps
around it. A turn that ends with client tool calls is kept `awaiting_input` until `resume` brings their
results, which continue the same conversation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

from polystack.apis.agents.types import (
    AgentConfig,
    AgentToolGroup,
    CreateTurnRequest,
    ResumeTurnRequest,
    ToolConfig,
    UserMessage,
)
from polystack.apis.conversations.types import CreateConversationRequest
from polystack.apis.datatypes import Api
from polystack.apis.errors import ConflictError, InvalidRequestError, NotFoundError, PolystackError
from polystack.apis.responses.types import CreateResponseRequest
from polystack.apis.safety.types import SafetyViolation
from polystack.core.agents import config_map
from polystack.core.agents.messages import input_items, text_of
from polystack.core.agents.steps import StepStream, chunk, new_id, now, step_complete, step_start
from polystack.core.agents.store import AgentStore
from polystack.core.impls import Impls
from polystack.core.responses.engine import ResponsesEngine
from polystack.core.responses.run import TERMINAL, ResponseRun


@runtime_checkable
class Shields(Protocol):
    async def shield_named(self, shield_id: str, param: str = "guardrails", *, trusted: bool = False) -> Any: ...

    async def check_text(self, shield_ids: Sequence[str], text: str,
                         role: Literal["user", "assistant"] = "user") -> SafetyViolation | None: ...


@runtime_checkable
class SessionConversations(Protocol):
    async def create_conversation(self, request: CreateConversationRequest) -> Any: ...

    async def delete_conversation(self, conversation_id: str) -> Any: ...

    async def add_items(self, conversation_id: str, items: list[dict[str, Any]],
                        include: list[str] | None = None) -> Any: ...

    async def delete_item(self, conversation_id: str, item_id: str) -> Any: ...


def _page(data: list[dict[str, Any]], start_index: int | None, limit: int | None) -> dict[str, Any]:
    """Llama Stack's PaginatedResponse over a whole list."""
    start = start_index or 0
    end = len(data) if limit is None else start + limit
    return {"data": data[start:end], "has_more": end < len(data), "url": None}


class AgentsService:
    """What serves Api.agents."""

    def __init__(self, store: AgentStore, engine: ResponsesEngine, impls: Impls) -> None:
        self.store = store
        self.engine = engine
        self.impls = impls

    def _conversations(self) -> SessionConversations:
        conversations = self.impls.get_as(Api.conversations, SessionConversations)
        if conversations is None:
            raise InvalidRequestError("agent sessions are conversations: this server must serve the "
                                      "conversations API")
        return conversations

    # ---- agents ---------------------------------------------------------------------------------

    async def create_agent(self, config: AgentConfig) -> dict[str, Any]:
        config_map.text_format(config)  # a response_format the engine cannot follow is refused now
        await self._check_shields(config)
        agent_id = new_id()
        await self.store.add_agent(agent_id, now(), config.model_dump(mode="json"))
        return {"agent_id": agent_id}

    @staticmethod
    def _agent(row: dict[str, Any]) -> dict[str, Any]:
        return {"agent_id": row["id"], "agent_config": row["config"], "created_at": row["created"]}

    async def list_agents(self, start_index: int | None, limit: int | None) -> dict[str, Any]:
        return _page([self._agent(row) for row in await self.store.list_agents()], start_index, limit)

    async def get_agent(self, agent_id: str) -> dict[str, Any]:
        return self._agent(await self.store.agent(agent_id))

    async def delete_agent(self, agent_id: str) -> None:
        for session in await self.store.delete_agent(agent_id):
            await self._drop_conversation(session["conversation_id"])

    async def _drop_conversation(self, conversation_id: str) -> None:
        try:
            await self._conversations().delete_conversation(conversation_id)
        except NotFoundError:
            pass  # already gone

    # ---- sessions -------------------------------------------------------------------------------

    async def create_session(self, agent_id: str, session_name: str) -> dict[str, Any]:
        await self.store.agent(agent_id)
        session_id = new_id()
        conversation = await self._conversations().create_conversation(CreateConversationRequest(
            metadata={"agent_id": agent_id, "agent_session_id": session_id}))
        await self.store.add_session(session_id, agent_id, session_name, conversation.id, now())
        return {"session_id": session_id}

    async def _session(self, row: dict[str, Any], turn_ids: list[str] | None = None) -> dict[str, Any]:
        turns = [turn["turn"] for turn in await self.store.turns_of(row["id"])
                 if turn_ids is None or turn["id"] in turn_ids]
        return {"session_id": row["id"], "session_name": row["name"], "turns": turns,
                "started_at": row["started_at"]}

    async def list_sessions(self, agent_id: str, start_index: int | None, limit: int | None) -> dict[str, Any]:
        await self.store.agent(agent_id)
        rows = await self.store.list_sessions(agent_id)
        page = _page(rows, start_index, limit)
        page["data"] = [await self._session(row) for row in page["data"]]
        return page

    async def get_session(self, agent_id: str, session_id: str, turn_ids: list[str] | None) -> dict[str, Any]:
        return await self._session(await self.store.session(agent_id, session_id), turn_ids)

    async def delete_session(self, agent_id: str, session_id: str) -> None:
        row = await self.store.delete_session(agent_id, session_id)
        await self._drop_conversation(row["conversation_id"])

    # ---- turns ----------------------------------------------------------------------------------

    async def get_turn(self, agent_id: str, session_id: str, turn_id: str) -> dict[str, Any]:
        return (await self.store.turn(agent_id, session_id, turn_id))["turn"]  # type: ignore[no-any-return]

    async def get_step(self, agent_id: str, session_id: str, turn_id: str, step_id: str) -> dict[str, Any]:
        turn = await self.get_turn(agent_id, session_id, turn_id)
        for step in turn["steps"]:
            if step["step_id"] == step_id:
                return {"step": step}
        raise NotFoundError(f"Step '{step_id}' not found in turn '{turn_id}'", param="step_id")

    async def _start(self, config: AgentConfig, conversation_id: str, items: list[dict[str, Any]], stream: bool,
                     toolgroups: list[AgentToolGroup] | None, tool_config: ToolConfig | None) -> ResponseRun:
        """The turn's response, checked and ready to run (a bad config or input is a 4xx here)."""
        body: dict[str, Any] = {
            "model": config.model, "instructions": config.instructions or None, "input": items,
            "conversation": conversation_id, "store": False, "stream": stream, "parallel_tool_calls": False,
            "tools": await config_map.request_tools(config, toolgroups, self.impls),
            "tool_choice": config_map.tool_choice(config, tool_config),
            "max_infer_iters": config.max_infer_iters or 10,
            "include": ["file_search_call.results", "web_search_call.action.sources"],  # for the tool steps
            **config_map.sampling(config)}
        text = config_map.text_format(config)
        if text is not None:
            body["text"] = text
        if not body["tools"]:
            del body["tool_choice"]
        return await self.engine.start(CreateResponseRequest.model_validate(body))

    def _shields(self, ids: list[str], param: str = "agent_config.input_shields") -> Shields | None:
        if not ids:
            return None
        shields = self.impls.get_as(Api.safety, Shields)
        if shields is None:
            raise InvalidRequestError("the agent names shields, but this server does not serve the safety API",
                                      param=param)
        return shields

    async def _check_shields(self, config: AgentConfig) -> None:
        """Every shield the agent names exists and is the caller's to use (a 4xx before any turn starts)."""
        for field in ("input_shields", "output_shields"):
            ids: list[str] = getattr(config, field) or []
            shields = self._shields(ids, f"agent_config.{field}")
            for shield_id in ids:
                assert shields is not None
                await shields.shield_named(shield_id, param=f"agent_config.{field}")

    async def create_turn(self, agent_id: str, session_id: str, request: CreateTurnRequest
                          ) -> dict[str, Any] | AsyncIterator[dict[str, Any]]:
        session = await self.store.session(agent_id, session_id)
        config = AgentConfig.model_validate((await self.store.agent(agent_id))["config"])
        await self._check_shields(config)
        run = await self._start(config, session["conversation_id"], input_items(request.messages, request.documents),
                                bool(request.stream), request.toolgroups, request.tool_config)
        turn_id = new_id()
        user_text = "\n".join(text_of(m.content) for m in request.messages if isinstance(m, UserMessage))
        turn = {"turn_id": turn_id, "session_id": session_id,
                "input_messages": [m.model_dump(mode="json", exclude_none=True) for m in request.messages],
                "steps": [], "output_attachments": [], "started_at": now()}
        stream = self._run_turn(agent_id, config, turn, run, [chunk({"event_type": "turn_start", "turn_id": turn_id})],
                                user_text)
        return stream if request.stream else await _last_turn(stream)

    async def resume_turn(self, agent_id: str, session_id: str, turn_id: str, request: ResumeTurnRequest
                          ) -> dict[str, Any] | AsyncIterator[dict[str, Any]]:
        row = await self.store.turn(agent_id, session_id, turn_id)
        if row["status"] == "resuming":
            raise ConflictError(f"Turn '{turn_id}' is being resumed already", param="turn_id")
        if row["status"] != "awaiting_input" or not row["pending"]:
            raise InvalidRequestError(f"Turn '{turn_id}' is not waiting for tool results", param="turn_id")
        pending = row["pending"]
        waiting = [call["call_id"] for call in pending["calls"]]
        given = [response.call_id for response in request.tool_responses]
        if sorted(given) != sorted(waiting):
            raise InvalidRequestError(f"tool_responses must answer exactly the calls the turn waits for "
                                      f"({', '.join(waiting)}); got {', '.join(given)}", param="tool_responses")
        session = await self.store.session(agent_id, session_id)
        config = AgentConfig.model_validate((await self.store.agent(agent_id))["config"])
        items = [{"type": "function_call_output", "call_id": r.call_id, "output": text_of(r.content)}
                 for r in request.tool_responses]
        if not await self.store.claim(turn_id, "awaiting_input", "resuming"):
            raise ConflictError(f"Turn '{turn_id}' is being resumed already", param="turn_id")
        try:
            run = await self._start(config, session["conversation_id"], items, bool(request.stream), None, None)
        except BaseException:
            await self.store.claim(turn_id, "resuming", "awaiting_input")
            raise
        turn = dict(row["turn"])
        step = {"turn_id": turn_id, "step_id": pending["step_id"], "started_at": pending["started_at"],
                "completed_at": now(), "step_type": "tool_execution", "tool_calls": pending["calls"],
                "tool_responses": [r.model_dump(mode="json") for r in request.tool_responses]}
        turn["steps"] = [*turn["steps"], step]
        stream = self._released_on_failure(turn_id, self._run_turn(agent_id, config, turn, run, [step_complete(step)],
                                                                   None))
        return stream if request.stream else await _last_turn(stream)

    async def _released_on_failure(self, turn_id: str, stream: AsyncIterator[dict[str, Any]]
                                   ) -> AsyncIterator[dict[str, Any]]:
        """A resume that fails (or whose client leaves) leaves the turn awaiting its tool results again."""
        finished = False
        try:
            async for produced in stream:
                finished = produced["event"]["payload"]["event_type"] in ("turn_complete", "turn_awaiting_input")
                yield produced
        finally:
            if not finished:
                await self.store.claim(turn_id, "resuming", "awaiting_input")

    async def _run_turn(self, agent_id: str, config: AgentConfig, turn: dict[str, Any], run: ResponseRun,
                        first: list[dict[str, Any]], user_text: str | None) -> AsyncIterator[dict[str, Any]]:
        for early in first:
            yield early
        steps = StepStream(turn["turn_id"], steps=list(turn["steps"]), model_calls=lambda: _server_calls(run))
        output: dict[str, Any] | None = None
        if user_text is not None and config.input_shields:
            violation = None
            async for produced in self._shield_step(config.input_shields, user_text, "user", turn, steps):
                if isinstance(produced, dict):
                    yield produced
                else:
                    violation = produced
            if violation is not None:
                output = _message(violation.user_message or "I can't help with that.")
                inputs = [item.model_dump(mode="json") for item in run.input_items]
                await self._remember_refusal(run, output["content"], inputs)
        if output is None:
            async for event in run.events():
                if event.name in TERMINAL:
                    for produced_chunk in steps.close(run.response.status):
                        yield produced_chunk
                    break
                for produced_chunk in steps.feed(event):
                    yield produced_chunk
            if run.response.status == "failed":
                raise run.error or PolystackError("the turn failed")
            output = steps.last_message or _message("")
        pending = None
        if steps.client_calls and output is steps.last_message:
            output = {**output, "tool_calls": steps.client_calls, "stop_reason": "end_of_message"}
            pending = {"calls": steps.client_calls, "step_id": new_id(), "started_at": now()}
        elif config.output_shields and output is steps.last_message:
            violation = None
            async for produced in self._shield_step(config.output_shields, text_of(output["content"]), "assistant",
                                                    turn, steps):
                if isinstance(produced, dict):
                    yield produced
                else:
                    violation = produced
            if violation is not None:
                output = _message(violation.user_message or "I can't help with that.")
                answers = [item.id for item in run.response.output if item.type == "message" and item.id]
                await self._remember_refusal(run, output["content"], [], replacing=answers[-1:])
        done = {**turn, "steps": steps.steps, "output_message": output, "completed_at": now()}
        await self.store.save_turn(agent_id, done, "awaiting_input" if pending else "completed", pending)
        yield chunk({"event_type": "turn_awaiting_input" if pending else "turn_complete", "turn": done})

    async def _remember_refusal(self, run: ResponseRun, refusal: str, inputs: list[dict[str, Any]],
                                replacing: Sequence[str] = ()) -> None:
        """A shield's refusal takes the answer's place in the session (as Llama Stack replays the turn's
        messages): the refused input (if the model never ran) and the refusal, instead of the blocked answer."""
        conversation_id = run.request.conversation_id
        if conversation_id is None:
            return
        conversations = self._conversations()
        for item_id in replacing:
            await conversations.delete_item(conversation_id, item_id)
        await conversations.add_items(conversation_id, [*inputs, {
            "type": "message", "role": "assistant", "content": [{"type": "output_text", "text": refusal}]}])

    async def _shield_step(self, shield_ids: list[str], text: str, role: Literal["user", "assistant"],
                           turn: dict[str, Any], steps: StepStream) -> AsyncIterator[dict[str, Any] | SafetyViolation]:
        """A shield_call step: its start, its completion, then the violation (if any) for the caller."""
        shields = self._shields(shield_ids)
        assert shields is not None
        step_id, started_at = new_id(), now()
        touchpoint = "user-input" if role == "user" else "assistant-output"
        yield step_start("shield_call", step_id, {"touchpoint": touchpoint})
        violation = await shields.check_text(shield_ids, text, role)
        step = {"turn_id": turn["turn_id"], "step_id": step_id, "started_at": started_at, "completed_at": now(),
                "step_type": "shield_call", "violation": violation.model_dump(mode="json") if violation else None}
        steps.steps.append(step)
        yield step_complete(step)
        if violation is not None:
            yield violation


def _server_calls(run: ResponseRun) -> list[dict[str, Any]]:
    """The tool calls of the run's last model call that the server runs (not the client's functions)."""
    messages = run.context.messages
    calls = messages[-1].get("tool_calls") or [] if messages else []
    return [call for call in calls if not run.is_client_call(call["function"]["name"])]


def _message(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text, "stop_reason": "end_of_turn", "tool_calls": []}


async def _last_turn(stream: AsyncIterator[dict[str, Any]]) -> dict[str, Any]:
    """A turn asked for without streaming: the turn its last chunk carries."""
    turn: dict[str, Any] | None = None
    async for produced in stream:
        payload = produced["event"]["payload"]
        if "turn" in payload:
            turn = payload["turn"]
    assert turn is not None
    return turn
