"""A response in a conversation, and one from a stored prompt, through the two small interfaces the
Conversations and Prompts APIs serve (here in-test fakes of them, named as such)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import openai
import pytest

from polystack.apis.errors import NotFoundError
from tests.unit.core.responses.conftest import MODEL, record, valid


class FakeConversations:
    """Fake of the Conversations API's Python interface: items per conversation id, in memory."""

    def __init__(self) -> None:
        self.items: dict[str, list[dict[str, Any]]] = {"conv_1": [
            {"type": "message", "id": "msg_a", "role": "user", "status": "completed",
             "content": [{"type": "input_text", "text": "My name is Ada."}]},
            {"type": "compaction", "id": "cmp_1", "encrypted_content": "..."}]}  # a type unknown here: left out

    async def context_items(self, conversation_id: str, *, writable: bool = False) -> list[dict[str, Any]]:
        if conversation_id not in self.items:
            raise NotFoundError(f"Conversation {conversation_id} not found", param="conversation")
        return list(self.items[conversation_id])

    async def add_items(self, conversation_id: str, items: list[dict[str, Any]]) -> Any:
        self.items[conversation_id].extend(items)


@dataclass
class FakePrompt:
    prompt: str
    version: int
    variables: list[str] = field(default_factory=list)


class FakePrompts:
    """Fake of the Prompts API's Python interface: one prompt with two versions."""

    async def get_prompt(self, prompt_id: str, version: int | None) -> FakePrompt:
        if prompt_id != "pmpt_1":
            raise NotFoundError(f"Prompt {prompt_id} not found", param="prompt")
        if version == 1:
            return FakePrompt("Be terse.", 1)
        return FakePrompt("You help {{ user }} with {{topic}}.", 2, ["user", "topic"])


async def test_a_conversation_is_read_as_context_and_gets_the_new_items(connect):
    conversations = FakeConversations()
    async with connect([{"content": "Hello Ada."}]) as stack:
        stack.stack.impls["conversations"] = conversations
        recorder = record(stack)
        response = await stack.openai.responses.create(model=MODEL, input="Who am I?", conversation="conv_1")
        with pytest.raises(openai.NotFoundError) as info:
            await stack.openai.responses.create(model=MODEL, input="?", conversation={"id": "conv_missing"})
    assert valid(response).conversation.id == "conv_1"
    assert [(m.role, m.content) for m in recorder.requests[0].messages] == [
        ("user", "My name is Ada."), ("user", "Who am I?")]
    kept = conversations.items["conv_1"]
    assert [(i["type"], i.get("role")) for i in kept] == [("message", "user"), ("compaction", None),
                                                          ("message", "user"), ("message", "assistant")]
    assert kept[-1]["id"] == response.output[0].id and kept[2]["id"].startswith("msg_")
    assert info.value.body["param"] == "conversation"


async def test_without_the_conversations_api_a_conversation_is_a_400(connect):
    async with connect([]) as stack:
        with pytest.raises(openai.BadRequestError) as info:
            await stack.openai.responses.create(model=MODEL, input="?", conversation="conv_1")
    assert info.value.body["param"] == "conversation"


async def test_a_prompt_is_rendered_into_the_instructions(connect):
    async with connect([{"content": "ok"}]) as stack:
        stack.stack.impls["prompts"] = FakePrompts()
        recorder = record(stack)
        response = await stack.openai.responses.create(
            model=MODEL, input="hi", instructions="Answer in French.",
            prompt={"id": "pmpt_1", "variables": {"user": "Ada", "topic": "maths"}})
        older = await stack.openai.responses.create(model=MODEL, input="hi", prompt={"id": "pmpt_1", "version": "1"})
    assert recorder.requests[0].messages[0].content == "You help Ada with maths.\n\nAnswer in French."
    assert valid(response).instructions == "You help Ada with maths.\n\nAnswer in French."
    assert response.prompt.id == "pmpt_1" and response.prompt.variables == {"user": "Ada", "topic": "maths"}
    assert older.instructions == "Be terse."


@pytest.mark.parametrize(("variables", "param"), [
    ({"user": "Ada"}, "prompt.variables.topic"),
    ({"user": "Ada", "topic": "x", "mood": "calm"}, "prompt.variables.mood"),
])
async def test_a_missing_or_undeclared_prompt_variable_is_a_400_naming_it(connect, variables, param):
    async with connect([]) as stack:
        stack.stack.impls["prompts"] = FakePrompts()
        with pytest.raises(openai.BadRequestError) as info:
            await stack.openai.responses.create(model=MODEL, input="hi",
                                                prompt={"id": "pmpt_1", "variables": variables})
    assert info.value.body["param"] == param


async def test_an_unknown_prompt_is_a_404(connect):
    async with connect([]) as stack:
        stack.stack.impls["prompts"] = FakePrompts()
        with pytest.raises(openai.NotFoundError):
            await stack.openai.responses.create(model=MODEL, input="hi", prompt={"id": "pmpt_nope"})


async def test_input_tokens_count_the_conversation_too(connect):
    async with connect([]) as stack:
        stack.stack.impls["conversations"] = FakeConversations()
        alone = (await stack.http.post("/v1/responses/input_tokens", json={"input": "hi"})).json()
        within = (await stack.http.post("/v1/responses/input_tokens",
                                        json={"input": "hi", "conversation": "conv_1"})).json()
    assert within["input_tokens"] == alone["input_tokens"] + 5  # "My name is Ada." is 5 tokens
