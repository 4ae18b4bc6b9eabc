"""Inference requests carry bounded lists and integers, so one request cannot cost unbounded memory."""

import pytest
from pydantic import ValidationError

from polystack.apis.inference.types import (
    MAX_BATCH_INPUTS,
    MAX_MESSAGES,
    MAX_TOKEN_IDS,
    MAX_TOOLS,
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingsRequest,
)

USER = {"role": "user", "content": "x"}


def first_field(info: pytest.ExceptionInfo[ValidationError]) -> str:
    return str(info.value.errors()[0]["loc"][0])


@pytest.mark.parametrize("extra", [
    {"messages": [USER] * (MAX_MESSAGES + 1)},
    {"tools": [{"type": "function", "function": {"name": f"f{i}"}} for i in range(MAX_TOOLS + 1)]},
    {"max_tokens": 2**63},
    {"max_completion_tokens": 2**31},
    {"seed": 2**63},
    {"seed": -(2**63) - 1},
    {"stop": ["x"] * 17},
])
def test_chat_requests_past_a_limit_are_refused_naming_the_field(extra):
    with pytest.raises(ValidationError) as info:
        ChatCompletionRequest(**{"model": "m", "messages": [USER], **extra})
    assert first_field(info) == next(iter(extra))


@pytest.mark.parametrize("value", [
    ["x"] * (MAX_BATCH_INPUTS + 1),
    [1] * (MAX_TOKEN_IDS + 1),
    [[1]] * (MAX_BATCH_INPUTS + 1),
    [[1] * (MAX_TOKEN_IDS + 1)],
    [[1] * 1000] * 301,
    [-1],
    [2**40],
])
def test_embeddings_input_and_completion_prompt_are_bounded(value):
    with pytest.raises(ValidationError) as info:
        EmbeddingsRequest(model="m", input=value)
    assert first_field(info) == "input"
    with pytest.raises(ValidationError) as info:
        CompletionRequest(model="m", prompt=value)
    assert first_field(info) == "prompt"


def test_requests_within_the_limits_validate():
    assert ChatCompletionRequest(model="m", messages=[USER] * 10, seed=-(2**63), max_tokens=2**31 - 1).seed
    assert EmbeddingsRequest(model="m", input=[[1, 2], [3]]).texts is None
    assert EmbeddingsRequest(model="m", input=["a", "b"]).texts == ["a", "b"]
    assert CompletionRequest(model="m", prompt=[1, 2, 3]).prompt == [1, 2, 3]
