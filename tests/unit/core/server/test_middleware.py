"""The provider-data header: anything that could not go out in an upstream request is a 400, never echoed."""

import pytest


@pytest.mark.parametrize("raw", [
    b'{"openai_api_key": "sk-\\u0001secret"}',
    b'{"openai_api_key": "sk-\\u00e9secret"}',
    b'{"openai_api_key": "sk-\xc3\xa9secret"}',
    b'{"openai_api_key": "sk-\\r\\nX-Injected: 1"}',
    b'{"extra": {"nested": ["sk-\\u007fsecret"]}}',
    b'{"openai_api_key": "\xff"}',
    b'["not", "an", "object"]',
    b'{"a": ' + b"[" * 1020 + b"]" * 1020 + b"}",
])
async def test_provider_data_with_control_or_non_ascii_characters_is_400(stack, raw):
    response = await stack.http.get("/v1/models", headers={"X-LlamaStack-Provider-Data": raw})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "X-LlamaStack-Provider-Data" and error["type"] == "invalid_request_error"
    assert "secret" not in response.text


async def test_plain_provider_data_passes(stack):
    response = await stack.http.get("/v1/models", headers={"X-LlamaStack-Provider-Data": '{"openai_api_key": "sk-1"}'})
    assert response.status_code == 200
