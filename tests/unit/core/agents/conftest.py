"""A stack with the scripted model, the Responses engine and the Agents API on SQLite, built per test."""

from __future__ import annotations

import json
from typing import Any

import pytest

import polystack
from polystack.core.config import parse_run_config

MODEL = "scripted/scripted-model"
SHIELD = "offline"


def agents_config(tmp_path, replies: list[dict[str, Any]], tool_groups: list[dict[str, Any]] | None = None,
                  tool_runtime: list[dict[str, Any]] | None = None):
    providers: dict[str, Any] = {
        "inference": [{"provider_id": "scripted", "provider_type": "inline::scripted", "config": {"replies": replies}}],
        "files": [{"provider_id": "localfs", "provider_type": "inline::localfs",
                   "config": {"storage_dir": str(tmp_path / "files"), "metadata_store": {"backend": "sql"}}}],
        "vector_io": [{"provider_id": "sqlite-vec", "provider_type": "inline::sqlite-vec",
                       "config": {"db_path": str(tmp_path / "vec.db")}}],
        "tool_runtime": [{"provider_id": "rag-runtime", "provider_type": "inline::rag-runtime"},
                         {"provider_id": "mcp", "provider_type": "remote::model-context-protocol"},
                         *(tool_runtime or [])],
        "safety": [{"provider_id": "offline", "provider_type": "inline::offline-classifier"}],
    }
    return parse_run_config({
        "distro_name": "agents-test",
        "apis": ["inference", "files", "vector_io", "tool_runtime", "safety", "conversations", "responses", "agents"],
        "providers": providers,
        "storage": {"backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")},
                                 "kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
                    "stores": {"metadata": {"backend": "kv"}, "vector_stores": {"backend": "sql"},
                               "conversations": {"backend": "sql"}, "agents": {"backend": "sql"}}},
        "vector_stores": {"default_provider_id": "sqlite-vec",
                          "default_embedding_model": "scripted/scripted-embedding"},
        "registered_resources": {
            "tool_groups": [{"toolgroup_id": "builtin::rag", "provider_id": "rag-runtime"}, *(tool_groups or [])],
            "shields": [{"shield_id": SHIELD, "provider_id": "offline"}]},
        "models": {"refresh_interval_seconds": 0},
    }, env={})


@pytest.fixture
def connect(tmp_path):
    """`async with connect(replies) as stack:` a stack whose scripted model plays `replies` in order."""

    def open_stack(replies: list[dict[str, Any]], **options: Any):
        return polystack.connect(agents_config(tmp_path, replies, **options))

    return open_stack


def call(name: str, arguments: str = "{}") -> dict[str, Any]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


async def new_agent(http: Any, **config: Any) -> str:
    body = {"model": MODEL, "instructions": "You are helpful.", **config}
    reply = await http.post("/v1alpha/agents", json={"agent_config": body})
    assert reply.status_code == 200, reply.text
    return reply.json()["agent_id"]  # type: ignore[no-any-return]


async def new_session(http: Any, agent_id: str, name: str = "s") -> str:
    reply = await http.post(f"/v1alpha/agents/{agent_id}/session", json={"session_name": name})
    assert reply.status_code == 200, reply.text
    return reply.json()["session_id"]  # type: ignore[no-any-return]


async def stream_turn(http: Any, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The payloads of a streamed turn (or resume), in order."""
    payloads = []
    async with http.stream("POST", path, json={**body, "stream": True}) as reply:
        assert reply.status_code == 200, await reply.aread()
        async for line in reply.aiter_lines():
            if line.startswith("data: "):
                data = json.loads(line[6:])
                assert "error" not in data, data
                payloads.append(data["event"]["payload"])
    return payloads


def shape(payloads: list[dict[str, Any]]) -> list[str]:
    """`turn_start`, `step_start:inference`, ... (progress events collapsed: one per run of them)."""
    names: list[str] = []
    for payload in payloads:
        name = payload["event_type"] + (f":{payload['step_type']}" if "step_type" in payload else "")
        if not (name.startswith("step_progress") and names and names[-1] == name):
            names.append(name)
    return names
