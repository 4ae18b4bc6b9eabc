"""The provider-data header: anything that could not go out in an upstream request is a 400, never echoed."""

import httpx
import orjson
import pytest

from polystack.core.access.config import AuthConfig
from polystack.core.request_context import request_context
from polystack.core.server.middleware import RequestContextMiddleware


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


# ---- the request context and authentication (a bare app that reports the context it ran in) ----------


AUTH = AuthConfig.model_validate({"provider_config": {"type": "api_keys", "keys": [
    {"key": "k-alice", "principal": "alice", "attributes": {"teams": ["blue"]}}]}})


async def _report(scope, receive, send):  # type: ignore[no-untyped-def]
    context = request_context()
    body = orjson.dumps({"user": context.user.model_dump() if context.user else None,
                         "provider_data": context.provider_data, "request_id": context.request_id,
                         "trace_id": context.trace_id, "span": context.parent_span_id})
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def _client(auth: AuthConfig | None) -> httpx.AsyncClient:
    app = RequestContextMiddleware(_report, auth=auth)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")



async def test_a_known_key_sets_its_principal_with_its_attributes():
    async with _client(AUTH) as client:
        seen = (await client.get("/v1/models", headers={"Authorization": "Bearer k-alice"})).json()
    assert seen["user"] == {"principal": "alice", "attributes": {"teams": ["blue"]}}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer k-alic"}, {"Authorization": "Basic k-alice"},
                                     {"Authorization": "Bearer"}])
async def test_a_missing_or_wrong_key_is_401_in_openai_shape_without_echoing_it(headers):
    async with _client(AUTH) as client:
        response = await client.get("/v1/models", headers=headers)
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["param"] == "Authorization"
    assert "k-alic" not in response.text


@pytest.mark.parametrize("path", ["/v1/health", "/v1/version"])
async def test_health_and_version_need_no_key(path):
    async with _client(AUTH) as client:
        response = await client.get(path)
    assert response.status_code == 200 and response.json()["user"] is None


async def test_without_auth_there_is_no_principal_and_each_request_its_own_id():
    async with _client(None) as client:
        first = (await client.get("/v1/models", headers={"Authorization": "Bearer anything"})).json()
        second = (await client.get("/v1/models")).json()
    assert first["user"] is None and first["request_id"] != second["request_id"]


async def test_the_context_carries_provider_data_request_id_and_trace_ids():
    headers = {"X-LlamaStack-Provider-Data": '{"openai_api_key": "sk-1"}', "X-Request-ID": "req-42",
               "traceparent": "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01"}
    async with _client(None) as client:
        seen = (await client.get("/v1/models", headers=headers)).json()
    assert seen["provider_data"] == {"openai_api_key": "sk-1"} and seen["request_id"] == "req-42"
    assert seen["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736" and seen["span"] == "00f067aa0ba902b7"


async def test_a_malformed_traceparent_is_ignored():
    async with _client(None) as client:
        seen = (await client.get("/v1/models", headers={"traceparent": "00-xyz-1-01"})).json()
    assert seen["trace_id"] is None and seen["span"] is None
