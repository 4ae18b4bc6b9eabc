"""Agents on PostgreSQL, with no `stores.agents` (the responses store's backend serves): a turn that awaits a
client tool on one replica is resumed on another, so no agent state lives in one process's memory."""

from __future__ import annotations

import pytest

import polystack
from polystack.core.config import parse_run_config
from tests.unit.core.agents.conftest import MODEL

PG_HOST, PG_PORT = "127.0.0.1", 5432


def replica(db: str, replies: list[dict[str, object]]):
    return polystack.connect(parse_run_config({
        "distro_name": "agents-postgres", "apis": ["inference", "conversations", "responses", "agents"],
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted",
                                     "config": {"replies": replies}}]},
        "storage": {"backends": {"pg": {"type": "sql_postgres", "host": PG_HOST, "port": PG_PORT, "db": db},
                                 "kv": {"type": "kv_memory"}},
                    "stores": {"metadata": {"backend": "kv"}, "conversations": {"backend": "pg"},
                               "responses": {"backend": "pg", "durability": "commit"}}},
        "models": {"refresh_interval_seconds": 0},
    }, env={}))


async def test_a_turn_awaiting_a_client_tool_is_resumed_on_another_replica(pg_db):
    try:
        first = await replica(pg_db, [{"tool_calls": [{"name": "lookup", "arguments": '{"key": "k"}'}]}]).start()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"PostgreSQL is not reachable: {exc}")
    try:
        agent = (await first.http.post("/v1alpha/agents", json={"agent_config": {
            "model": MODEL, "instructions": "x",
            "client_tools": [{"name": "lookup", "input_schema": {"type": "object"}}]}})).json()["agent_id"]
        session = (await first.http.post(f"/v1alpha/agents/{agent}/session",
                                         json={"session_name": "pg"})).json()["session_id"]
        base = f"/v1alpha/agents/{agent}/session/{session}/turn"
        turn = (await first.http.post(base, json={"messages": [{"role": "user", "content": "look k up"}]})).json()
    finally:
        await first.close()
    second = await replica(pg_db, [{"content": "Found it."}]).start()
    try:
        call = turn["output_message"]["tool_calls"][0]
        resumed = await second.http.post(f"{base}/{turn['turn_id']}/resume", json={"tool_responses": [
            {"call_id": call["call_id"], "tool_name": "lookup", "content": "value"}]})
        session_view = (await second.http.get(f"/v1alpha/agents/{agent}/session/{session}")).json()
    finally:
        await second.close()
    assert turn["output_message"]["stop_reason"] == "end_of_message"
    assert resumed.status_code == 200, resumed.text
    done = resumed.json()
    assert [s["step_type"] for s in done["steps"]] == ["inference", "tool_execution", "inference"]
    assert done["steps"][1]["tool_responses"][0]["content"] == "value"
    assert done["output_message"]["content"] == "Found it."
    assert [t["turn_id"] for t in session_view["turns"]] == [turn["turn_id"]]
