"""Inference hooks run around every call, through the real stack, app and scripted provider (usage is 1 + 1 = 2)."""

from __future__ import annotations

import json
from typing import Any

import pytest

import polystack
from polystack.apis.datatypes import Api
from polystack.apis.errors import InvalidRequestError, PolystackError
from polystack.apis.inference.types import ChatCompletionRequest
from polystack.core.config import parse_run_config
from polystack.core.errors import StackError
from polystack.core.request_context import as_system
from polystack.core.routing.hooks import HookBase, HookChain, InferenceCall, StreamAbandoned

MODEL = "scripted/scripted-model"


def config(tmp_path: Any, hooks: list[dict[str, Any]] | None = None) -> Any:
    return parse_run_config({
        "distro_name": "hooks",
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}]},
        "storage": {
            "backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")},
                         "kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
            "stores": {"metadata": {"backend": "kv"}, "inference": {"backend": "sql"}},
        },
        "models": {"refresh_interval_seconds": 0},
        "inference_hooks": hooks or [],
    }, env={})


def ask(content: str, **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": content}], **extra}


class Meter(HookBase):
    """Usage metering: what every ended call used, and how it ended."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bool, Any, str | None]] = []

    async def after(self, call: InferenceCall) -> None:
        used = call.usage
        usage = (used.prompt_tokens, getattr(used, "completion_tokens", None), used.total_tokens) if used else None
        self.calls.append((call.kind, call.stream, usage, type(call.error).__name__ if call.error else None))


class Refuse(HookBase):
    async def before(self, call: InferenceCall) -> None:
        if "forbidden" in json.dumps(call.request.model_dump(mode="json")["messages"]):
            raise InvalidRequestError("the request breaks the usage policy", param="messages", code="policy")


class StopOnWord(HookBase):
    async def on_chunk(self, call: InferenceCall, chunk: Any) -> Any:
        if chunk.choices and "secret" in (chunk.choices[0].delta.content or ""):
            raise InvalidRequestError("the answer breaks the usage policy", code="policy")
        return chunk


def sse(body: str) -> list[Any]:
    events = [line[len("data: "):] for line in body.splitlines() if line.startswith("data: ")]
    return [event if event == "[DONE]" else json.loads(event) for event in events]


def router_of(library: Any) -> Any:
    return library.stack.impls[Api.inference]


async def test_a_metering_hook_gets_the_usage_of_plain_and_streamed_calls(tmp_path):
    meter = Meter()
    async with polystack.connect(config(tmp_path)) as library:
        router_of(library).hooks.add(meter)
        await library.openai.chat.completions.create(**ask("plain"))
        stream = await library.openai.chat.completions.create(**ask("streamed without usage"), stream=True)
        [chunk async for chunk in stream]
        stream = await library.openai.chat.completions.create(
            **ask("streamed with usage"), stream=True, stream_options={"include_usage": True})
        [chunk async for chunk in stream]
        await library.openai.embeddings.create(model="scripted/scripted-embedding", input=["a", "b"])
        await library.openai.completions.create(model=MODEL, prompt="legacy")
    assert meter.calls == [("chat_completion", False, (1, 1, 2), None),
                           ("chat_completion", True, (1, 1, 2), None),
                           ("chat_completion", True, (1, 1, 2), None),
                           ("embeddings", False, (2, None, 2), None),
                           ("completion", False, None, None)]  # the scripted provider counts no legacy tokens


async def test_a_stream_without_include_usage_hides_usage_from_the_caller_but_stores_it(tmp_path):
    async with polystack.connect(config(tmp_path)) as library:
        stream = await library.openai.chat.completions.create(**ask("one two"), stream=True)
        chunks = [chunk async for chunk in stream]
        assert all(chunk.choices for chunk in chunks) and not any(chunk.usage for chunk in chunks)
        stored = await library.openai.chat.completions.retrieve(chunks[0].id)
        assert stored.usage.total_tokens == 2

        stream = await library.openai.chat.completions.create(
            **ask("one two"), stream=True, stream_options={"include_usage": True})
        chunks = [chunk async for chunk in stream]
        assert [chunk.usage.total_tokens for chunk in chunks if chunk.usage] == [2]
        assert chunks[-1].usage and not chunks[-1].choices


async def test_a_hook_refusing_before_the_call_is_a_4xx_in_openai_shape_and_reaches_no_provider(tmp_path):
    meter = Meter()
    async with polystack.connect(config(tmp_path)) as library:
        router_of(library).hooks.add(Refuse())
        router_of(library).hooks.add(meter)
        for extra in ({}, {"stream": True}):
            response = await library.http.post("/v1/chat/completions", json=ask("a forbidden question", **extra))
            assert response.status_code == 400
            assert response.headers["content-type"] == "application/json"
            assert response.json() == {"error": {"message": "the request breaks the usage policy",
                                                 "type": "invalid_request_error", "param": "messages",
                                                 "code": "policy"}}
        assert (await library.openai.chat.completions.list()).data == []
    assert meter.calls == []  # refused before the meter's turn: it never entered


async def test_a_hook_stopping_a_stream_midway_ends_it_with_an_error_event(tmp_path):
    meter = Meter()
    async with polystack.connect(config(tmp_path)) as library:
        router_of(library).hooks.add(meter)
        router_of(library).hooks.add(StopOnWord())
        response = await library.http.post("/v1/chat/completions", json=ask("one two secret three", stream=True))
    assert response.status_code == 200
    events = sse(response.text)
    assert [e["choices"][0]["delta"].get("content") for e in events[:-1]] == [None, "one ", "two "]
    assert events[-1] == {"error": {"message": "the answer breaks the usage policy",
                                    "type": "invalid_request_error", "param": None, "code": "policy"}}
    assert meter.calls == [("chat_completion", True, None, "InvalidRequestError")]


class Guard(HookBase):
    """A guardrail asking a guard model (through the stack's own router) whether the request is safe."""

    def __init__(self, impls: Any) -> None:
        self.impls = impls
        self.checked = 0

    async def before(self, call: InferenceCall) -> None:
        self.checked += 1
        text = call.request.messages[-1].content
        with as_system():  # the server's own call, explicit: not on the caller's rights
            verdict = await self.impls[Api.inference].chat_completion(ChatCompletionRequest.model_validate(
                {"model": MODEL, "store": False, "messages": [{"role": "user", "content": f"verdict: {text}"}]}))
        if "unsafe" in verdict.choices[0].message.content:
            raise InvalidRequestError("the guard model flagged the request", param="messages")


async def test_a_guard_that_calls_inference_itself_creates_no_cycle_and_its_tokens_are_metered(tmp_path):
    meter = Meter()
    async with polystack.connect(config(tmp_path)) as library:
        guard = Guard(library.stack.impls)
        router_of(library).hooks.add(guard)
        router_of(library).hooks.add(meter)
        reply = await library.openai.chat.completions.create(**ask("hello"))
        assert reply.choices[0].message.content == "hello"
        refused = await library.http.post("/v1/chat/completions", json=ask("something unsafe"))
        assert refused.status_code == 400 and refused.json()["error"]["param"] == "messages"
    assert guard.checked == 2  # once per caller request: its own calls skip it
    assert meter.calls == [("chat_completion", False, (1, 1, 2), None)] * 3  # guard, caller, guard


async def test_after_runs_when_the_caller_abandons_a_stream(tmp_path):
    meter = Meter()
    async with polystack.connect(config(tmp_path)) as library:
        router = router_of(library)
        router.hooks.add(meter)
        stream = await router.chat_completion(ChatCompletionRequest.model_validate(ask("one two three", stream=True)))
        await stream.__anext__()
        await stream.aclose()
    assert meter.calls == [("chat_completion", True, None, StreamAbandoned.__name__)]


class Rewrite(HookBase):
    async def before(self, call: InferenceCall) -> Any:
        return type(call.request).model_validate(
            {**call.request.model_dump(), "messages": [{"role": "user", "content": "rewritten"}]})


async def test_a_hook_may_replace_the_request_the_provider_gets(tmp_path):
    async with polystack.connect(config(tmp_path)) as library:
        router_of(library).hooks.add(Rewrite())
        reply = await library.openai.chat.completions.create(**ask("original"))
    assert reply.choices[0].message.content == "rewritten"


HOOK_MODULE = '''
from polystack.core.routing.hooks import HookBase

SEEN = []


class Tag(HookBase):
    def __init__(self, name):
        self.name = name

    async def before(self, call):
        SEEN.append(self.name)


async def create(config, impls):
    return Tag(config["name"])


async def not_a_hook(config, impls):
    return object()
'''


async def test_hooks_from_the_run_config_run_in_their_order(tmp_path, monkeypatch):
    (tmp_path / "configured_hooks.py").write_text(HOOK_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    hooks = [{"factory": "configured_hooks:create", "config": {"name": "first"}},
             {"factory": "configured_hooks", "config": {"name": "second"}}]
    async with polystack.connect(config(tmp_path, hooks)) as library:
        await library.openai.chat.completions.create(**ask("hi"))
    import configured_hooks  # type: ignore[import-not-found]

    assert configured_hooks.SEEN == ["first", "second"]


@pytest.mark.parametrize("factory", ["configured_hooks:not_a_hook", "no_such_module:create"])
async def test_a_hook_that_cannot_be_made_stops_the_stack_with_a_clear_error(tmp_path, monkeypatch, factory):
    (tmp_path / "configured_hooks.py").write_text(HOOK_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(StackError, match=f"inference hook '{factory}'"):
        async with polystack.connect(config(tmp_path, [{"factory": factory}])):
            pass


def test_an_empty_chain_is_falsy_so_the_router_skips_it():
    chain = HookChain()
    assert not chain
    chain.add(HookBase())
    assert chain and len(chain) == 1


async def test_a_failing_after_does_not_keep_the_others_from_running():
    class Broken(HookBase):
        async def after(self, call: InferenceCall) -> None:
            raise PolystackError("quota store down")

    meter = Meter()
    chain = HookChain([Broken(), meter])
    call = InferenceCall("completion", ChatCompletionRequest.model_validate(ask("x")), None, None)  # type: ignore[arg-type]
    await chain.before(call)
    with pytest.raises(PolystackError, match="quota store down"):
        await chain.after(call)
    assert meter.calls == [("completion", False, None, None)]


async def test_the_embedded_model_streams_usage_to_hooks_but_not_to_a_caller_who_did_not_ask(tmp_path):
    meter = Meter()
    run_config = config(tmp_path).model_copy(update={"providers": parse_run_config({
        "distro_name": "x", "providers": {"inference": [{"provider_id": "llama-cpp",
                                                          "provider_type": "inline::llama-cpp"}]}}, env={}).providers})
    async with polystack.connect(run_config) as library:
        router_of(library).hooks.add(meter)
        stream = await library.openai.chat.completions.create(
            model="llama-cpp/SmolLM2-135M-Instruct", messages=[{"role": "user", "content": "Hi"}], max_tokens=4,
            temperature=0, stream=True)
        chunks = [chunk async for chunk in stream]
        stored = await library.openai.chat.completions.retrieve(chunks[0].id)
    assert all(chunk.choices for chunk in chunks) and not any(chunk.usage for chunk in chunks)
    [(kind, streamed, (prompt, completion, total), error)] = meter.calls
    assert (kind, streamed, error) == ("chat_completion", True, None)
    assert prompt > 0 and 0 < completion <= 4 and total == prompt + completion
    assert stored.usage.total_tokens == total


class CountChunks(HookBase):
    """Counts the chunks it is asked about; watches only the calls `watch` says."""

    def __init__(self, watch: bool) -> None:
        self.watch = watch
        self.chunks = 0
        self.first_token_at: list[float | None] = []

    def watches_chunks(self, call: InferenceCall) -> bool:
        return self.watch

    async def on_chunk(self, call: InferenceCall, chunk: Any) -> Any:
        self.chunks += 1
        return chunk

    async def after(self, call: InferenceCall) -> None:
        self.first_token_at.append(call.first_token_at)


async def test_hooks_with_nothing_to_do_on_chunks_are_not_asked_and_the_first_token_is_timed(tmp_path):
    watching, idle, meter = CountChunks(watch=True), CountChunks(watch=False), Meter()
    async with polystack.connect(config(tmp_path)) as library:
        for hook in (idle, meter, watching):
            router_of(library).hooks.add(hook)
        stream = await library.openai.chat.completions.create(**ask("streamed"), stream=True)
        received = [chunk async for chunk in stream]
    assert watching.chunks >= len(received) > 0 and idle.chunks == 0  # Meter overrides no on_chunk: skipped too
    assert meter.calls == [("chat_completion", True, (1, 1, 2), None)]
    assert watching.first_token_at[0] is not None and watching.first_token_at == idle.first_token_at
