"""The Responses engine's events as Llama Stack's turn stream: inference and tool_execution steps.

One model call is one inference step: it starts with the call's first output item, streams its text as
`step_progress` deltas and its tool calls as tool_call deltas, and completes when the call's items are done
(before the server runs the tools it asked for). Each server tool call (mcp_call, file_search_call as
`knowledge_search`, web_search_call) is then a tool_execution step: started once the inference step is
complete, completed with the call's output. Function calls (client tools) stay in the last inference step's
message: the turn then awaits the client's results.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from polystack.apis.events import StreamEvent

SERVER_CALLS = ("mcp_call", "file_search_call", "web_search_call")


def now() -> str:
    return datetime.now(UTC).isoformat()


def new_id() -> str:
    return str(uuid.uuid4())


def chunk(payload: dict[str, Any]) -> dict[str, Any]:
    """One AgentTurnResponseStreamChunk."""
    return {"event": {"payload": payload}}


def step_start(step_type: str, step_id: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return chunk({"event_type": "step_start", "step_type": step_type, "step_id": step_id, "metadata": metadata or {}})


def step_progress(step_type: str, step_id: str, delta: dict[str, Any]) -> dict[str, Any]:
    return chunk({"event_type": "step_progress", "step_type": step_type, "step_id": step_id, "delta": delta})


def step_complete(step: dict[str, Any]) -> dict[str, Any]:
    return chunk({"event_type": "step_complete", "step_type": step["step_type"], "step_id": step["step_id"],
                  "step_details": step})


def tool_call_of(item: Any) -> dict[str, Any]:
    """A Llama Stack ToolCall for an output item (function_call, mcp_call, file_search_call, web_search_call)."""
    if item.type == "function_call":
        return {"call_id": item.call_id, "tool_name": item.name, "arguments": item.arguments}
    if item.type == "mcp_call":
        return {"call_id": item.id, "tool_name": item.name, "arguments": item.arguments}
    if item.type == "file_search_call":
        query = item.queries[0] if item.queries else ""
        return {"call_id": item.id, "tool_name": "knowledge_search", "arguments": json.dumps({"query": query})}
    query = item.action.query if getattr(item, "action", None) is not None else ""
    return {"call_id": item.id, "tool_name": "web_search", "arguments": json.dumps({"query": query})}


def tool_response_of(item: Any, call: dict[str, Any]) -> dict[str, Any]:
    """The ToolResponse of a finished server call: its output as the model read it, errors in metadata."""
    metadata: dict[str, Any] = {}
    if item.type == "mcp_call":
        content = item.output if item.output is not None else ""
        if item.error is not None:
            metadata["error"] = item.error
            content = content or (item.error if isinstance(item.error, str) else json.dumps(item.error))
    elif item.type == "file_search_call":
        results = item.results or []
        content = [{"type": "text", "text": r.text} for r in results] or "No matching passages were found."
        metadata = {"document_ids": [r.file_id for r in results], "chunks": [r.text for r in results],
                    "scores": [r.score for r in results]}
    else:
        sources = item.action.sources if getattr(item, "action", None) is not None else None
        content = json.dumps([s.url for s in sources or []])
    if item.status == "failed":
        metadata["status"] = "failed"
    return {"call_id": call["call_id"], "tool_name": call["tool_name"], "content": content,
            "metadata": metadata or None}


@dataclass
class _Inference:
    step_id: str
    started_at: str
    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class StepStream:
    """Feeds on the engine's events, gives the turn's chunks and keeps its completed steps."""

    turn_id: str
    steps: list[dict[str, Any]] = field(default_factory=list)
    # The server calls of the last model call as the model made them ({"id", "function": {name, arguments}}):
    # an output item announces a call before its arguments stream, the step needs them at once.
    model_calls: Callable[[], list[dict[str, Any]]] = list
    last_message: dict[str, Any] | None = None  # the last inference step's model_response
    client_calls: list[dict[str, Any]] = field(default_factory=list)  # function calls of the last step
    _inference: _Inference | None = None
    _held: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # server calls, by item id
    _running: dict[str, tuple[str, str, dict[str, Any]]] = field(default_factory=dict)

    def feed(self, event: StreamEvent) -> list[dict[str, Any]]:
        data = event.data if isinstance(event.data, dict) else event.data.model_dump()
        item = data.get("item")
        out: list[dict[str, Any]] = []
        server_added = event.name == "response.output_item.added" and item is not None and item.type in SERVER_CALLS
        if self._held and not server_added:
            out += self._start_tools()
        if event.name == "response.output_item.added" and item is not None:
            if item.type in ("message", "function_call", "reasoning") or server_added:
                out += self._open()
            if server_added:
                call = self._as_made(tool_call_of(item))
                assert self._inference is not None
                self._inference.tool_calls.append(call)
                self._held.append((item.id, call))
                out.append(step_progress("inference", self._inference.step_id, _call_delta(call, "succeeded")))
        elif event.name == "response.output_text.delta" and self._inference is not None:
            self._inference.text += data["delta"]
            out.append(step_progress("inference", self._inference.step_id, {"type": "text", "text": data["delta"]}))
        elif event.name == "response.output_item.done" and item is not None:
            if item.type == "function_call" and self._inference is not None:
                call = tool_call_of(item)
                self._inference.tool_calls.append(call)
                self.client_calls.append(call)
                out.append(step_progress("inference", self._inference.step_id, _call_delta(call, "succeeded")))
            elif item.type in SERVER_CALLS and item.id in self._running:
                out += self._finish_tool(item)
        return out

    def close(self, status: str) -> list[dict[str, Any]]:
        """At the response's end: the open inference step completes (out_of_tokens when cut short)."""
        out = self._start_tools() if self._held else []
        if self._inference is not None:
            out.append(self._complete_inference("out_of_tokens" if status == "incomplete" else None))
        return out

    def _as_made(self, call: dict[str, Any]) -> dict[str, Any]:
        """The call with the id and arguments the model gave (the k-th server call of the model call)."""
        assert self._inference is not None
        made = self.model_calls()
        index = len([c for c in self._inference.tool_calls if c["call_id"] not in self._client_ids()])
        if index < len(made) and call["tool_name"] != "knowledge_search":
            function = made[index].get("function", {})
            return {**call, "call_id": made[index].get("id", call["call_id"]),
                    "arguments": function.get("arguments", call["arguments"])}
        if index < len(made):  # file_search: keep the model's call id, the query as Llama Stack's argument
            return {**call, "call_id": made[index].get("id", call["call_id"])}
        return call

    def _client_ids(self) -> set[str]:
        return {c["call_id"] for c in self.client_calls}

    def _open(self) -> list[dict[str, Any]]:
        if self._inference is not None:
            return []
        self._inference = _Inference(new_id(), now())
        self.client_calls = []
        return [step_start("inference", self._inference.step_id)]

    def _complete_inference(self, stop_reason: str | None = None) -> dict[str, Any]:
        inference = self._inference
        assert inference is not None
        self._inference = None
        calls = inference.tool_calls
        message = {"role": "assistant", "content": "" if calls else inference.text,
                   "stop_reason": stop_reason or ("end_of_message" if calls else "end_of_turn"), "tool_calls": calls}
        self.last_message = message
        step = {"turn_id": self.turn_id, "step_id": inference.step_id, "started_at": inference.started_at,
                "completed_at": now(), "step_type": "inference", "model_response": message}
        self.steps.append(step)
        return step_complete(step)

    def _start_tools(self) -> list[dict[str, Any]]:
        out = [self._complete_inference()] if self._inference is not None else []
        for item_id, call in self._held:
            step_id = new_id()
            self._running[item_id] = (step_id, now(), call)
            out.append(step_start("tool_execution", step_id))
            out.append(step_progress("tool_execution", step_id, _call_delta(call, "in_progress")))
        self._held = []
        return out

    def _finish_tool(self, item: Any) -> list[dict[str, Any]]:
        step_id, started_at, call = self._running.pop(item.id)
        step = {"turn_id": self.turn_id, "step_id": step_id, "started_at": started_at, "completed_at": now(),
                "step_type": "tool_execution", "tool_calls": [call], "tool_responses": [tool_response_of(item, call)]}
        self.steps.append(step)
        return [step_complete(step)]


def _call_delta(call: dict[str, Any], status: str) -> dict[str, Any]:
    return {"type": "tool_call", "tool_call": call, "parse_status": status}
