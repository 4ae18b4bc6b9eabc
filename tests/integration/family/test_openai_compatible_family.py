"""Every OpenAI-compatible remote provider, end to end against a real llama_cpp.server serving SmolLM2.

Three tiers (see conftest.py for the modes):

- in-process, every provider type: models, chat, streamed chat, legacy completion through
  `polystack.connect` and the openai SDK; replayed from `recordings/` by default. All 14 providers
  send the same upstream requests, so they share one small set of cassettes.
- a real `polystack run` subprocess on remote::llama-cpp-server, live only: tools, JSON mode and the
  error paths (5xx answers and refused connections are never recorded, so these cannot replay).
- per-request keys from X-LlamaStack-Provider-Data, against a fake loopback backend of our own
  (always runs: it needs no model).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import uvicorn
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import polystack
from polystack.core.config import RunConfig, parse_run_config
from polystack.providers.registry.inference import OPENAI_COMPATIBLE
from polystack.testing.settings import MODE_ENV

FAMILY = sorted(OPENAI_COMPATIBLE)
KEYLESS = {"vllm", "ollama", "llama-cpp-server", "tgi"}  # self-hosted servers usually run without a key
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
SECRET = "sk-family-secret-4f9c2a7e1d"


def family_config(name: str, base_url: str, *, api_key: str | None = "test-key") -> RunConfig:
    """A one-provider run config: provider_id is the provider type's name."""
    config: dict[str, Any] = {"base_url": base_url}
    if api_key and name not in KEYLESS:
        config["api_key"] = api_key
    return parse_run_config({
        "distro_name": f"family-{name}",
        "providers": {"inference": [{"provider_id": name, "provider_type": f"remote::{name}", "config": config}]},
        "models": {"refresh_interval_seconds": 0},
    }, env={})


# ---- tier 1: every provider type in-process (cassettes) -------------------------------------------


@pytest.fixture(scope="module", params=FAMILY)
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
async def stack(provider: str, upstream: Any, cassettes: Any) -> AsyncIterator[Any]:
    """One in-process stack per provider type, shared by that provider's tests."""
    with cassettes():
        library = await polystack.connect(family_config(provider, upstream.base_url)).start()
    try:
        yield library
    finally:
        await library.close()


async def test_models_list_shows_the_served_model_under_the_provider_id(stack: Any, provider: str) -> None:
    models = {model.id: model for model in (await stack.openai.models.list()).data}
    assert set(models) == {f"{provider}/smollm2"}
    meta = models[f"{provider}/smollm2"].custom_metadata
    assert meta == {"model_type": "llm", "provider_id": provider, "provider_resource_id": "smollm2"}


async def test_chat_completion_answers_under_the_callers_model_id(stack: Any, provider: str) -> None:
    reply = await stack.openai.chat.completions.create(
        model=f"{provider}/smollm2", messages=QUESTION, max_tokens=8, temperature=0)
    assert reply.model == f"{provider}/smollm2"
    assert reply.choices[0].message.content  # the upstream's text, passed through (its words are the model's)
    assert reply.choices[0].finish_reason in ("stop", "length")
    assert 0 < reply.usage.completion_tokens <= 8
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens


async def test_streamed_chat_chunks_concatenate_to_the_answer(stack: Any, provider: str) -> None:
    stream = await stack.openai.chat.completions.create(
        model=f"{provider}/smollm2", messages=QUESTION, max_tokens=8, temperature=0, stream=True,
        stream_options={"include_usage": True})
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    assert {chunk.model for chunk in chunks} == {f"{provider}/smollm2"}
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] \
        in (["stop"], ["length"])
    usage = [chunk for chunk in chunks if chunk.usage]
    # llama_cpp.server 0.3.36 ignores stream_options.include_usage; a server that honours it sends
    # exactly one last chunk with usage and no choices.
    if usage:
        assert usage == chunks[-1:] and not chunks[-1].choices and chunks[-1].usage.completion_tokens > 0


async def test_a_stream_always_asks_the_upstream_for_usage_but_shows_it_only_to_callers_who_asked(
        stack: Any, provider: str) -> None:
    # The same upstream request as the test above (its cassette answers it): the router adds include_usage.
    stream = await stack.openai.chat.completions.create(
        model=f"{provider}/smollm2", messages=QUESTION, max_tokens=8, temperature=0, stream=True)
    chunks = [chunk async for chunk in stream]
    assert chunks and all(chunk.choices for chunk in chunks) and not any(chunk.usage for chunk in chunks)


async def test_legacy_completion_continues_the_prompt(stack: Any, provider: str) -> None:
    reply = await stack.openai.completions.create(
        model=f"{provider}/smollm2", prompt="The capital of France is", max_tokens=8, temperature=0)
    assert reply.model == f"{provider}/smollm2"
    assert reply.object == "text_completion"
    assert reply.choices[0].text
    assert 0 < reply.usage.completion_tokens <= 8


async def test_streamed_legacy_completion_concatenates_to_the_continuation(stack: Any, provider: str) -> None:
    stream = await stack.openai.with_options(max_retries=0).completions.create(
        model=f"{provider}/smollm2", prompt="The capital of France is", max_tokens=4, temperature=0, stream=True)
    chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].text for c in chunks if c.choices)
    assert {chunk.model for chunk in chunks} == {f"{provider}/smollm2"}


# ---- tier 2: a real `polystack run` against the live llama server ---------------------------------


def _write_config(directory: Path, providers: list[dict[str, Any]]) -> str:
    path = directory / "run.yaml"
    path.write_text(yaml.safe_dump({
        "version": 2, "distro_name": "family-live", "providers": {"inference": providers},
        "models": {"refresh_interval_seconds": 0},
    }))
    return str(path)


def _llama_cpp_server_entry(provider_id: str, base_url: str) -> dict[str, Any]:
    return {"provider_id": provider_id, "provider_type": "remote::llama-cpp-server",
            "config": {"base_url": base_url, "api_key": "${env.FAMILY_LLAMA_KEY}"}}


@pytest.fixture(scope="module")
def polystack_server(live_upstream: Any, server_factory: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`polystack run` with remote::llama-cpp-server on the live llama server; its key comes from env."""
    config = _write_config(tmp_path_factory.mktemp("family-run"),
                           [_llama_cpp_server_entry("llama-cpp-server", live_upstream.base_url)])
    return server_factory(config, env={MODE_ENV: "live", "FAMILY_LLAMA_KEY": SECRET})


@pytest.fixture
async def server_client(polystack_server: Any) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=f"{polystack_server.base_url}/v1", api_key="none",
                                  max_retries=0, timeout=120) as client:
        yield client


def assert_clean_provider_error(response: httpx.Response, provider_id: str) -> str:
    """The OpenAI error body of a provider failure: names the provider, no trace, no key. Its message."""
    error = response.json()["error"]
    assert error["type"] == "api_error" and error["code"] in ("provider_error", "provider_timeout")
    assert f"Provider '{provider_id}'" in error["message"]
    assert "Traceback" not in response.text and SECRET not in response.text
    return str(error["message"])


# "auto" also works against llama_cpp.server but costs over a minute on 2 loaded cores (its
# chatml-function-calling handler runs several grammar-constrained passes); the inline provider tests it.
@pytest.mark.parametrize("tool_choice", [
    {"type": "function", "function": {"name": "get_weather"}},
    pytest.param("required", marks=pytest.mark.xfail(
        strict=True, raises=openai.InternalServerError,
        reason="llama_cpp.server's chatml-function-calling asserts tool_choice == 'auto' (HTTP 500); "
               "remote::llama-cpp-server could send a named choice when there is exactly one tool")),
], ids=["named", "required"])
async def test_tool_choice_produces_a_weather_tool_call(server_client: openai.AsyncOpenAI, tool_choice: Any) -> None:
    reply = await server_client.chat.completions.create(
        model="llama-cpp-server/smollm2", messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=[WEATHER_TOOL], tool_choice=tool_choice, max_tokens=32, temperature=0)
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.function.name == "get_weather" and call.id
    assert isinstance(json.loads(call.function.arguments)["city"], str)  # the tool's schema, not the model's words


async def test_streamed_named_tool_call_arguments_concatenate_to_json(server_client: openai.AsyncOpenAI) -> None:
    stream = await server_client.chat.completions.create(
        model="llama-cpp-server/smollm2", messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=[WEATHER_TOOL], tool_choice={"type": "function", "function": {"name": "get_weather"}},
        max_tokens=32, temperature=0, stream=True)
    deltas = [call for chunk in [c async for c in stream] if chunk.choices
              for call in chunk.choices[0].delta.tool_calls or []]
    assert deltas[0].function.name == "get_weather" and deltas[0].id
    assert isinstance(json.loads("".join(d.function.arguments or "" for d in deltas))["city"], str)


async def test_json_object_response_format_replies_with_json(server_client: openai.AsyncOpenAI) -> None:
    reply = await server_client.chat.completions.create(
        model="llama-cpp-server/smollm2", messages=QUESTION, max_tokens=16, temperature=0,
        response_format={"type": "json_object"})
    assert reply.choices[0].message.content.lstrip().startswith("{")  # grammar-constrained, may be cut short
    # llama_cpp.server's own `schema` extension of json_object passes through our request types
    reply = await server_client.chat.completions.create(
        model="llama-cpp-server/smollm2", messages=QUESTION, max_tokens=24, temperature=0,
        response_format={"type": "json_object", "schema": WEATHER_TOOL["function"]["parameters"]})  # type: ignore[typeddict-unknown-key]
    if reply.choices[0].finish_reason == "stop":  # a longer city name is cut at max_tokens, and says "length"
        assert isinstance(json.loads(reply.choices[0].message.content)["city"], str)


async def test_upstream_500_on_json_schema_is_a_clean_502(polystack_server: Any) -> None:
    async with httpx.AsyncClient(base_url=polystack_server.base_url, timeout=120) as http:
        response = await http.post("/v1/chat/completions", json={
            "model": "llama-cpp-server/smollm2", "messages": QUESTION, "max_tokens": 8,
            "response_format": {"type": "json_schema", "json_schema": {
                "name": "city", "schema": WEATHER_TOOL["function"]["parameters"]}}})
    assert response.status_code == 502
    message = assert_clean_provider_error(response, "llama-cpp-server")
    assert "HTTP 500" in message and 'File "' not in message


async def test_unknown_upstream_model_is_answered_by_the_served_model(polystack_server: Any) -> None:
    async with httpx.AsyncClient(base_url=polystack_server.base_url, timeout=120) as http:
        response = await http.post("/v1/chat/completions", json={
            "model": "llama-cpp-server/no-such-model", "messages": QUESTION, "max_tokens": 4})
        listed = (await http.get("/v1/models")).json()["data"]
    # llama_cpp.server serves its one model whatever the name; a server that refuses (404) must
    # come back as our 404 naming the provider.
    if response.status_code == 404:
        assert "Provider 'llama-cpp-server'" in response.json()["error"]["message"]
    else:
        assert response.status_code == 200 and response.json()["model"] == "llama-cpp-server/no-such-model"
    assert [model["id"] for model in listed] == ["llama-cpp-server/smollm2"]


async def test_api_key_never_appears_in_responses_or_the_server_log(polystack_server: Any) -> None:
    chat = {"model": "llama-cpp-server/smollm2", "messages": QUESTION, "max_tokens": 4}
    async with httpx.AsyncClient(base_url=polystack_server.base_url, timeout=120) as http:
        responses = [
            await http.post("/v1/chat/completions", json=chat),
            await http.post("/v1/chat/completions", json={**chat, "stream": True}),
            await http.post("/v1/chat/completions", json={**chat, "response_format": {  # upstream 500
                "type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}}),
            await http.get("/v1/providers"),
            await http.get("/v1/models"),
        ]
    assert [r.status_code for r in responses] == [200, 200, 502, 200, 200]
    assert all(SECRET not in response.text for response in responses)
    assert SECRET not in polystack_server.log()


async def test_stopped_or_unreachable_upstream_is_a_502_naming_the_provider(
        spare_llama_server: Any, server_factory: Any, tmp_path: Path) -> None:
    unused = f"http://127.0.0.1:{_unused_port()}/v1"
    config = _write_config(tmp_path, [_llama_cpp_server_entry("stopped", spare_llama_server.base_url),
                                      _llama_cpp_server_entry("unreachable", unused)])
    server = server_factory(config, env={MODE_ENV: "live", "FAMILY_LLAMA_KEY": SECRET})
    spare_llama_server.stop()  # it answered the startup model listing; now it is gone
    async with httpx.AsyncClient(base_url=server.base_url, timeout=120) as http:
        models = [model["id"] for model in (await http.get("/v1/models")).json()["data"]]
        responses = {provider_id: await http.post("/v1/chat/completions", json={
            "model": f"{provider_id}/smollm2", "messages": QUESTION, "max_tokens": 4})
            for provider_id in ("stopped", "unreachable")}
    assert models == ["stopped/smollm2"]
    messages = {pid: assert_clean_provider_error(r, pid) for pid, r in responses.items()}
    assert SECRET not in server.log() and "Traceback" not in server.log()
    assert {pid: r.status_code for pid, r in responses.items()} == {"stopped": 502, "unreachable": 502}
    assert all("cannot reach" in message for message in messages.values())


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_refused_connection_is_a_502_naming_the_provider_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same check without any llama server, so it runs in replay mode (and CI) too."""
    monkeypatch.setenv(MODE_ENV, "live")
    config = family_config("openai", f"http://127.0.0.1:{_unused_port()}/v1", api_key=SECRET)
    async with polystack.connect(config) as stack:
        response = await stack.http.post("/v1/chat/completions", json={
            "model": "openai/gpt-4o-mini", "messages": QUESTION, "max_tokens": 4})
    assert_clean_provider_error(response, "openai")
    assert response.status_code == 502 and "cannot reach" in response.json()["error"]["message"]


# ---- tier 3: per-request keys, against a fake backend ---------------------------------------------


def provider_data_field(name: str) -> str:
    """The X-LlamaStack-Provider-Data field holding a provider's per-request key (see its config)."""
    return "vllm_api_token" if name == "vllm" else f"{name.replace('-', '_')}_api_key"


async def _echo_models(request: Request) -> JSONResponse:
    return JSONResponse({"object": "list", "data": [{"id": "echo", "object": "model", "owned_by": "fake"}]})


async def _echo_credentials(request: Request) -> JSONResponse:
    credentials = {name: request.headers[name] for name in ("authorization", "api-key") if name in request.headers}
    return JSONResponse({
        "id": "chatcmpl-echo", "object": "chat.completion", "created": 0, "model": "echo",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": json.dumps(credentials, sort_keys=True)}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    })


@pytest.fixture(scope="module")
def echo_backend() -> Iterator[str]:
    """A fake OpenAI-compatible backend (Starlette under uvicorn, on loopback, in a thread).

    Its chat completion's text is the credential headers it received, as JSON: what a provider
    really put on the wire, with no mock in between.
    """
    app = Starlette(routes=[Route("/v1/models", _echo_models),
                            Route("/v1/chat/completions", _echo_credentials, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="echo-backend", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the echo backend did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/v1"
    server.should_exit = True
    thread.join(10)


async def _echoed_credentials(stack: Any, provider_id: str) -> dict[str, str]:
    reply = await stack.openai.chat.completions.create(
        model=f"{provider_id}/echo", messages=[{"role": "user", "content": "who am I?"}])
    return dict(json.loads(reply.choices[0].message.content))


@pytest.mark.parametrize("name", FAMILY)
async def test_provider_data_key_reaches_the_upstream_as_the_credential(
        name: str, echo_backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODE_ENV, "live")  # our own fake backend: nothing to record
    config = family_config(name, echo_backend, api_key="sk-config-key")
    async with polystack.connect(config, provider_data={provider_data_field(name): "sk-user-key"}) as stack:
        credentials = await _echoed_credentials(stack, name)
    expected = {"api-key": "sk-user-key"} if name == "azure" else {"authorization": "Bearer sk-user-key"}
    assert credentials == expected


async def test_without_its_own_provider_data_field_the_configured_key_is_sent(
        echo_backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODE_ENV, "live")
    config = family_config("openai", echo_backend, api_key="sk-config-key")
    async with polystack.connect(config, provider_data={"groq_api_key": "sk-for-groq"}) as stack:
        assert await _echoed_credentials(stack, "openai") == {"authorization": "Bearer sk-config-key"}
    async with polystack.connect(config) as stack:
        assert await _echoed_credentials(stack, "openai") == {"authorization": "Bearer sk-config-key"}
