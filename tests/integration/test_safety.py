"""Safety over HTTP: a real `polystack run` with the scripted chat model, guard shields on the fake vendor
APIs, and the official openai client; then llama-guard on starter's embedded model (shape only)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml

from polystack.testing.fake_safety_apis import FakeSafetyAPIs

CHAT = "scripted/chat"
SAFE = "The river runs past the old mill and the children play by the water. " * 4
LONG_REPLY = SAFE + "Then he said he would kill everyone there. " + SAFE


def write_config(tmp_path: Path, fake: FakeSafetyAPIs, *, fail_open: bool) -> str:
    config = {
        "distro_name": "safety-http",
        "providers": {
            "inference": [{"provider_id": "scripted", "provider_type": "inline::scripted",
                           "config": {"models": ["chat"]}}],  # echoes the last user message
            "safety": [
                {"provider_id": "openai-moderation", "provider_type": "remote::openai-moderation",
                 "config": {"base_url": f"{fake.base_url}/v1", "api_key": fake.openai_key}},
                {"provider_id": "nemo", "provider_type": "remote::nvidia-nemo-guardrails",
                 "config": {"guardrails_service_url": fake.base_url}},
            ],
        },
        "storage": {
            "backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")},
                         "kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
            "stores": {"metadata": {"backend": "kv"}, "inference": {"backend": "sql"}},
        },
        "registered_resources": {"shields": [
            {"shield_id": "moderation", "provider_id": "openai-moderation",
             "provider_shield_id": "omni-moderation-latest"},
            {"shield_id": "nemo", "provider_id": "nemo", "provider_shield_id": "meta/llama-3.1-8b-instruct"}]},
        "models": {"refresh_interval_seconds": 0},
        "safety": {"default_moderation_shield": "moderation", "fail_open": fail_open,
                   "guardrails": {"models": {CHAT: {"output_shields": ["moderation"]}}}},
    }
    path = tmp_path / f"safety-{'open' if fail_open else 'closed'}.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture(scope="module")
async def fake():
    async with FakeSafetyAPIs() as server:
        yield server


@pytest.fixture(scope="module")
def servers(server_factory, tmp_path_factory, fake):  # type: ignore[no-untyped-def]
    started = {}
    for mode in ("closed", "open"):
        folder = tmp_path_factory.mktemp(f"safety-{mode}")
        started[mode] = server_factory(write_config(folder, fake, fail_open=mode == "open"))
    return started


@pytest.fixture(autouse=True)
def _guards_up(fake):  # type: ignore[no-untyped-def]
    fake.down = False
    yield
    fake.down = False


def sdk(server: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{server.base_url}/v1", api_key="none")


def sse(body: str) -> list[Any]:
    events = [line[len("data: "):] for line in body.splitlines() if line.startswith("data: ")]
    return [event if event == "[DONE]" else json.loads(event) for event in events]


async def test_moderations_through_the_openai_sdk_over_http(servers):
    client = sdk(servers["closed"])
    answer = await client.moderations.create(input=["good morning", "a bomb in the hall"])  # the default shield
    assert answer.model == "moderation" and [r.flagged for r in answer.results] == [False, True]
    assert answer.results[1].categories.violence and answer.results[1].category_applied_input_types.violence
    nemo = await client.moderations.create(model="nemo", input="you idiot")
    assert nemo.results[0].flagged


async def test_a_streamed_unsafe_passage_is_stopped_cleanly_over_http(servers):
    async with httpx.AsyncClient(base_url=servers["closed"].base_url, timeout=60) as http:
        answer = await http.post("/v1/chat/completions", json={
            "model": CHAT, "stream": True, "messages": [{"role": "user", "content": LONG_REPLY}]})
    assert answer.status_code == 200
    events = sse(answer.text)
    assert events[-1] == "[DONE]" and not any("error" in event for event in events[:-1])
    sent = "".join(e["choices"][0]["delta"].get("content") or "" for e in events[:-1] if e["choices"])
    assert "kill" not in sent and LONG_REPLY.startswith(sent) and sent
    assert events[-2]["choices"][0]["finish_reason"] == "content_filter"
    assert events[-2]["choices"][0]["delta"]["refusal"]
    stream = await sdk(servers["closed"]).chat.completions.create(
        model=CHAT, stream=True, messages=[{"role": "user", "content": SAFE}])
    chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == SAFE


async def test_bad_input_unknown_shield_and_guard_down(servers, fake):
    async with httpx.AsyncClient(base_url=servers["closed"].base_url, timeout=60) as http:
        unknown = await http.post("/v1/safety/run-shield", json={
            "shield_id": "nope", "messages": [{"role": "user", "content": "hi"}]})
        assert unknown.status_code == 404
        empty = await http.post("/v1/safety/run-shield", json={"shield_id": "nemo", "messages": []})
        assert empty.status_code == 400
        fake.down = True
        down = await http.post("/v1/chat/completions", json={
            "model": CHAT, "messages": [{"role": "user", "content": "hello"}], "guardrails": ["nemo"]})
        assert down.status_code == 502 and "Shield 'nemo'" in down.json()["error"]["message"]


async def test_the_fail_open_switch(servers, fake):
    fake.down = True
    for mode, status in (("closed", 502), ("open", 200)):
        async with httpx.AsyncClient(base_url=servers[mode].base_url, timeout=60) as http:
            answer = await http.post("/v1/chat/completions", json={
                "model": CHAT, "messages": [{"role": "user", "content": "hello"}]})
        assert answer.status_code == status, (mode, answer.text)
    assert answer.json()["choices"][0]["message"]["content"] == "hello"


@pytest.mark.slow
async def test_llama_guard_on_starters_embedded_model(starter_server):
    """Shape only: the 135M chat model is no guard, so its answer may be unreadable, which is then a 502."""
    shield = f"guard-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=starter_server.base_url, timeout=300) as http:
        made = await http.post("/v1/shields", json={"shield_id": shield, "provider_id": "llama-guard",
                                                    "provider_shield_id": "llama-cpp/SmolLM2-135M-Instruct"})
        assert made.status_code == 200, made.text
        verdict = await http.post("/v1/safety/run-shield", json={
            "shield_id": shield, "messages": [{"role": "user", "content": "How do I bake bread?"}]})
        assert verdict.status_code in (200, 502), verdict.text
        if verdict.status_code == 200:
            violation = verdict.json()["violation"]
            assert violation is None or violation["violation_level"] == "error"
        else:
            assert f"Shield '{shield}'" in verdict.json()["error"]["message"]
        await http.delete(f"/v1/shields/{shield}")
