"""The Responses API on `starter` (the embedded SmolLM2) end to end with the openai SDK: shapes only, never wording."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

CHAT_MODEL = "llama-cpp/SmolLM2-135M-Instruct"
EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
WEATHER = {"type": "function", "name": "get_weather", "description": "Get the current weather in a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}

pytestmark = pytest.mark.slow


@pytest.fixture
def client(starter_server):  # type: ignore[no-untyped-def]
    return openai.OpenAI(base_url=f"{starter_server.base_url}/v1", api_key="none")


def test_an_answer_from_the_embedded_model_is_a_valid_response(client):
    response = client.responses.create(model=CHAT_MODEL, input="Name a colour.", max_output_tokens=12)
    Response.model_validate(response.model_dump(mode="json", by_alias=True))
    assert response.status in ("completed", "incomplete") and response.output_text
    if response.status == "incomplete":
        assert response.incomplete_details.reason == "max_output_tokens"
    assert response.usage.output_tokens > 0 and response.usage.input_tokens > 0
    assert client.responses.retrieve(response.id).output_text == response.output_text


def test_a_streamed_answer_is_numbered_valid_and_whole(client):
    with client.responses.create(model=CHAT_MODEL, input="Say hi.", max_output_tokens=12, stream=True) as stream:
        events = list(stream)
    for number, event in enumerate(events):
        EVENTS.validate_python(event.model_dump(mode="json", by_alias=True))
        assert event.sequence_number == number
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert events[-1].type in ("response.completed", "response.incomplete")
    assert deltas and deltas == events[-1].response.output_text


def test_a_required_function_call_and_its_answer(client):
    first = client.responses.create(model=CHAT_MODEL, input="What is the weather in Paris?", tools=[WEATHER],
                                    tool_choice="required", max_output_tokens=64)
    calls = [item for item in first.output if item.type == "function_call"]
    assert calls and calls[0].name == "get_weather" and isinstance(json.loads(calls[0].arguments), dict)
    second = client.responses.create(model=CHAT_MODEL, previous_response_id=first.id, max_output_tokens=16,
                                     input=[{"type": "function_call_output", "call_id": calls[0].call_id,
                                             "output": "sunny, 24 C"}])
    assert second.status in ("completed", "incomplete") and second.output
