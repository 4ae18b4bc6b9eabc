"""Tool groups and the tool runtime end to end: a real `polystack run` (scripted inference, brave-search on a
fake of Brave's API) over HTTP, and the same config in-process; two users who never see each other's groups."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

import polystack
from polystack.core.config import parse_run_config
from polystack.testing.fake_search_apis import FakeBraveSearch

ALICE, BOB = "alice-key-7c21e0", "bob-key-04f9d3"
ENV = {"ALICE_KEY": ALICE, "BOB_KEY": BOB}


def write_config(tmp_path: Path, brave: FakeBraveSearch) -> str:
    config = {
        "distro_name": "tools",
        "providers": {
            "inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}],
            "tool_runtime": [{"provider_id": "brave-search", "provider_type": "remote::brave-search",
                              "config": {"api_key": brave.api_key, "base_url": brave.base_url}}],
        },
        "storage": {
            "backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")},
                         "kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
            "stores": {"metadata": {"backend": "kv"}, "inference": {"backend": "sql"}},
        },
        "registered_resources": {"tool_groups": [{"toolgroup_id": "builtin::websearch",
                                                  "provider_id": "brave-search"}]},
        "models": {"refresh_interval_seconds": 0},
        "server": {"auth": {"provider_config": {"type": "api_keys", "keys": [
            {"key": "${env.ALICE_KEY}", "principal": "alice"}, {"key": "${env.BOB_KEY}", "principal": "bob"}]}}},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture(scope="module")
def brave() -> Iterator[FakeBraveSearch]:
    with FakeBraveSearch() as fake:
        yield fake


@pytest.fixture(scope="module")
def config_path(brave, tmp_path_factory) -> str:  # type: ignore[no-untyped-def]
    return write_config(tmp_path_factory.mktemp("tools"), brave)


@pytest.fixture(scope="module")
def server(server_factory, config_path):  # type: ignore[no-untyped-def]
    return server_factory(config_path, env=ENV)


def client(server, key: str | None, **headers: str) -> httpx.Client:  # type: ignore[no-untyped-def]
    auth = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=server.base_url, headers={**auth, **headers}, timeout=60)


def test_register_list_get_and_delete_tool_groups(server):  # type: ignore[no-untyped-def]
    alice = client(server, ALICE)
    registered = alice.post("/v1/toolgroups", json={"toolgroup_id": "alice-search", "provider_id": "brave-search",
                                                    "args": {"region": "eu"}})
    assert registered.status_code == 200, registered.text
    assert registered.json() == {"identifier": "alice-search", "provider_id": "brave-search",
                                 "provider_resource_id": "alice-search", "type": "tool_group",
                                 "mcp_endpoint": None, "args": {"region": "eu"}}
    listed = alice.get("/v1/toolgroups").json()["data"]
    assert {"builtin::websearch", "alice-search"} <= {g["identifier"] for g in listed}
    assert all("owner" not in g for g in listed)
    assert alice.get("/v1/toolgroups/alice-search").json()["args"] == {"region": "eu"}
    tools = alice.get("/v1/tools", params={"toolgroup_id": "alice-search"}).json()["data"]
    assert [(t["name"], t["toolgroup_id"]) for t in tools] == [("web_search", "alice-search")]
    assert tools[0]["input_schema"]["required"] == ["query"]
    assert {t["toolgroup_id"] for t in alice.get("/v1/tools").json()["data"]} >= {"builtin::websearch", "alice-search"}
    assert alice.get("/v1/tools/web_search").json()["name"] == "web_search"
    runtime = alice.get("/v1/tool-runtime/list-tools", params={"tool_group_id": "builtin::websearch"}).json()
    assert [t["name"] for t in runtime["data"]] == ["web_search"]
    assert alice.delete("/v1/toolgroups/alice-search").status_code == 204
    missing = alice.get("/v1/toolgroups/alice-search")
    assert missing.status_code == 404 and missing.json()["error"]["param"] == "toolgroup_id"


def test_invoke_web_search(server, brave):  # type: ignore[no-untyped-def]
    alice = client(server, ALICE)
    before = len(brave.requests)
    reply = alice.post("/v1/tool-runtime/invoke", json={"tool_name": "web_search", "kwargs": {"query": "sea otters"}})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    content = json.loads(body["content"])
    assert content["query"] == "sea otters" and len(content["top_k"]) == 3
    assert [r["url"] for r in body["metadata"]["results"]] == [hit["url"] for hit in content["top_k"]]
    assert body["error_message"] is None and body["error_code"] is None
    assert len(brave.requests) == before + 1 and brave.requests[-1].query["q"] == "sea otters"


def test_bad_calls_are_4xx_in_openais_error_shape(server):  # type: ignore[no-untyped-def]
    alice = client(server, ALICE)
    cases = [
        (alice.post("/v1/tool-runtime/invoke", json={"tool_name": "no_such_tool", "kwargs": {}}), 404, "tool_name"),
        (alice.post("/v1/tool-runtime/invoke", json={"tool_name": "web_search", "kwargs": {}}), 400, "kwargs.query"),
        (alice.post("/v1/tool-runtime/invoke", json={"tool_name": "web_search", "kwargs": {"query": 7}}), 400,
         "kwargs.query"),
        (alice.get("/v1/tools", params={"toolgroup_id": "nope"}), 404, "toolgroup_id"),
        (alice.get("/v1/tools/no_such_tool"), 404, "tool_name"),
        (alice.get("/v1/tool-runtime/list-tools", params={"mcp_endpoint[uri]": "http://127.0.0.1:9/mcp"}), 400,
         "mcp_endpoint"),
        (alice.post("/v1/toolgroups", json={"toolgroup_id": "x", "provider_id": "nope"}), 404, "provider_id"),
    ]
    for response, status, param in cases:
        assert response.status_code == status, response.text
        assert response.json()["error"]["param"] == param and set(response.json()["error"]) == {
            "message", "type", "param", "code"}


def test_an_upstream_429_passes_retry_after_on(server, brave):  # type: ignore[no-untyped-def]
    brave.fail_next(429, retry_after="9")
    reply = client(server, ALICE).post("/v1/tool-runtime/invoke",
                                       json={"tool_name": "web_search", "kwargs": {"query": "busy"}})
    assert reply.status_code == 429 and reply.headers["retry-after"] == "9"
    assert reply.json()["error"]["type"] == "rate_limit_exceeded"
    assert brave.api_key not in reply.text


def test_the_callers_key_is_used_and_never_shown(server, brave):  # type: ignore[no-untyped-def]
    wrong = "callers-wrong-brave-key-39d1"
    caller = client(server, ALICE, **{"X-LlamaStack-Provider-Data": json.dumps({"brave_search_api_key": wrong})})
    reply = caller.post("/v1/tool-runtime/invoke", json={"tool_name": "web_search", "kwargs": {"query": "x"}})
    assert reply.status_code == 502 and "refused the API key" in reply.json()["error"]["message"]
    assert brave.key_of(brave.requests[-1]) == wrong and wrong not in reply.text


def test_two_users_neither_see_nor_delete_each_others_tool_groups(server):  # type: ignore[no-untyped-def]
    alice, bob, anonymous = client(server, ALICE), client(server, BOB), client(server, None)
    assert alice.post("/v1/toolgroups", json={"toolgroup_id": "alice-private",
                                              "provider_id": "brave-search"}).status_code == 200
    assert bob.post("/v1/toolgroups", json={"toolgroup_id": "bob-private",
                                            "provider_id": "brave-search"}).status_code == 200
    probes = 0
    for me, other, theirs in ((bob, alice, "alice-private"), (alice, bob, "bob-private")):
        assert theirs not in {g["identifier"] for g in me.get("/v1/toolgroups").json()["data"]}
        assert theirs not in {t["toolgroup_id"] for t in me.get("/v1/tools").json()["data"]}
        for group in (theirs, "nobody-has-this"):  # theirs must look exactly like one that does not exist
            answers = [me.get(f"/v1/toolgroups/{group}"), me.delete(f"/v1/toolgroups/{group}"),
                       me.get("/v1/tools", params={"toolgroup_id": group}),
                       me.get("/v1/tool-runtime/list-tools", params={"tool_group_id": group}),
                       me.post("/v1/tool-runtime/invoke",
                               json={"tool_name": f"{group}/web_search", "kwargs": {"query": "x"}})]
            seen = [(r.status_code, r.text.replace(group, "<id>")) for r in answers]
            if group == theirs:
                probes += len(answers)
                assert all(status == 404 for status, _ in seen), seen
                theirs_seen = seen
            else:
                assert seen == theirs_seen
        taken = me.post("/v1/toolgroups", json={"toolgroup_id": theirs, "provider_id": "brave-search"})
        assert taken.status_code == 409
        assert other.get(f"/v1/toolgroups/{theirs}").status_code == 200  # still there, still theirs
    assert probes == 10
    for path in ("/v1/toolgroups", "/v1/tools", "/v1/toolgroups/builtin::websearch"):
        assert anonymous.get(path).status_code == 401
    builtin = bob.delete("/v1/toolgroups/builtin::websearch")  # the config's group: readable by all, deletable by none
    assert builtin.status_code == 403
    assert alice.delete("/v1/toolgroups/alice-private").status_code == 204
    assert bob.delete("/v1/toolgroups/bob-private").status_code == 204


async def test_the_in_process_client_serves_the_same_routes(config_path, brave, tmp_path):  # type: ignore[no-untyped-def]
    async with polystack.connect(config_path, env=ENV, api_key=ALICE) as stack:
        registered = await stack.http.post("/v1/toolgroups", json={"toolgroup_id": "in-process",
                                                                   "provider_id": "brave-search"})
        assert registered.status_code == 200, registered.text
        groups = (await stack.http.get("/v1/toolgroups")).json()["data"]
        assert {"builtin::websearch", "in-process"} <= {g["identifier"] for g in groups}
        reply = await stack.http.post("/v1/tool-runtime/invoke", json={"tool_name": "in-process/web_search",
                                                                       "kwargs": {"query": "library mode"}})
        assert reply.status_code == 200 and json.loads(reply.json()["content"])["query"] == "library mode"
        assert (await stack.http.delete("/v1/toolgroups/in-process")).status_code == 204
        assert (await stack.http.get("/v1/toolgroups/in-process")).status_code == 404


async def test_a_listed_tool_runtime_without_providers_serves_empty_lists(tmp_path):  # type: ignore[no-untyped-def]
    config = parse_run_config({
        "distro_name": "no-tools", "apis": ["inference", "tool_runtime"],
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}]},
        "storage": {"backends": {"kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
                    "stores": {"metadata": {"backend": "kv"}}},
        "models": {"refresh_interval_seconds": 0},
    }, env={})
    async with polystack.connect(config) as stack:
        assert (await stack.http.get("/v1/toolgroups")).json() == {"data": []}
        assert (await stack.http.get("/v1/tools")).json() == {"data": []}
        invoked = await stack.http.post("/v1/tool-runtime/invoke", json={"tool_name": "web_search", "kwargs": {}})
        assert invoked.status_code == 404
        registered = await stack.http.post("/v1/toolgroups", json={"toolgroup_id": "g", "provider_id": "brave-search"})
        assert registered.status_code == 404 and registered.json()["error"]["param"] == "provider_id"


@pytest.mark.parametrize(("keys", "served_by"), [
    ({}, None),
    ({"BRAVE_SEARCH_API_KEY": "b-key-1234"}, "brave-search"),
    ({"TAVILY_SEARCH_API_KEY": "t-key-1234"}, "tavily-search"),
    ({"BRAVE_SEARCH_API_KEY": "b-key-1234", "TAVILY_SEARCH_API_KEY": "t-key-1234"}, "tavily-search"),
])
def test_starter_serves_web_search_when_a_search_key_is_set(keys, served_by):  # type: ignore[no-untyped-def]
    from polystack.core.config import load_run_config, resolve_config_path

    config = load_run_config(resolve_config_path("starter"), env=keys)
    assert "tool_runtime" in config.served_apis()
    groups = config.registered_resources.tool_groups
    assert {g.toolgroup_id for g in groups} <= {"builtin::websearch"}
    assert (groups[-1].provider_id if groups else None) == served_by  # the last entry of an id wins at start
    providers = {p.provider_id for p in config.providers.get("tool_runtime", [])}
    assert providers == {name for name, key in (("brave-search", "BRAVE_SEARCH_API_KEY"),
                                                ("tavily-search", "TAVILY_SEARCH_API_KEY")) if key in keys}
