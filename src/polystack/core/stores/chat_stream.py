"""Folds a stream of chat completion chunks back into the ChatCompletion it amounts to."""

from __future__ import annotations

from typing import Any

from polystack.apis.inference.types import ChatCompletion, ChatCompletionChunk


class ChatStreamAccumulator:
    """Feed every chunk; `completion()` then gives the whole response (content, tool calls, usage)."""

    def __init__(self) -> None:
        self._id = ""
        self._created = 0
        self._model = ""
        self._choices: dict[int, dict[str, Any]] = {}
        self._usage: Any = None

    def add(self, chunk: ChatCompletionChunk) -> None:
        self._id = self._id or chunk.id
        self._created = self._created or chunk.created
        self._model = chunk.model or self._model
        if chunk.usage is not None:
            self._usage = chunk.usage.model_dump()
        for choice in chunk.choices:
            state = self._choices.setdefault(choice.index, {"content": [], "tool_calls": {}, "finish_reason": None,
                                                           "refusal": []})
            delta = choice.delta
            if delta.content:
                state["content"].append(delta.content)
            if delta.refusal:
                state["refusal"].append(delta.refusal)
            for call in delta.tool_calls or []:
                slot = state["tool_calls"].setdefault(call.index, {"id": "", "type": "function",
                                                                  "function": {"name": "", "arguments": ""}})
                slot["id"] = call.id or slot["id"]
                if call.function is not None:
                    slot["function"]["name"] += call.function.name or ""
                    slot["function"]["arguments"] += call.function.arguments or ""
            if choice.finish_reason:
                state["finish_reason"] = choice.finish_reason

    def completion(self) -> ChatCompletion:
        choices = []
        for index, state in sorted(self._choices.items()):
            message: dict[str, Any] = {"role": "assistant", "content": "".join(state["content"]) or None}
            if state["refusal"]:
                message["refusal"] = "".join(state["refusal"])
            if state["tool_calls"]:
                message["tool_calls"] = [call for _, call in sorted(state["tool_calls"].items())]
            choices.append({"index": index, "message": message, "finish_reason": state["finish_reason"] or "stop"})
        body: dict[str, Any] = {"id": self._id, "object": "chat.completion", "created": self._created,
                                "model": self._model, "choices": choices}
        if self._usage is not None:
            body["usage"] = self._usage
        return ChatCompletion.model_validate(body)
