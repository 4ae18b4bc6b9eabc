"""The in-process client drives the same app as the server: same routes, same errors, real streaming."""

import asyncio

import httpx
import openai
import pytest

import polystack
from polystack.core.config import parse_run_config


def scripted_config(replies=None):
    return parse_run_config(
        {
            "distro_name": "scripted",
            "providers": {
                "inference": [
                    {
                        "provider_id": "scripted",
                        "provider_type": "inline::scripted",
                        "config": {"replies": replies or []},
                    }
                ]
            },
            "registered_resources": {"models": [{"model_id": "my-alias", "provider_model_id": "scripted-model"}]},
        },
        env={},
    )


@pytest.fixture
async def stack():
    async with polystack.connect(scripted_config()) as stack:
        yield stack


async def test_models_list_in_openai_shape_with_custom_metadata(stack):
    models = {m.id: m for m in (await stack.openai.models.list()).data}
    assert {"scripted/scripted-model", "scripted/scripted-embedding", "my-alias"} <= set(models)
    meta = models["scripted/scripted-embedding"].custom_metadata
    assert meta["model_type"] == "embedding" and meta["provider_id"] == "scripted"
    assert meta["provider_resource_id"] == "scripted-embedding"


async def test_chat_through_an_alias_reports_the_alias(stack):
    reply = await stack.openai.chat.completions.create(
        model="my-alias", messages=[{"role": "user", "content": "echo me"}]
    )
    assert reply.choices[0].message.content == "echo me"
    assert reply.model == "my-alias"


async def test_streaming_arrives_chunk_by_chunk(stack):
    stream = await stack.openai.chat.completions.create(
        model="scripted/scripted-model",
        messages=[{"role": "user", "content": "one two three"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content)
    assert text == "one two three"
    assert chunks[-1].usage.total_tokens == 2


async def test_unknown_model_is_404_with_openai_error_body(stack):
    with pytest.raises(openai.NotFoundError) as info:
        await stack.openai.chat.completions.create(model="missing", messages=[{"role": "user", "content": "x"}])
    assert info.value.body["code"] == "model_not_found"
    assert "missing" in info.value.body["message"] and "/v1/models" in info.value.body["message"]


async def test_invalid_body_is_400_naming_the_field(stack):
    response = await stack.http.post(
        "/v1/chat/completions",
        json={
            "model": "my-alias",
            "messages": [],
        },
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "messages"
    response = await stack.http.post(
        "/v1/chat/completions",
        json={"model": "my-alias", "messages": [{"role": "user", "content": "x"}], "temperature": 9},
    )
    assert response.status_code == 400 and response.json()["error"]["param"] == "temperature"


async def test_not_json_body_is_400(stack):
    response = await stack.http.post(
        "/v1/chat/completions", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and "JSON" in response.json()["error"]["message"]


async def test_embedding_model_refuses_chat_and_chat_model_refuses_embeddings(stack):
    with pytest.raises(openai.BadRequestError, match="embedding model"):
        await stack.openai.chat.completions.create(
            model="scripted/scripted-embedding", messages=[{"role": "user", "content": "x"}]
        )
    with pytest.raises(openai.BadRequestError, match="not an embedding model"):
        await stack.openai.embeddings.create(model="my-alias", input="x")


async def test_register_alias_then_unregister(stack):
    created = await stack.http.post(
        "/v1/models", json={"model_id": "short", "provider_model_id": "scripted-model", "provider_id": "scripted"}
    )
    assert created.status_code == 200 and created.json()["id"] == "short"
    reply = await stack.openai.chat.completions.create(model="short", messages=[{"role": "user", "content": "hi"}])
    assert reply.model == "short"
    assert (await stack.http.delete("/v1/models/short")).status_code == 204
    assert (await stack.http.get("/v1/models/short")).status_code == 404


async def test_conflicting_registration_is_409(stack):
    response = await stack.http.post("/v1/models", json={"model_id": "my-alias", "provider_model_id": "other"})
    assert response.status_code == 409 and response.json()["error"]["param"] == "model_id"


async def test_listed_models_cannot_be_unregistered(stack):
    response = await stack.http.delete("/v1/models/scripted/scripted-model")
    assert response.status_code == 400


async def test_provider_data_header_must_be_json(stack):
    response = await stack.http.get("/v1/models", headers={"X-LlamaStack-Provider-Data": "{not json"})
    assert response.status_code == 400


async def test_unknown_route_is_404_in_openai_shape(stack):
    response = await stack.http.get("/v1/nothing-here")
    assert response.status_code == 404 and "error" in response.json()


async def test_providers_inspect_health_version(stack):
    providers = (await stack.http.get("/v1/providers")).json()["data"]
    assert providers[0]["provider_type"] == "inline::scripted"
    routes = (await stack.http.get("/v1/inspect/routes")).json()["data"]
    assert {"route": "/v1/chat/completions", "method": "POST", "provider_types": ["inline::scripted"]} in routes
    assert (await stack.http.get("/v1/health")).json() == {"status": "OK"}
    assert (await stack.http.get("/v1/version")).json()["version"] == polystack.__version__
    assert (await stack.http.get("/v1/providers/none")).status_code == 404


async def test_openapi_document_lists_the_routes(stack):
    paths = (await stack.http.get("/openapi.json")).json()["paths"]
    assert {"/v1/chat/completions", "/v1/models", "/v1/models/{model_id}", "/v1/providers"} <= set(paths)


async def test_closing_a_stream_early_cancels_the_app():
    async with polystack.connect(scripted_config([{"content": " ".join(["w"] * 50)}])) as stack:
        async with stack.http.stream(
            "POST",
            "/v1/chat/completions",
            json={"model": "my-alias", "stream": True, "messages": [{"role": "user", "content": "x"}]},
        ) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            async for _ in response.aiter_lines():
                break
        # the stack still serves after the abandoned stream
        reply = await stack.openai.chat.completions.create(
            model="my-alias", messages=[{"role": "user", "content": "x"}]
        )
        assert reply.choices[0].message.content


async def test_library_transport_streams_before_the_body_ends():
    """The first SSE event arrives while the app is still producing the rest."""
    from starlette.responses import StreamingResponse

    from polystack.core.asgi_transport import StreamingASGITransport

    release = asyncio.Event()

    async def slow_body():
        yield b"data: first\n\n"
        await release.wait()
        yield b"data: second\n\n"

    async def app(scope, receive, send):
        await StreamingResponse(slow_body(), media_type="text/event-stream")(scope, receive, send)

    async with httpx.AsyncClient(transport=StreamingASGITransport(app), base_url="http://x") as client:
        async with client.stream("GET", "/") as response:
            lines = response.aiter_lines()
            assert await asyncio.wait_for(lines.__anext__(), 2) == "data: first"
            release.set()
            rest = [line async for line in lines if line]
            assert rest == ["data: second"]


async def test_the_library_client_is_authenticated_and_judged_as_http_callers_are(tmp_path):
    def config():
        raw = scripted_config().model_dump(mode="json", exclude_none=True)
        raw["server"]["auth"] = {"provider_config": {"type": "api_keys", "keys": [
            {"key": "k-alice", "principal": "alice"}, {"key": "k-bob", "principal": "bob"}]}}
        raw["storage"] = {"backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")},
                                       "kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
                          "stores": {"metadata": {"backend": "kv"}, "inference": {"backend": "sql"}}}
        return parse_run_config(raw, env={})

    async with polystack.connect(config()) as anonymous:
        with pytest.raises(openai.AuthenticationError):
            await anonymous.openai.models.list()
    async with polystack.connect(config(), api_key="k-alice") as alice:
        reply = await alice.openai.chat.completions.create(model="my-alias",
                                                           messages=[{"role": "user", "content": "x"}])
        assert (await alice.openai.chat.completions.retrieve(reply.id)).id == reply.id
    async with polystack.connect(config(), api_key="k-bob") as bob:
        with pytest.raises(openai.NotFoundError):
            await bob.openai.chat.completions.retrieve(reply.id)
        assert (await bob.openai.chat.completions.list()).data == []
