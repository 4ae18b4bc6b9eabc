"""The response cache through the real stack and app, on the scripted provider: replies cycle "one",
"two", "three", so a hit is the earlier answer and a miss the next one."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

import polystack
from polystack.core.config import parse_run_config

MODEL = "scripted/scripted-model"
REPLIES = [{"content": "one"}, {"content": "two"}, {"content": "three"}, {"content": "four"}]


def config(tmp_path: Any, cache: dict[str, Any] | None = None, auth: bool = False,
           backends: dict[str, Any] | None = None) -> Any:
    body: dict[str, Any] = {
        "distro_name": "cache",
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted",
                                     "config": {"replies": REPLIES}}]},
        "storage": {"backends": {"kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")},
                                 **(backends or {})},
                    "stores": {"metadata": {"backend": "kv"}}},
        "models": {"refresh_interval_seconds": 0},
        "response_cache": {"enabled": True, **(cache or {})},
    }
    if auth:
        body["server"] = {"auth": {"provider_config": {"type": "api_keys", "keys": [
            {"key": "key-alice", "principal": "alice"}, {"key": "key-bob", "principal": "bob"}]}}}
    return parse_run_config(body, env={})


def ask(content: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": content}], **extra}


async def chat(library: Any, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[str, str]:
    """(answer text, x-polystack-cache header)."""
    response = await library.http.post("/v1/chat/completions", json=body, headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()["choices"][0]["message"]["content"], response.headers.get("x-polystack-cache")


def sse(text: str) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ") and line != "data: [DONE]"]


async def test_an_identical_request_is_answered_from_the_cache(tmp_path):
    async with polystack.connect(config(tmp_path)) as library:
        assert await chat(library, ask()) == ("one", "miss")
        assert await chat(library, ask()) == ("one", "hit")
        assert await chat(library, ask("other")) == ("two", "miss")
        assert await chat(library, ask(temperature=0.5)) == ("three", "miss")  # a parameter is part of the key
        assert await chat(library, ask(temperature=0.5)) == ("three", "hit")


async def test_a_hit_has_its_own_id_and_the_callers_model_name(tmp_path):
    async with polystack.connect(config(tmp_path)) as library:
        first = await library.openai.chat.completions.create(**ask())
        second = await library.openai.chat.completions.create(**ask())
    assert second.choices[0].message.content == first.choices[0].message.content
    assert second.id != first.id and second.model == MODEL
    assert second.usage is not None and second.usage.total_tokens == 2


async def test_opt_out_by_header_or_body_flag(tmp_path):
    async with polystack.connect(config(tmp_path)) as library:
        assert await chat(library, ask()) == ("one", "miss")
        # no-cache: no lookup, but the fresh answer replaces the entry
        assert await chat(library, ask(), {"Cache-Control": "no-cache"}) == ("two", "miss")
        assert await chat(library, ask()) == ("two", "hit")
        # no-store and the body flag: neither looked up nor stored
        assert await chat(library, ask(), {"Cache-Control": "no-store"}) == ("three", "bypass")
        assert await chat(library, ask(cache=False)) == ("four", "bypass")
        assert await chat(library, ask()) == ("two", "hit")


async def test_the_body_flag_never_reaches_the_provider(tmp_path):
    from polystack.apis.datatypes import Api
    from polystack.core.routing.hooks import HookBase

    seen: list[Any] = []

    class Spy(HookBase):  # added after the cache: it sees what the provider would get
        async def before(self, call: Any) -> None:
            seen.append(call.request.model_extra)

    async with polystack.connect(config(tmp_path)) as library:
        library.stack.impls[Api.inference].hooks.add(Spy())
        await chat(library, ask(cache=False, vendor_flag=1))
    assert seen == [{"vendor_flag": 1}]


async def test_entries_expire_after_the_ttl(tmp_path):
    async with polystack.connect(config(tmp_path, {"ttl_seconds": 0.3})) as library:
        assert await chat(library, ask()) == ("one", "miss")
        assert await chat(library, ask()) == ("one", "hit")
        await asyncio.sleep(0.4)
        assert await chat(library, ask()) == ("two", "miss")


async def test_the_memory_cache_keeps_at_most_max_entries_least_recently_used_out_first(tmp_path):
    async with polystack.connect(config(tmp_path, {"max_entries": 2})) as library:
        assert (await chat(library, ask("a")))[1] == "miss"
        assert (await chat(library, ask("b")))[1] == "miss"
        assert (await chat(library, ask("a")))[1] == "hit"  # b is now the least recently used
        assert (await chat(library, ask("c")))[1] == "miss"  # evicts b
        assert (await chat(library, ask("a")))[1] == "hit"
        assert (await chat(library, ask("b")))[1] == "miss"


async def test_an_answer_larger_than_max_entry_bytes_is_not_cached(tmp_path):
    async with polystack.connect(config(tmp_path, {"max_entry_bytes": 50})) as library:
        assert await chat(library, ask()) == ("one", "miss")
        assert await chat(library, ask()) == ("two", "miss")


async def test_two_principals_never_share_entries_unless_configured(tmp_path):
    cfg = config(tmp_path, auth=True)
    async with polystack.connect(cfg, api_key="key-alice") as alice:
        assert await chat(alice, ask()) == ("one", "miss")
        bob = {"Authorization": "Bearer key-bob"}
        assert await chat(alice, ask(), bob) == ("two", "miss")
        assert await chat(alice, ask()) == ("one", "hit")
        assert await chat(alice, ask(), bob) == ("two", "hit")


async def test_shared_entries_serve_every_principal(tmp_path):
    cfg = config(tmp_path, {"shared": True}, auth=True)
    async with polystack.connect(cfg, api_key="key-alice") as alice:
        assert await chat(alice, ask()) == ("one", "miss")
        assert await chat(alice, ask(), {"Authorization": "Bearer key-bob"}) == ("one", "hit")


async def test_a_cached_answer_is_served_as_a_stream_in_chunks(tmp_path):
    long = "word " * 40
    async with polystack.connect(config(tmp_path)) as library:
        await chat(library, ask())
        response = await library.http.post("/v1/chat/completions", json=ask(stream=True))
        assert response.headers["x-polystack-cache"] == "hit"
        chunks = sse(response.text)
        assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == "one"
        assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
        assert all(c["usage"] is None for c in chunks)  # the caller did not ask for usage
        stream = await library.openai.chat.completions.create(**ask(long), stream=True,
                                                              stream_options={"include_usage": True})
        first = [chunk async for chunk in stream]
        stream = await library.openai.chat.completions.create(**ask(long), stream=True,
                                                              stream_options={"include_usage": True})
        again = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in first if c.choices)
    assert "".join(c.choices[0].delta.content or "" for c in again if c.choices) == text == "two"
    assert again[-1].usage is not None and again[-1].usage.total_tokens == 2


async def test_a_streamed_answer_is_stored_and_served_to_a_plain_request(tmp_path):
    async with polystack.connect(config(tmp_path)) as library:
        response = await library.http.post("/v1/chat/completions", json=ask(stream=True))
        assert response.headers["x-polystack-cache"] == "miss"
        assert await chat(library, ask()) == ("one", "hit")


async def test_tool_calls_come_back_from_the_cache_in_a_stream(tmp_path):
    cfg = config(tmp_path)
    cfg.providers["inference"][0].config["replies"] = [
        {"tool_calls": [{"name": "lookup", "arguments": "{\"q\": 1}"}]}, {"content": "no tool"}]
    async with polystack.connect(cfg) as library:
        plain = await library.openai.chat.completions.create(**ask())
        stream = await library.openai.chat.completions.create(**ask(), stream=True)
        chunks = [chunk async for chunk in stream]
    call = plain.choices[0].message.tool_calls[0]
    streamed = [c.choices[0].delta.tool_calls[0] for c in chunks if c.choices and c.choices[0].delta.tool_calls]
    assert [(t.id, t.function.name, t.function.arguments) for t in streamed] == [
        (call.id, "lookup", "{\"q\": 1}")]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


async def test_embeddings_and_completions_are_cached(tmp_path):
    async with polystack.connect(config(tmp_path)) as library:
        body = {"model": "scripted/scripted-embedding", "input": ["a", "b"]}
        first = await library.http.post("/v1/embeddings", json=body)
        second = await library.http.post("/v1/embeddings", json=body)
        assert (first.headers["x-polystack-cache"], second.headers["x-polystack-cache"]) == ("miss", "hit")
        assert first.json()["data"] == second.json()["data"]
        body = {"model": MODEL, "prompt": "say"}
        first = await library.http.post("/v1/completions", json=body)
        second = await library.http.post("/v1/completions", json=body)
        assert (first.headers["x-polystack-cache"], second.headers["x-polystack-cache"]) == ("miss", "hit")
        assert first.json()["choices"] == second.json()["choices"]
        streamed = await library.http.post("/v1/completions", json={**body, "stream": True})
        assert streamed.headers["x-polystack-cache"] == "bypass"


async def test_off_by_default_no_header(tmp_path):
    cfg = config(tmp_path)
    cfg.response_cache.enabled = False
    async with polystack.connect(cfg) as library:
        assert await chat(library, ask()) == ("one", None)
        assert await chat(library, ask()) == ("two", None)


@pytest.fixture
def redis_url() -> str:
    import redis

    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url).ping()
    except Exception:  # noqa: BLE001
        pytest.fail("Redis must run on 127.0.0.1:6379 (make test starts it)")
    return url


async def test_a_redis_cache_is_shared_by_two_replicas_and_expires(tmp_path, redis_url):
    import uuid

    namespace = f"cache_test_{uuid.uuid4().hex}"
    cache = {"store": {"backend": "redis", "namespace": namespace}, "ttl_seconds": 1}
    backends = {"redis": {"type": "kv_redis", "url": redis_url}}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with polystack.connect(config(tmp_path / "a", cache, backends=backends)) as one, \
            polystack.connect(config(tmp_path / "b", cache, backends=backends)) as two:
        assert await chat(one, ask()) == ("one", "miss")
        assert await chat(two, ask()) == ("one", "hit")  # the other replica's answer
        await asyncio.sleep(1.2)
        assert await chat(two, ask()) == ("one", "miss")  # its own provider starts at "one" too
        assert await chat(one, ask()) == ("one", "hit")
