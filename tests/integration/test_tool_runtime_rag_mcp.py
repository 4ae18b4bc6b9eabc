"""The RAG and MCP tool runtimes end to end: a real `polystack run` (scripted embeddings, sqlite-vec, localfs,
the test MCP server on loopback) over HTTP, and the same config in-process; two users whose tool groups,
stores and documents stay invisible to each other."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

import polystack
from polystack.core.config import load_run_config
from polystack.testing.mcp_servers import ToolServer

ALICE, BOB = "alice-key-2b7e19", "bob-key-8c03d4"
ENV = {"ALICE_KEY": ALICE, "BOB_KEY": BOB}
GUIDE = "The lighthouse keeper trims the lamp wick every evening at dusk and logs the weather."


def write_config(tmp_path: Path) -> str:
    config = {
        "distro_name": "rag-mcp",
        "providers": {
            "inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}],
            "files": [{"provider_id": "localfs", "provider_type": "inline::localfs",
                       "config": {"storage_dir": str(tmp_path / "files"),
                                  "metadata_store": {"backend": "sql", "table_name": "files"}}}],
            "vector_io": [{"provider_id": "sqlite-vec", "provider_type": "inline::sqlite-vec",
                           "config": {"db_path": str(tmp_path / "vec.db")}}],
            "tool_runtime": [
                {"provider_id": "rag-runtime", "provider_type": "inline::rag-runtime"},
                {"provider_id": "mcp", "provider_type": "remote::model-context-protocol",
                 "config": {"connect_timeout": 3, "call_timeout": 5}},
            ],
        },
        "storage": {
            "backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")},
                         "kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
            "stores": {"metadata": {"backend": "kv"}, "inference": {"backend": "sql"},
                       "vector_stores": {"backend": "sql"}},
        },
        "vector_stores": {"default_provider_id": "sqlite-vec",
                          "default_embedding_model": "scripted/scripted-embedding"},
        "registered_resources": {"tool_groups": [{"toolgroup_id": "builtin::rag", "provider_id": "rag-runtime"}]},
        "models": {"refresh_interval_seconds": 0},
        "server": {"auth": {"provider_config": {"type": "api_keys", "keys": [
            {"key": "${env.ALICE_KEY}", "principal": "alice"}, {"key": "${env.BOB_KEY}", "principal": "bob"}]}}},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture(scope="module")
def tools() -> Iterator[ToolServer]:
    with ToolServer() as server:
        yield server


@pytest.fixture(scope="module")
def config_path(tmp_path_factory) -> str:  # type: ignore[no-untyped-def]
    return write_config(tmp_path_factory.mktemp("ragmcp"))


@pytest.fixture(scope="module")
def server(server_factory, config_path):  # type: ignore[no-untyped-def]
    return server_factory(config_path, env=ENV)


def client(server: Any, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60)


def test_rag_insert_query_and_knowledge_search_over_http(server):  # type: ignore[no-untyped-def]
    alice, bob = client(server, ALICE), client(server, BOB)
    store = alice.post("/v1/vector_stores", json={"name": "alice-notes"}).json()
    data_url = "data:text/plain;base64," + base64.b64encode(GUIDE.encode()).decode()
    inserted = alice.post("/v1/tool-runtime/rag-tool/insert", json={
        "vector_store_id": store["id"], "chunk_size_in_tokens": 128,
        "documents": [{"document_id": "guide", "content": {"uri": data_url}, "metadata": {"shelf": "b2"}},
                      {"document_id": "other", "content": "Ferns grow in shade.", "metadata": {}}]})
    assert inserted.status_code == 204, inserted.text
    found = alice.post("/v1/tool-runtime/rag-tool/query", json={
        "content": "lamp wick dusk", "vector_store_ids": [store["id"]], "query_config": {"mode": "keyword"}}).json()
    assert found["metadata"]["document_ids"] == ["guide"]
    assert found["metadata"]["chunk_metadata"][0]["attributes"] == {"document_id": "guide", "shelf": "b2"}
    searched = alice.post("/v1/tool-runtime/invoke", json={"tool_name": "knowledge_search", "kwargs": {
        "query": "lamp wick", "vector_store_ids": [store["id"]], "query_config": {"mode": "keyword"}}}).json()
    assert any(GUIDE in item["text"] for item in searched["content"])
    # bob cannot read alice's store through the RAG tool, nor write into it
    for response in (
        bob.post("/v1/tool-runtime/rag-tool/query", json={"content": "lamp", "vector_store_ids": [store["id"]]}),
        bob.post("/v1/tool-runtime/rag-tool/insert", json={"vector_store_id": store["id"], "documents": [
            {"document_id": "x", "content": "intruder", "metadata": {}}]}),
        bob.post("/v1/tool-runtime/invoke", json={"tool_name": "knowledge_search", "kwargs": {
            "query": "lamp", "vector_store_ids": [store["id"]]}}),
    ):
        assert response.status_code == 404, response.text
        assert GUIDE not in response.text


def test_mcp_groups_are_invisible_to_other_users(server, tools):  # type: ignore[no-untyped-def]
    alice, bob = client(server, ALICE), client(server, BOB)
    registered = alice.post("/v1/toolgroups", json={"toolgroup_id": "alice-mcp", "provider_id": "mcp",
                                                    "mcp_endpoint": {"uri": tools.http_url}})
    assert registered.status_code == 200, registered.text
    echoed = alice.post("/v1/tool-runtime/invoke", json={"tool_name": "alice-mcp/echo", "kwargs": {"text": "hi"}})
    assert echoed.json()["content"] == [{"type": "text", "text": "hi"}]
    listed = alice.get("/v1/tool-runtime/list-tools", params={"tool_group_id": "alice-mcp"}).json()["data"]
    assert "echo" in {t["name"] for t in listed}

    leaks = 0
    probes = [
        bob.get("/v1/toolgroups"), bob.get("/v1/tools"), bob.get("/v1/toolgroups/alice-mcp"),
        bob.get("/v1/tools", params={"toolgroup_id": "alice-mcp"}),
        bob.get("/v1/tool-runtime/list-tools", params={"tool_group_id": "alice-mcp"}),
        bob.get("/v1/tool-runtime/list-tools"),
        bob.post("/v1/tool-runtime/invoke", json={"tool_name": "alice-mcp/echo", "kwargs": {"text": "x"}}),
        bob.post("/v1/tool-runtime/invoke", json={"tool_name": "echo", "kwargs": {"text": "x"}}),
        bob.delete("/v1/toolgroups/alice-mcp"),
    ]
    for response in probes:
        leaks += "alice-mcp" in response.text and response.status_code < 400
        assert response.status_code in (200, 404), response.text
    assert leaks == 0
    assert [g["identifier"] for g in bob.get("/v1/toolgroups").json()["data"]] == ["builtin::rag"]
    assert alice.get("/v1/toolgroups/alice-mcp").status_code == 200  # bob's delete did nothing


async def test_the_same_config_in_process(config_path, tools):  # type: ignore[no-untyped-def]
    async with polystack.connect(load_run_config(Path(config_path), env=ENV), api_key=ALICE) as stack:
        store = await stack.openai.vector_stores.create(name="in-process")
        inserted = await stack.http.post("/v1/tool-runtime/rag-tool/insert", json={
            "vector_db_id": store.id, "documents": [{"document_id": "guide", "content": GUIDE, "metadata": {}}]})
        assert inserted.status_code == 204, inserted.text
        found = (await stack.http.post("/v1/tool-runtime/rag-tool/query", json={
            "content": "lighthouse keeper", "vector_db_ids": [store.id],
            "query_config": {"mode": "hybrid", "ranker": {"type": "weighted", "alpha": 0.2}}})).json()
        assert found["metadata"]["document_ids"][0] == "guide"
        await stack.http.post("/v1/toolgroups", json={"toolgroup_id": "in-process-mcp", "provider_id": "mcp",
                                                      "mcp_endpoint": {"uri": tools.sse_url}})
        added = (await stack.http.post("/v1/tool-runtime/invoke", json={
            "tool_name": "in-process-mcp/add", "kwargs": {"a": 20, "b": 22}})).json()
        assert added["content"][0]["text"] == "42"
        as_bob = {"Authorization": f"Bearer {BOB}"}
        bob_groups = (await stack.http.get("/v1/toolgroups", headers=as_bob)).json()["data"]
        assert "in-process-mcp" not in {g["identifier"] for g in bob_groups}
        bob_call = await stack.http.post("/v1/tool-runtime/invoke", headers=as_bob, json={
            "tool_name": "in-process-mcp/add", "kwargs": {"a": 1, "b": 1}})
        assert bob_call.status_code == 404
        bob_query = await stack.http.post("/v1/tool-runtime/rag-tool/query", headers=as_bob, json={
            "content": "lighthouse keeper", "vector_store_ids": [store.id]})
        assert bob_query.status_code == 404 and GUIDE not in bob_query.text


def test_starter_serves_knowledge_search_offline(starter_server):  # type: ignore[no-untyped-def]
    """starter registers builtin::rag; its embedded embedding model (onnx all-MiniLM-L6-v2) finds by meaning."""
    http = httpx.Client(base_url=starter_server.base_url, timeout=120)
    groups = {g["identifier"]: g["provider_id"] for g in http.get("/v1/toolgroups").json()["data"]}
    assert groups.get("builtin::rag") == "rag-runtime"
    store = http.post("/v1/vector_stores", json={"name": "starter-rag"}).json()
    inserted = http.post("/v1/tool-runtime/rag-tool/insert", json={"vector_store_id": store["id"], "documents": [
        {"document_id": "lighthouse", "content": GUIDE, "metadata": {}},
        {"document_id": "ferns", "content": "Ferns reproduce with spores and prefer damp shade.", "metadata": {}}]})
    assert inserted.status_code == 204, inserted.text
    result = http.post("/v1/tool-runtime/invoke", json={"tool_name": "knowledge_search", "kwargs": {
        "query": "who looks after the lamp of the coastal tower?", "vector_store_ids": [store["id"]]}}).json()
    assert result["metadata"]["document_ids"][0] == "lighthouse"
