"""Errors of the HTTP layer: 405 lists every method of the path; nothing becomes a bare 500."""

import httpx
import orjson
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from polystack.core.server.errors import UnhandledErrorMiddleware, install_error_handlers


@pytest.mark.parametrize(("path", "methods"), [
    ("/v1/models", {"GET", "POST"}),
    ("/v1/models/my-alias", {"GET", "DELETE"}),
    ("/v1/chat/completions", {"GET", "POST"}),
])
async def test_405_allow_header_lists_every_method_of_the_path(stack, path, methods):
    response = await stack.http.put(path)
    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert methods <= allowed and "PUT" not in allowed
    assert response.json()["error"]["type"] == "invalid_request_error"


async def test_a_union_field_error_names_the_field_and_the_member_that_fits(stack):
    body = {"model": "scripted/scripted-embedding", "input": ["x"] * 3000}
    error = (await stack.http.post("/v1/embeddings", json=body)).json()["error"]
    assert error["param"] == "input" and "2048" in error["message"]
    body = {"model": "scripted/scripted-embedding", "input": [1, -1]}
    assert (await stack.http.post("/v1/embeddings", json=body)).json()["error"]["param"] == "input[1]"


async def test_an_unexpected_exception_is_one_logged_500_that_is_not_re_raised(caplog):
    async def failing(scope, receive, send):
        raise RuntimeError("bug with a secret sk-123")

    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/x", "headers": []}
    await UnhandledErrorMiddleware(failing)(scope, None, send)  # returns: uvicorn keeps the connection
    assert sent[0]["status"] == 500
    body = orjson.loads(sent[1]["body"])
    assert body["error"] == {"message": "Internal server error.", "type": "server_error", "param": None, "code": None}
    assert "RuntimeError" in caplog.text


async def test_a_model_validated_inside_a_handler_from_request_data_is_400_naming_the_field():
    class Params(BaseModel):
        max_chunks: int

    app = FastAPI()
    install_error_handlers(app)

    @app.post("/query")
    async def query(body: dict) -> dict:
        return Params.model_validate(body["params"]).model_dump()

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://x") as client:
        response = await client.post("/query", json={"params": {"max_chunks": "many"}})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "max_chunks" and response.json()["error"]["code"] == "invalid_request"
