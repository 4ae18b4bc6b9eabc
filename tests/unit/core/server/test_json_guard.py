"""JSON bodies the server could not write back are a 400 naming the field, never a 500."""

import pytest

from polystack.core.server.json_guard import body_problem

DEEP_SCHEMA = '{"type": "json_schema", "json_schema": {"name": "n", "schema": {"a": %s}}}'


def chat(content: str, **extra: str) -> bytes:
    fields = "".join(f', "{k}": {v}' for k, v in extra.items())
    return f'{{"model": "my-alias", "messages": [{{"role": "user", "content": {content}}}]{fields}}}'.encode()


@pytest.mark.parametrize(("body", "param"), [
    (chat('"x\\ud800"'), "messages[0].content"),
    (chat('"x"', max_tokens="18446744073709551616"), "max_tokens"),
    (chat('"x"', seed="-9223372036854775809"), "seed"),
    (chat('"x"', response_format=DEEP_SCHEMA % ("[" * 300 + "]" * 300)), "response_format.json_schema.schema.a"),
    (chat('"x"', response_format=DEEP_SCHEMA % ("[" * 5000 + "]" * 5000)), None),
], ids=["lone-surrogate", "max-tokens-beyond-64-bits", "seed-below-int64", "nested-300", "nested-5000"])
async def test_unwritable_json_is_400_naming_the_field(stack, body, param):
    response = await stack.http.post("/v1/chat/completions", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    if param:
        assert error["param"].startswith(param)


async def test_embeddings_input_with_a_lone_surrogate_is_400(stack):
    body = b'{"model": "scripted/scripted-embedding", "input": ["ok", "\\udfff"]}'
    response = await stack.http.post("/v1/embeddings", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["param"] == "input[1]"


def test_good_json_and_non_json_bodies_are_left_to_the_route():
    assert body_problem(b'{"a": [1, 2, 1.5, "\\u00e9", 9223372036854775807]}', 64) is None
    assert body_problem(b'{"a": 1.00000000000000000000001}', 64) is None
    assert body_problem(b"{nope", 64) is None
