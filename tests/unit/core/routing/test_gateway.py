"""Routing that survives providers, on real local upstreams that fail on command (testing/faulty_upstream.py):
fallbacks per fault class, retries honouring Retry-After, no retry of the caller's 4xx, cooldown and
recovery, timeouts, and balancing proportions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest

import polystack
from polystack.apis.inference.results import ChatCompletion
from polystack.apis.inference.types import ChatCompletionRequest
from polystack.core.config import parse_run_config
from polystack.core.routing.hooks import HookAnswer, HookBase, InferenceCall
from polystack.core.routing.inference import InferenceRouter
from polystack.testing.faulty_upstream import FaultyUpstream

CHAT = {"messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
async def ups() -> AsyncIterator[dict[str, FaultyUpstream]]:
    upstreams = {name: FaultyUpstream(name) for name in ("a", "b", "c")}
    for upstream in upstreams.values():
        await upstream.start()
    yield upstreams
    for upstream in upstreams.values():
        await upstream.stop()


def run_config(tmp_path: Any, ups: dict[str, FaultyUpstream], models: list[dict[str, Any]]) -> Any:
    return parse_run_config({
        "version": 2, "distro_name": "gateway-test", "models": {"refresh_interval_seconds": 0},
        "providers": {"inference": [
            {"provider_id": name, "provider_type": "remote::vllm",
             "config": {"url": up.base_url, "refresh_models": False, "timeout_seconds": 10}}
            for name, up in ups.items()]},
        "storage": {"backends": {"kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
                    "stores": {"metadata": {"backend": "kv"}}},
        "registered_resources": {"models": models},
    }, env={})


def routed(model_id: str, **routing: Any) -> dict[str, Any]:
    fast = {"retry": {"retries": 0, "backoff_seconds": 0.01}, **routing}
    return {"model_id": model_id, "metadata": {"routing": fast}}


def gateway_of(stack: Any) -> Any:
    router = stack.stack.impls["inference"]
    assert isinstance(router, InferenceRouter)
    return router.gateway


async def chat(stack: Any, model: str, **extra: Any) -> Any:
    return await stack.http.post("/v1/chat/completions", json={"model": model, **CHAT, **extra})


def answer(reply: Any) -> str:
    assert reply.status_code == 200, reply.text
    return str(reply.json()["choices"][0]["message"]["content"])


FAULTS = ["hang", "reset", "429:0", "500", "503", "die:0"]


@pytest.mark.parametrize("fault", FAULTS)
async def test_every_fault_class_of_the_primary_is_answered_by_the_fallback(tmp_path, ups, fault):
    models = [routed("smart", deployments=[{"model": "a/m", "first_byte_seconds": 0.5}], fallbacks=["b/m"])]
    async with polystack.connect(run_config(tmp_path, ups, models)) as stack:
        ups["a"].fail(fault)
        reply = await chat(stack, "smart")
        assert answer(reply) == "answer from b"
        assert reply.json()["model"] == "b/m"
        assert reply.headers["x-polystack-fallback"] == "b/m"
        assert reply.headers["x-polystack-model"] == "b/m"
        assert ups["a"].counts[fault.partition(":")[0]] == 1
        expected = {"hang": "timeout", "reset": "connection", "429:0": "rate_limit", "500": "server",
                    "503": "server", "die:0": "connection"}[fault]
        assert gateway_of(stack).faults == {expected: 1}
        again = await chat(stack, "smart")  # the fault was one request's: the primary answers again
        assert answer(again) == "answer from a" and again.json()["model"] == "smart"
        assert again.headers["x-polystack-model"] == "a/m" and "x-polystack-fallback" not in again.headers


@pytest.mark.parametrize("fault", ["500", "reset", "die:0", "hang", "empty"])
async def test_a_stream_falls_back_while_no_byte_has_reached_the_caller(tmp_path, ups, fault):
    models = [routed("smart", deployments=[{"model": "a/m", "first_byte_seconds": 0.5}], fallbacks=["b/m"])]
    async with polystack.connect(run_config(tmp_path, ups, models)) as stack:
        ups["a"].fail(fault)
        async with stack.http.stream("POST", "/v1/chat/completions",
                                     json={"model": "smart", **CHAT, "stream": True}) as reply:
            assert reply.status_code == 200
            assert reply.headers["x-polystack-fallback"] == "b/m"
            body = (await reply.aread()).decode()
        assert "from b" in body and body.rstrip().endswith("data: [DONE]")
        assert '"model":"b/m"' in body.replace(" ", "")


async def test_a_stream_that_dies_after_chunks_were_sent_ends_in_error_and_counts_against_it(tmp_path, ups):
    models = [routed("smart", deployments=[{"model": "a/m"}], fallbacks=["b/m"],
                     cooldown={"failures": 1, "cooldown_seconds": 30})]
    async with polystack.connect(run_config(tmp_path, ups, models)) as stack:
        ups["a"].fail("die:2")
        client = stack.openai.with_options(max_retries=0)
        stream = await client.chat.completions.create(model="smart", stream=True, **CHAT)
        seen = []
        with pytest.raises(openai.APIError):  # the stream breaks: bytes were already sent
            async for chunk in stream:
                seen.append(chunk)
        assert seen and ups["b"].received == 0
        circuits = (await stack.http.get("/v1/providers/a")).json()["health"]["circuits"]
        assert circuits[0]["faults"] == {"connection": 1} and circuits[0]["state"] == "open"
        assert answer(await chat(stack, "smart")) == "answer from b"  # a is cooling down


async def test_retries_wait_as_long_as_retry_after_asks_then_succeed_on_the_same_deployment(tmp_path, ups):
    models = [routed("smart", deployments=[{"model": "a/m"}],
                     retry={"retries": 2, "backoff_seconds": 0.01, "max_retry_after_seconds": 5})]
    async with polystack.connect(run_config(tmp_path, ups, models)) as stack:
        ups["a"].fail("429:1", "500")
        started = time.monotonic()
        reply = await chat(stack, "smart")
        assert answer(reply) == "answer from a"
        assert time.monotonic() - started >= 1.0
        assert ups["a"].counts == {"429": 1, "500": 1, "ok": 1}
        assert gateway_of(stack).faults == {"rate_limit": 1, "server": 1}


async def test_a_retry_after_beyond_the_bound_is_not_waited_for(tmp_path, ups):
    models = [routed("smart", deployments=[{"model": "a/m"}], fallbacks=["b/m"],
                     retry={"retries": 3, "max_retry_after_seconds": 2})]
    async with polystack.connect(run_config(tmp_path, ups, models)) as stack:
        ups["a"].fail("429:60")
        started = time.monotonic()
        assert answer(await chat(stack, "smart")) == "answer from b"
        assert time.monotonic() - started < 10 and ups["a"].received == 1


async def test_without_a_fallback_the_last_error_reaches_the_caller_with_its_retry_after(tmp_path, ups):
    models = [routed("smart", deployments=[{"model": "a/m"}])]
    async with polystack.connect(run_config(tmp_path, ups, models)) as stack:
        ups["a"].fail("429:7")
        reply = await chat(stack, "smart")
        assert reply.status_code == 429 and reply.headers["retry-after"] == "7"
        assert reply.json()["error"]["type"] == "rate_limit_exceeded"


async def test_the_total_time_is_bounded(tmp_path, ups):
    models = [routed("smart", deployments=[{"model": "a/m"}],
                     retry={"retries": 50, "backoff_seconds": 0.1, "max_backoff_seconds": 0.2, "total_seconds": 1})]
    async with polystack.connect(run_config(tmp_path, ups, models)) as stack:
        ups["a"].mode = "500"
        started = time.monotonic()
        reply = await chat(stack, "smart")
        assert reply.status_code == 502
        assert time.monotonic() - started < 3 and 2 <= ups["a"].received < 50


@pytest.mark.parametrize("fault", ["400"])
async def test_a_request_the_caller_got_wrong_is_neither_retried_nor_sent_elsewhere(tmp_path, ups, fault):
    models = [routed("smart", deployments=[{"model": "a/m"}, {"model": "c/m"}], fallbacks=["b/m"],
                     retry={"retries": 3})]
    async with polystack.connect(run_config(tmp_path, ups, models)) as stack:
        ups["a"].fail(fault)
        ups["c"].fail(fault)
        reply = await chat(stack, "smart")
        assert reply.status_code == 400
        assert ups["a"].received + ups["c"].received == 1 and ups["b"].received == 0
        assert gateway_of(stack).faults == {"caller": 1}


async def test_context_window_and_content_policy_errors_have_their_own_fallbacks(tmp_path, ups):
    models = [routed("smart", deployments=[{"model": "a/m"}], fallbacks=["b/m"],
                     context_window_fallbacks=["c/long"], content_policy_fallbacks=["b/lenient"]),
              routed("plain", deployments=[{"model": "a/m"}], fallbacks=["b/m"])]
    async with polystack.connect(run_config(tmp_path, ups, models)) as stack:
        ups["a"].fail("context")
        reply = await chat(stack, "smart")
        assert answer(reply) == "answer from c" and reply.headers["x-polystack-fallback"] == "c/long"
        assert ups["c"].last_body["model"] == "long"
        ups["a"].fail("policy")
        reply = await chat(stack, "smart")
        assert answer(reply) == "answer from b" and reply.headers["x-polystack-fallback"] == "b/lenient"
        assert ups["b"].last_body["model"] == "lenient"
        # no list for them: the caller's 400, and the general fallbacks stay out of it
        received = ups["b"].received
        ups["a"].fail("context")
        reply = await chat(stack, "plain")
        assert reply.status_code == 400 and "maximum context length" in reply.json()["error"]["message"]
        assert ups["b"].received == received
        assert gateway_of(stack).faults == {"context_window": 2, "content_policy": 1}


# Long enough for a loaded machine to send every request of a phase within it; the tests poll for its end.
COOLDOWN = 3.0


async def until_half_open(stack: Any, provider: str) -> None:
    """Waits (bounded) until the provider's first circuit has cooled down to half-open."""
    deadline = time.monotonic() + COOLDOWN + 10
    while time.monotonic() < deadline:
        if (await stack.http.get(f"/v1/providers/{provider}")).json()["health"]["circuits"][0]["state"] == "half_open":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the circuit of {provider} did not turn half-open")


async def test_a_failing_deployment_cools_down_then_is_tried_again_and_recovers(tmp_path, ups):
    models = [routed("smart", deployments=[{"model": "a/m"}, {"model": "b/m"}],
                     cooldown={"failures": 2, "window_seconds": 60, "cooldown_seconds": COOLDOWN})]
    async with polystack.connect(run_config(tmp_path, ups, models)) as stack:
        ups["a"].mode = "500"
        for _ in range(10):
            assert answer(await chat(stack, "smart")) == "answer from b"
        assert ups["a"].received == 2  # two failures opened its circuit: no more calls reach it
        health = (await stack.http.get("/v1/providers/a")).json()["health"]
        assert health["circuits"][0]["deployment"] == "a/m" and health["circuits"][0]["state"] == "open"
        assert health["circuits"][0]["faults"] == {"server": 2}
        assert (await stack.http.get("/v1/providers/b")).json()["health"]["circuits"][0]["state"] == "closed"
        await until_half_open(stack, "a")
        ups["a"].mode = "ok"
        answers = [answer(await chat(stack, "smart")) for _ in range(4)]
        assert answers.count("answer from a") == 2  # back in the rotation
        health = (await stack.http.get("/v1/providers/a")).json()["health"]
        assert health["circuits"][0]["state"] == "closed" and health["circuits"][0]["times_opened"] == 1


async def test_a_failed_half_open_trial_opens_the_circuit_again(tmp_path, ups):
    models = [routed("smart", deployments=[{"model": "a/m"}, {"model": "b/m"}],
                     cooldown={"failures": 1, "cooldown_seconds": COOLDOWN})]
    async with polystack.connect(run_config(tmp_path, ups, models)) as stack:
        ups["a"].mode = "503"
        for _ in range(4):
            assert answer(await chat(stack, "smart")) == "answer from b"
        await until_half_open(stack, "a")
        for _ in range(4):
            assert answer(await chat(stack, "smart")) == "answer from b"
        assert ups["a"].received == 2
        circuit = (await stack.http.get("/v1/providers/a")).json()["health"]["circuits"][0]
        assert circuit["state"] == "open" and circuit["times_opened"] == 2


async def test_first_byte_timeout_fails_over_fast_and_abandons_the_upstream_request(tmp_path, ups):
    models = [routed("smart", deployments=[{"model": "a/m", "first_byte_seconds": 0.3}, {"model": "b/m"}])]
    async with polystack.connect(run_config(tmp_path, ups, models)) as stack:
        ups["a"].mode = "hang"
        started = time.monotonic()
        replies = [await chat(stack, "smart") for _ in range(2)]  # round robin: one of them starts on a
        assert [answer(r) for r in replies] == ["answer from b"] * 2
        assert time.monotonic() - started < 4  # not the provider's 10 s
        for _ in range(50):
            if ups["a"].hanging == 0:
                break
            await asyncio.sleep(0.02)
        assert ups["a"].hanging == 0, "the timed-out upstream request stayed open"


async def test_a_stream_that_stalls_is_ended_at_its_total_timeout_and_its_upstream_closed(tmp_path, ups):
    models = [routed("smart", deployments=[{"model": "a/m", "timeout_seconds": 0.6}])]
    async with polystack.connect(run_config(tmp_path, ups, models)) as stack:
        ups["a"].fail("stall:2")
        started = time.monotonic()
        seen = []
        with pytest.raises(openai.APIError):
            async for chunk in await stack.openai.chat.completions.create(model="smart", stream=True, **CHAT):
                seen.append(chunk)
        assert len(seen) == 2 and 0.5 < time.monotonic() - started < 5
        for _ in range(50):
            if ups["a"].hanging == 0:
                break
            await asyncio.sleep(0.02)
        assert ups["a"].hanging == 0
        circuit = (await stack.http.get("/v1/providers/a")).json()["health"]["circuits"][0]
        assert circuit["faults"] == {"timeout": 1} and circuit["inflight"] == 0
        assert answer(await chat(stack, "smart")) == "answer from a"  # a fast stream is not cut


async def test_a_request_timeout_bounds_a_plain_model_and_is_not_sent_upstream(tmp_path, ups):
    async with polystack.connect(run_config(tmp_path, ups, [])) as stack:
        assert answer(await chat(stack, "a/m", timeout=5)) == "answer from a"
        assert "timeout" not in ups["a"].last_body
        ups["a"].mode = "hang"
        started = time.monotonic()
        reply = await chat(stack, "a/m", timeout=0.3)
        assert reply.status_code == 504 and time.monotonic() - started < 4
        bad = await chat(stack, "a/m", timeout="soon")
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "timeout"
        ups["a"].mode = "ok"
        ups["a"].fail("500")
        received = ups["a"].received
        assert (await chat(stack, "a/m", timeout=5)).status_code == 502  # a model without routing: no retries
        assert ups["a"].received == received + 1


@pytest.mark.parametrize(("strategy", "weights"), [("weighted", [1, 2, 7]), ("round_robin", [1, 1, 1])])
async def test_balancing_proportions_over_1000_requests_are_within_5_percent_of_the_weights(
        tmp_path, ups, strategy, weights):
    deployments = [{"model": f"{name}/m", "weight": w} for name, w in zip("abc", weights, strict=True)]
    models = [routed("smart", deployments=deployments, strategy=strategy)]
    async with polystack.connect(run_config(tmp_path, ups, models)) as stack:
        for _ in range(10):
            await asyncio.gather(*(chat(stack, "smart") for _ in range(100)))
        total = sum(weights)
        for name, weight in zip("abc", weights, strict=True):
            share = ups[name].received / 1000
            assert abs(share - weight / total) <= 0.05 * weight / total, (name, ups[name].received)


async def test_least_inflight_and_lowest_latency_prefer_the_idle_and_the_fast(tmp_path, ups):
    models = [routed("idle", deployments=[{"model": "a/m"}, {"model": "b/m"}], strategy="least_inflight"),
              routed("fast", deployments=[{"model": "a/x"}, {"model": "b/x"}], strategy="lowest_latency")]
    async with polystack.connect(run_config(tmp_path, ups, models)) as stack:
        ups["a"].fail("slow:2")
        slow = asyncio.create_task(chat(stack, "idle"))  # round robin's first turn: a, held for 2 s
        await asyncio.sleep(0.1)
        replies = [await chat(stack, "idle") for _ in range(5)]
        assert [answer(r) for r in replies] == ["answer from b"] * 5  # a is busy
        assert answer(await slow) == "answer from a"
        ups["a"].mode = "slow:0.3"
        for _ in range(3):
            await chat(stack, "fast")  # both measured
        before = ups["a"].received
        answers = [answer(await chat(stack, "fast")) for _ in range(10)]
        assert answers == ["answer from b"] * 10 and ups["a"].received == before


async def test_routed_models_through_the_models_api(tmp_path, ups):
    async with polystack.connect(run_config(tmp_path, ups, [])) as stack:
        created = await stack.http.post("/v1/models", json={
            "model_id": "team-model", "metadata": {"routing": {
                "deployments": [{"model": "a/m"}, {"model": "b/m"}], "fallbacks": ["c/m"]}}})
        assert created.status_code == 200, created.text
        listed = {m["id"] for m in (await stack.http.get("/v1/models")).json()["data"]}
        assert "team-model" in listed
        ups["a"].mode = ups["b"].mode = "500"
        reply = await chat(stack, "team-model")
        assert answer(reply) == "answer from c" and reply.headers["x-polystack-fallback"] == "c/m"
        bad = await stack.http.post("/v1/models", json={
            "model_id": "broken", "metadata": {"routing": {"deployments": [{"model": "a/m", "weight": -1}]}}})
        assert bad.status_code == 400 and "metadata.routing.deployments.0.weight" in bad.json()["error"]["message"]
        typo = await stack.http.post("/v1/models", json={
            "model_id": "typo", "metadata": {"routing": {"fallback": ["c/m"]}}})
        assert typo.status_code == 400


async def test_embeddings_and_text_completions_take_the_same_road(tmp_path, ups):
    vectors = routed("vectors", deployments=[{"model": "a/e"}], fallbacks=["b/e"])
    vectors.update(model_type="embedding")
    vectors["metadata"]["embedding_dimension"] = 2
    models = [routed("smart", deployments=[{"model": "a/m"}], fallbacks=["b/m"]), vectors]
    async with polystack.connect(run_config(tmp_path, ups, models)) as stack:
        ups["a"].fail("500", "503")
        text = await stack.http.post("/v1/completions", json={"model": "smart", "prompt": "hi"})
        assert text.status_code == 200 and text.json()["choices"][0]["text"] == "answer from b"
        assert text.headers["x-polystack-fallback"] == "b/m"
        embedded = await stack.http.post("/v1/embeddings", json={"model": "vectors", "input": ["one", "two"]})
        assert embedded.status_code == 200 and len(embedded.json()["data"]) == 2
        assert embedded.json()["model"] == "b/e" and embedded.headers["x-polystack-fallback"] == "b/e"


class _Meter(HookBase):
    def __init__(self) -> None:
        self.seen: list[tuple[str, Any, str | None]] = []

    async def after(self, call: InferenceCall) -> None:
        self.seen.append((call.model.identifier, call.usage and call.usage.total_tokens,
                          type(call.error).__name__ if call.error else None))


class _Answers(HookBase):
    async def before(self, call: InferenceCall) -> None:
        if call.request.messages[0].content == "canned":
            raise HookAnswer(ChatCompletion.model_validate({
                "id": "x", "object": "chat.completion", "created": 0, "model": "x",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": "from the hook"}}]}))


async def test_hooks_see_routed_calls_once_and_a_hooks_answer_reaches_no_deployment(tmp_path, ups):
    models = [routed("smart", deployments=[{"model": "a/m"}], fallbacks=["b/m"])]
    async with polystack.connect(run_config(tmp_path, ups, models)) as stack:
        meter = _Meter()
        router = stack.stack.impls["inference"]
        router.hooks.add(_Answers())
        router.hooks.add(meter)
        ups["a"].fail("500")
        assert answer(await chat(stack, "smart")) == "answer from b"
        assert meter.seen == [("smart", 6, None)]
        ups["a"].mode = ups["b"].mode = "500"
        assert (await chat(stack, "smart")).status_code == 502
        assert meter.seen[-1] == ("smart", None, "ProviderError")
        received = ups["a"].received + ups["b"].received
        reply = await stack.http.post("/v1/chat/completions", json={
            "model": "smart", "messages": [{"role": "user", "content": "canned"}]})
        assert answer(reply) == "from the hook" and ups["a"].received + ups["b"].received == received


async def test_a_routed_model_must_name_deployments_that_are_served(tmp_path, ups):
    async with polystack.connect(run_config(tmp_path, ups, [])) as stack:
        reply = await stack.http.post("/v1/models", json={
            "model_id": "ghost", "metadata": {"routing": {"deployments": [{"model": "a/m"}, {"model": "nowhere"}]}}})
        assert reply.status_code == 404 and "nowhere" in reply.json()["error"]["message"]


class _AsksAside(HookBase):
    """A guard-like hook that asks a routed model of its own before the caller's call."""

    def __init__(self, router: Any) -> None:
        self.router = router

    async def before(self, call: InferenceCall) -> None:
        if call.kind == "chat_completion" and call.request.messages[0].content == "aside":
            await self.router.chat_completion(ChatCompletionRequest(model="smart", messages=[
                {"role": "user", "content": "is this fine?"}]))


async def test_the_headers_name_who_answered_the_callers_call_not_a_hooks_own_call(tmp_path, ups):
    models = [routed("smart", deployments=[{"model": "a/m"}], fallbacks=["b/m"])]
    async with polystack.connect(run_config(tmp_path, ups, models)) as stack:
        router = stack.stack.impls["inference"]
        router.hooks.add(_AsksAside(router))
        ups["a"].fail("500")  # the hook's call falls back to b
        reply = await stack.http.post("/v1/chat/completions", json={
            "model": "c/m", "messages": [{"role": "user", "content": "aside"}]})
        assert answer(reply) == "answer from c" and ups["b"].received == 1
        assert "x-polystack-model" not in reply.headers and "x-polystack-fallback" not in reply.headers
