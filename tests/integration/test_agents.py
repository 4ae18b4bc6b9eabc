"""The Agents API over plain HTTP on a real `polystack run` process, and the same scenarios in-process:
agent/session/turn lifecycle, a streamed turn's event order, a client tool with resume, session listing and
deletion, 404s, and two users invisible to each other on every route (the scripted model, SQLite)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

import polystack

ALICE, BOB = "alice-key-5d1f0a", "bob-key-93c6e2"
ENV = {"ALICE_KEY": ALICE, "BOB_KEY": BOB}
MODEL = "scripted/scripted-model"
SECRET = "alice-secret-question-4b1d"
WEATHER = {"name": "get_weather", "description": "The weather in a city.",
           "parameters": [{"name": "city", "parameter_type": "string", "required": True}]}


def config_dict(tmp_path: Path) -> dict[str, Any]:
    # Every scenario makes exactly two model calls (a client tool call, then the answer), so the cycling
    # script stays in step whichever scenario runs first.
    replies = [{"tool_calls": [{"name": "get_weather", "arguments": '{"city": "Paris"}'}]},
               {"content": "Sunny in Paris."}]
    return {
        "distro_name": "agents-it",
        "apis": ["inference", "conversations", "responses", "agents"],
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted",
                                     "config": {"replies": replies}}]},
        "storage": {"backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")},
                                 "kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
                    "stores": {"metadata": {"backend": "kv"}, "conversations": {"backend": "sql"},
                               "agents": {"backend": "sql", "table_name": "agents"}}},
        "models": {"refresh_interval_seconds": 0},
        "server": {"auth": {"provider_config": {"type": "api_keys", "keys": [
            {"key": "${env.ALICE_KEY}", "principal": "alice"}, {"key": "${env.BOB_KEY}", "principal": "bob"}]}}},
    }


@pytest.fixture(scope="module")
def config_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("agents") / "config.yaml"
    path.write_text(yaml.safe_dump(config_dict(path.parent)))
    return str(path)


@pytest.fixture(scope="module")
def server(server_factory, config_path):  # type: ignore[no-untyped-def]
    return server_factory(config_path, env=ENV)


async def sse(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    payloads = []
    async with http.stream("POST", path, json={**body, "stream": True}) as reply:
        assert reply.status_code == 200, await reply.aread()
        assert reply.headers["content-type"].startswith("text/event-stream")
        async for line in reply.aiter_lines():
            if line.startswith("data: "):
                data = json.loads(line[6:])
                assert "error" not in data, data
                payloads.append(data["event"]["payload"])
    return payloads


def kinds(payloads: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for p in payloads:
        name = p["event_type"] + (f":{p['step_type']}" if "step_type" in p else "")
        if not (name.startswith("step_progress") and out and out[-1] == name):
            out.append(name)
    return out


async def lifecycle(http: httpx.AsyncClient) -> None:
    created = await http.post("/v1alpha/agents", json={"agent_config": {
        "model": MODEL, "instructions": "Be brief.", "client_tools": [WEATHER], "max_infer_iters": 3}})
    assert created.status_code == 200, created.text
    agent = created.json()["agent_id"]
    session = (await http.post(f"/v1alpha/agents/{agent}/session", json={"session_name": "trip"})).json()["session_id"]
    base = f"/v1alpha/agents/{agent}/session/{session}"
    first = await sse(http, f"{base}/turn", {"messages": [{"role": "user", "content": "Weather in Paris?"}]})
    assert kinds(first) == ["turn_start", "step_start:inference", "step_progress:inference",
                            "step_complete:inference", "turn_awaiting_input"]
    turn = first[-1]["turn"]
    [call] = turn["output_message"]["tool_calls"]
    resumed = await sse(http, f"{base}/turn/{turn['turn_id']}/resume", {"tool_responses": [
        {"call_id": call["call_id"], "tool_name": "get_weather", "content": "sunny"}]})
    assert kinds(resumed) == ["step_complete:tool_execution", "step_start:inference", "step_progress:inference",
                              "step_complete:inference", "turn_complete"]
    done = (await http.get(f"{base}/turn/{turn['turn_id']}")).json()
    assert done == resumed[-1]["turn"] and done["output_message"]["content"] == "Sunny in Paris."
    step = done["steps"][1]
    assert (await http.get(f"{base}/turn/{turn['turn_id']}/step/{step['step_id']}")).json() == {"step": step}
    sessions = (await http.get(f"/v1alpha/agents/{agent}/sessions")).json()
    assert [s["session_id"] for s in sessions["data"]] == [session] and sessions["has_more"] is False
    assert [t["turn_id"] for t in (await http.get(base)).json()["turns"]] == [turn["turn_id"]]
    assert (await http.delete(base)).status_code == 204
    assert (await http.get(base)).status_code == 404
    assert (await http.get(f"{base}/turn/{turn['turn_id']}")).status_code == 404
    assert (await http.get(f"/v1alpha/agents/{agent}/sessions")).json()["data"] == []
    assert (await http.get("/v1alpha/agents/no-such-agent")).status_code == 404
    assert (await http.get(f"/v1alpha/agents/{agent}/session/no-such-session")).status_code == 404
    assert (await http.delete(f"/v1alpha/agents/{agent}")).status_code == 204
    assert (await http.get(f"/v1alpha/agents/{agent}")).status_code == 404


async def two_users(alice: httpx.AsyncClient, bob: httpx.AsyncClient) -> None:
    agent = (await alice.post("/v1alpha/agents", json={"agent_config": {
        "model": MODEL, "instructions": "x", "client_tools": [WEATHER]}})).json()["agent_id"]
    session = (await alice.post(f"/v1alpha/agents/{agent}/session", json={"session_name": "mine"})).json()["session_id"]
    base = f"/v1alpha/agents/{agent}/session/{session}"
    turn = (await alice.post(f"{base}/turn", json={"messages": [{"role": "user", "content": SECRET}]})).json()
    call_id = turn["output_message"]["tool_calls"][0]["call_id"]
    step = turn["steps"][0]["step_id"]
    bobs_agents_before = (await bob.get("/v1alpha/agents")).json()["data"]
    answers = [
        await bob.get(f"/v1alpha/agents/{agent}"), await bob.get(f"/v1/agents/{agent}"),
        await bob.get(f"/v1alpha/agents/{agent}/sessions"),
        await bob.post(f"/v1alpha/agents/{agent}/session", json={"session_name": "x"}),
        await bob.get(base), await bob.get(f"{base}/turn/{turn['turn_id']}"),
        await bob.get(f"{base}/turn/{turn['turn_id']}/step/{step}"),
        await bob.post(f"{base}/turn", json={"messages": [{"role": "user", "content": "hi"}]}),
        await bob.post(f"{base}/turn/{turn['turn_id']}/resume", json={"tool_responses": [
            {"call_id": call_id, "tool_name": "get_weather", "content": "stolen"}]}),
        await bob.delete(base), await bob.delete(f"/v1alpha/agents/{agent}"),
    ]
    assert [a.status_code for a in answers] == [404] * len(answers)
    assert not any(SECRET in a.text or "mine" in a.text for a in answers)
    assert all(a["agent_id"] != agent for a in bobs_agents_before)
    assert all(a["agent_id"] != agent for a in (await bob.get("/v1alpha/agents")).json()["data"])
    # alice still has everything, and finishes her turn (the script's second call)
    finished = (await alice.post(f"{base}/turn/{turn['turn_id']}/resume", json={"tool_responses": [
        {"call_id": call_id, "tool_name": "get_weather", "content": "rain"}]})).json()
    assert finished["output_message"]["content"] == "Sunny in Paris."
    assert (await alice.delete(f"/v1alpha/agents/{agent}")).status_code == 204


def over_http(server: Any, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60)


async def test_lifecycle_over_http(server):  # type: ignore[no-untyped-def]
    async with over_http(server, ALICE) as alice:
        await lifecycle(alice)


async def test_two_users_over_http(server):  # type: ignore[no-untyped-def]
    async with over_http(server, ALICE) as alice, over_http(server, BOB) as bob:
        await two_users(alice, bob)


async def test_lifecycle_and_two_users_in_process(tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config_dict(tmp_path)))
    async with polystack.connect(str(path), env=ENV, api_key=ALICE) as alice:
        await lifecycle(alice.http)
    async with polystack.connect(str(path), env=ENV, api_key=ALICE) as alice, \
            polystack.connect(str(path), env=ENV, api_key=BOB) as bob:
        await two_users(alice.http, bob.http)
