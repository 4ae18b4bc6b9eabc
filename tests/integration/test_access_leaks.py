"""The leak count: every resource type and every route that touches one, four callers, SQLite and PostgreSQL.

One real `polystack run` per backend, with `server.auth` api_keys and an access policy where owners do
everything and teammates (same `teams` value) only read. alice (team blue) creates one resource of each
type; then alex (blue, her teammate), bob (red, a stranger) and an anonymous caller send every route over
it. A forbidden read must look like absence: bob's answer equals, byte for byte once ids are swapped, his
answer about an id that names nothing. A forbidden write is 403 for alex (who can read it) and a 404 for
bob. Lists hold what the caller may read, page by page with consistent `has_more` and cursors. The count
of probes and leaks is printed per resource type; there must be no leak.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import yaml

from polystack.testing.fake_safety_apis import FakeSafetyAPIs
from polystack.testing.fake_search_apis import FakeBraveSearch

KEYS = {"alice": "alice-leaks-key-5e1d", "alex": "alex-leaks-key-77c0", "bob": "bob-leaks-key-0b9a"}
ENV = {f"{name.upper()}_KEY": key for name, key in KEYS.items()}
MODEL = "scripted/scripted-model"  # echoes the last user message
SEARCHER = "searcher/search-model"  # calls file_search, then answers: two replies per response, found or not
SEARCH_REPLIES = [{"tool_calls": [{"name": "file_search", "arguments": '{"query": "private words"}'}]},
                  {"content": "searched"}]
SECRET = "alice-private-words"
POLICY = [
    {"permit": {"actions": ["create", "read", "update", "delete"]}, "when": "user is owner"},
    {"permit": {"actions": ["read"]}, "when": "user in owners teams", "description": "teammates read"},
]
OK = (200, 201, 204)


def write_config(folder: Path, backend: str, database: str, safety: FakeSafetyAPIs, brave: FakeBraveSearch) -> str:
    if backend == "sqlite":
        backends: dict[str, Any] = {"sql": {"type": "sql_sqlite", "db_path": str(folder / "sql.db")},
                                    "kv": {"type": "kv_sqlite", "db_path": str(folder / "kv.db")}}
    else:
        backends = {"sql": {"type": "sql_postgres", "host": "127.0.0.1", "port": 5432, "db": database},
                    "kv": {"type": "kv_postgres", "host": "127.0.0.1", "port": 5432, "db": database}}
    keys = [{"key": f"${{env.{name.upper()}_KEY}}", "principal": name,
             "attributes": {"teams": ["red" if name == "bob" else "blue"]}} for name in KEYS]
    config = {
        "distro_name": "leaks",
        "apis": ["inference", "models", "files", "vector_io", "responses", "conversations", "prompts",
                 "safety", "shields", "tool_groups", "tool_runtime", "agents"],
        "providers": {
            "inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"},
                          {"provider_id": "searcher", "provider_type": "inline::scripted",
                           "config": {"models": ["search-model"], "replies": SEARCH_REPLIES}}],
            "files": [{"provider_id": "localfs", "provider_type": "inline::localfs",
                       "config": {"storage_dir": str(folder / "files"),
                                  "metadata_store": {"backend": "sql", "table_name": "files"}}}],
            "vector_io": [{"provider_id": "sqlite-vec", "provider_type": "inline::sqlite-vec",
                           "config": {"db_path": str(folder / "vec.db")}}],
            "safety": [{"provider_id": "openai-moderation", "provider_type": "remote::openai-moderation",
                        "config": {"base_url": f"{safety.base_url}/v1", "api_key": safety.openai_key}}],
            "tool_runtime": [{"provider_id": "brave-search", "provider_type": "remote::brave-search",
                              "config": {"api_key": brave.api_key, "base_url": brave.base_url}}],
        },
        "storage": {"backends": backends, "stores": {
            "metadata": {"backend": "kv"}, "inference": {"backend": "sql"}, "vector_stores": {"backend": "sql"},
            "responses": {"backend": "sql", "durability": "commit"}, "conversations": {"backend": "sql"},
            "prompts": {"backend": "sql"}}},
        "vector_stores": {"default_provider_id": "sqlite-vec",
                          "default_embedding_model": "scripted/scripted-embedding"},
        "registered_resources": {"tool_groups": [{"toolgroup_id": "builtin::websearch",
                                                  "provider_id": "brave-search"}]},
        "models": {"refresh_interval_seconds": 0},
        "server": {"auth": {"provider_config": {"type": "api_keys", "keys": keys}, "access_policy": POLICY}},
    }
    path = folder / f"leaks-{backend}.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture(scope="module")
async def safety() -> AsyncIterator[FakeSafetyAPIs]:
    async with FakeSafetyAPIs() as fake:
        yield fake


@pytest.fixture(scope="module")
def brave() -> Iterator[FakeBraveSearch]:
    with FakeBraveSearch() as fake:
        yield fake


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
async def server(request, server_factory, tmp_path_factory, safety, brave):  # type: ignore[no-untyped-def]
    database = f"polystack_leaks_{uuid.uuid4().hex[:10]}"
    if request.param == "postgres":
        try:
            (await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="postgres")).terminate()
        except OSError:
            pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    folder = tmp_path_factory.mktemp(f"leaks-{request.param}")
    yield server_factory(write_config(folder, request.param, database, safety, brave), env=ENV)
    if request.param == "postgres":
        admin = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="postgres")
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await admin.close()


def client(server: Any, name: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {KEYS[name]}"} if name else {}
    return httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=60)


async def made(response: Any) -> dict[str, Any]:
    answer = await response
    assert answer.status_code in OK, answer.text
    return answer.json() if answer.content else {}  # type: ignore[no-any-return]


async def ingested(alice: httpx.AsyncClient, store: str, file: str) -> None:
    """Wait until the file is searchable in the store, so that a search finds her words."""
    for _ in range(200):
        attached = await made(alice.get(f"/v1/vector_stores/{store}/files/{file}"))
        if attached["status"] == "completed":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(attached)


async def create_everything(alice: httpx.AsyncClient) -> dict[str, str]:
    """One resource of every type (and sub-resource), alice's, each holding SECRET; their ids."""
    chat = await made(alice.post("/v1/chat/completions", json={
        "model": MODEL, "messages": [{"role": "user", "content": SECRET}]}))
    file = await made(alice.post("/v1/files", data={"purpose": "assistants"},
                                 files={"file": ("a.txt", f"{SECRET} in a file".encode())}))
    store = await made(alice.post("/v1/vector_stores", json={"name": "alice-store", "file_ids": [file["id"]]}))
    await ingested(alice, store["id"], file["id"])
    batch = await made(alice.post(f"/v1/vector_stores/{store['id']}/file_batches", json={"file_ids": [file["id"]]}))
    for _ in range(200):
        if (await made(alice.get(f"/v1/vector_stores/{store['id']}/file_batches/{batch['id']}")))["status"] \
                != "in_progress":
            break
        await asyncio.sleep(0.05)
    await ingested(alice, store["id"], file["id"])
    await made(alice.post("/v1/models", json={"model_id": "alice-alias", "provider_id": "scripted",
                                              "provider_model_id": "scripted-model"}))
    response = await made(alice.post("/v1/responses", json={"model": MODEL, "input": SECRET, "store": True}))
    conversation = await made(alice.post("/v1/conversations", json={
        "items": [{"role": "user", "content": SECRET}], "metadata": {"owner": "alice"}}))
    items = await made(alice.get(f"/v1/conversations/{conversation['id']}/items"))
    prompt = await made(alice.post("/v1/prompts", json={"prompt": f"{SECRET} {{{{ tone }}}}", "variables": ["tone"]}))
    await made(alice.post("/v1/toolgroups", json={"toolgroup_id": "alice-tools", "provider_id": "brave-search"}))
    await made(alice.post("/v1/shields", json={"shield_id": "alice-shield", "provider_id": "openai-moderation",
                                               "provider_shield_id": "omni-moderation-latest"}))
    agent = await made(alice.post("/v1alpha/agents", json={"agent_config": {
        "model": MODEL, "instructions": f"{SECRET} in instructions"}}))
    session = await made(alice.post(f"/v1alpha/agents/{agent['agent_id']}/session", json={"session_name": "hers"}))
    turn = await made(alice.post(f"/v1alpha/agents/{agent['agent_id']}/session/{session['session_id']}/turn",
                                 json={"messages": [{"role": "user", "content": SECRET}], "stream": False}))
    return {"chat": chat["id"], "file": file["id"], "store": store["id"], "batch": batch["id"],
            "alias": "alice-alias", "response": response["id"], "conversation": conversation["id"],
            "item": items["data"][0]["id"], "prompt": prompt["prompt_id"], "toolgroup": "alice-tools",
            "shield": "alice-shield", "agent": agent["agent_id"], "session": session["session_id"],
            "turn": turn["turn_id"]}


@dataclass(frozen=True)
class Probe:
    """One request about alice's resources: `kind` says what the policy makes of it for a teammate
    (read: allowed; write: 403; list: allowed, filtered)."""

    resource: str
    kind: str  # read | write | list
    method: str
    path: str
    body: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    absent: int = 404  # what a stranger gets, as for an id that names nothing
    shows: bool = False  # a reader's answer holds SECRET: the probe would show a leak of content


def probes(i: dict[str, str]) -> list[Probe]:
    """Every route over alice's resources; writes and deletes last, so that the others still find them."""
    c, f, s, b, r, v = i["chat"], i["file"], i["store"], i["batch"], i["response"], i["conversation"]
    it, p, g, sh, a = i["item"], i["prompt"], i["toolgroup"], i["shield"], i["alias"]
    ag, se, tu = i["agent"], i["session"], i["turn"]
    turns = f"/v1alpha/agents/{ag}/session/{se}/turn"
    say = [{"role": "user", "content": "hello"}]
    return [
        Probe("chat_completion", "list", "GET", "/v1/chat/completions"),
        # a cursor naming a row the caller cannot see is refused as one naming nothing
        Probe("chat_completion", "read", "GET", "/v1/chat/completions", params={"after": c}, absent=400),
        Probe("file", "read", "GET", "/v1/files", params={"after": f}, absent=400),
        Probe("vector_store", "read", "GET", "/v1/vector_stores", params={"after": s}, absent=400),
        Probe("response", "read", "GET", "/v1/responses", params={"after": r}),  # a 404 naming `after`
        Probe("conversation", "read", "GET", f"/v1/conversations/{v}/items", params={"after": it}),
        Probe("chat_completion", "read", "GET", f"/v1/chat/completions/{c}", shows=True),
        Probe("chat_completion", "read", "GET", f"/v1/chat/completions/{c}/messages", shows=True),
        Probe("file", "list", "GET", "/v1/files"),
        Probe("file", "read", "GET", f"/v1/files/{f}"),
        Probe("file", "read", "GET", f"/v1/files/{f}/content", shows=True),
        Probe("file", "read", "POST", "/v1/vector_stores", {"name": "borrowed", "file_ids": [f]}),
        Probe("vector_store", "list", "GET", "/v1/vector_stores"),
        Probe("vector_store", "read", "GET", f"/v1/vector_stores/{s}"),
        Probe("vector_store", "read", "POST", f"/v1/vector_stores/{s}/search", {"query": "words"}, shows=True),
        Probe("vector_store", "read", "GET", f"/v1/vector_stores/{s}/files"),
        Probe("vector_store", "read", "GET", f"/v1/vector_stores/{s}/files/{f}"),
        Probe("vector_store", "read", "GET", f"/v1/vector_stores/{s}/files/{f}/content", shows=True),
        Probe("vector_store", "read", "GET", f"/v1/vector_stores/{s}/file_batches/{b}"),
        Probe("vector_store", "read", "GET", f"/v1/vector_stores/{s}/file_batches/{b}/files"),
        Probe("vector_store", "read", "POST", "/v1/vector-io/query", {"vector_store_id": s, "query": "words"}),
        Probe("vector_store", "read", "POST", "/v1/responses", {  # the tool's call fails: the response does not
            "model": SEARCHER, "input": "hi", "store": False, "include": ["file_search_call.results"],
            "tools": [{"type": "file_search", "vector_store_ids": [s]}]}, absent=200, shows=True),
        Probe("model", "list", "GET", "/v1/models"),
        Probe("model", "read", "GET", f"/v1/models/{a}"),
        Probe("model", "read", "POST", "/v1/chat/completions", {"model": a, "messages": say, "store": False}),
        Probe("response", "list", "GET", "/v1/responses"),
        Probe("response", "read", "GET", f"/v1/responses/{r}", shows=True),
        Probe("response", "read", "GET", f"/v1/responses/{r}/input_items", shows=True),
        Probe("response", "read", "POST", "/v1/responses", {"model": MODEL, "input": "hi", "store": False,
                                                             "previous_response_id": r}),
        Probe("conversation", "read", "GET", f"/v1/conversations/{v}"),
        Probe("conversation", "read", "GET", f"/v1/conversations/{v}/items", shows=True),
        Probe("conversation", "read", "GET", f"/v1/conversations/{v}/items/{it}", shows=True),
        Probe("prompt", "list", "GET", "/v1/prompts"),
        Probe("prompt", "read", "GET", f"/v1/prompts/{p}", shows=True),
        Probe("prompt", "read", "GET", f"/v1/prompts/{p}/versions", shows=True),
        Probe("prompt", "read", "POST", "/v1/responses", {"model": MODEL, "input": "hi", "store": False,
                                                           "prompt": {"id": p, "variables": {"tone": "calm"}}}),
        Probe("tool_group", "list", "GET", "/v1/toolgroups"),
        Probe("tool_group", "list", "GET", "/v1/tools"),
        Probe("tool_group", "read", "GET", f"/v1/toolgroups/{g}"),
        Probe("tool_group", "read", "GET", "/v1/tools", params={"toolgroup_id": g}),
        Probe("tool_group", "read", "GET", "/v1/tool-runtime/list-tools", params={"tool_group_id": g}),
        Probe("shield", "list", "GET", "/v1/shields"),
        Probe("shield", "read", "GET", f"/v1/shields/{sh}"),
        Probe("shield", "read", "POST", "/v1/safety/run-shield", {"shield_id": sh, "messages": say}),
        Probe("agent", "list", "GET", "/v1alpha/agents"),
        Probe("agent", "read", "GET", f"/v1alpha/agents/{ag}", shows=True),
        Probe("agent", "read", "GET", f"/v1alpha/agents/{ag}/sessions", shows=True),
        Probe("agent", "read", "GET", f"/v1alpha/agents/{ag}/session/{se}", shows=True),
        Probe("agent", "read", "GET", f"{turns}/{tu}", shows=True),
        # writes: a teammate may read but not change
        Probe("agent", "write", "POST", turns, {"messages": [{"role": "user", "content": "hi"}], "stream": False}),
        Probe("chat_completion", "write", "POST", f"/v1/chat/completions/{c}", {"metadata": {"by": "intruder"}}),
        Probe("vector_store", "write", "POST", f"/v1/vector_stores/{s}", {"name": "taken over"}),
        Probe("vector_store", "write", "POST", f"/v1/vector_stores/{s}/files/{f}", {"attributes": {"by": "x"}}),
        Probe("vector_store", "write", "POST", f"/v1/vector_stores/{s}/file_batches/{b}/cancel"),
        Probe("vector_store", "write", "POST", f"/v1/vector_stores/{s}/file_batches", {"file_ids": [f]}),
        Probe("vector_store", "write", "POST", f"/v1/vector_stores/{s}/files", {"file_id": f}),
        Probe("vector_store", "write", "POST", "/v1/vector-io/insert", {
            "vector_store_id": s, "chunks": [{"content": "planted", "metadata": {}}]}),
        Probe("conversation", "write", "POST", f"/v1/conversations/{v}", {"metadata": {"by": "intruder"}}),
        Probe("conversation", "write", "POST", f"/v1/conversations/{v}/items", {"items": say}),
        Probe("conversation", "write", "POST", "/v1/responses", {"model": MODEL, "input": "hi", "conversation": v}),
        Probe("prompt", "write", "POST", f"/v1/prompts/{p}", {"prompt": "taken {{ tone }}", "version": 1,
                                                               "variables": ["tone"]}),
        Probe("prompt", "write", "POST", f"/v1/prompts/{p}/set-default-version", {"version": 1}),
        Probe("conversation", "write", "DELETE", f"/v1/conversations/{v}/items/{it}"),
        Probe("vector_store", "write", "DELETE", f"/v1/vector_stores/{s}/files/{f}"),
        Probe("vector_store", "write", "DELETE", f"/v1/vector_stores/{s}"),
        Probe("file", "write", "DELETE", f"/v1/files/{f}"),
        Probe("chat_completion", "write", "DELETE", f"/v1/chat/completions/{c}"),
        Probe("model", "write", "DELETE", f"/v1/models/{a}"),
        Probe("response", "write", "DELETE", f"/v1/responses/{r}"),
        Probe("conversation", "write", "DELETE", f"/v1/conversations/{v}"),
        Probe("prompt", "write", "DELETE", f"/v1/prompts/{p}"),
        Probe("tool_group", "write", "DELETE", f"/v1/toolgroups/{g}"),
        Probe("shield", "write", "DELETE", f"/v1/shields/{sh}"),
        Probe("agent", "write", "DELETE", f"/v1alpha/agents/{ag}/session/{se}"),
        Probe("agent", "write", "DELETE", f"/v1alpha/agents/{ag}"),
    ]


def unknown_ids(ids: dict[str, str]) -> dict[str, str]:
    """Ids of the same shape that name nothing."""
    return {name: value[:-6] + "000000" for name, value in ids.items()}


FRESH = re.compile(r"\b(?:resp|msg|vs|file|chatcmpl|conv|pmpt|vsfb|fs|ws|rs|mcp|call|batch)_[A-Za-z0-9_-]{6,}"
                   r"|\"(?:created_at|completed_at|expires_at|last_active_at|created|id)\":\s*\d+"
                   r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def normalized(text: str, ids: dict[str, str], unknown: dict[str, str]) -> str:
    """alice's ids swapped for the unknown ones, then what each request makes anew (ids, times) blanked."""
    for name, value in ids.items():
        text = text.replace(value, unknown[name])
    return FRESH.sub("<fresh>", text)


def ids_in(body: str, ids: dict[str, str]) -> list[str]:
    return [name for name, value in ids.items() if f'"{value}"' in body and name != "item"]


def listed_resource_ids(probe: Probe, ids: dict[str, str]) -> set[str]:
    """alice's ids that a list of this resource type should hold for a reader."""
    return {"chat_completion": {ids["chat"]}, "file": {ids["file"]}, "vector_store": {ids["store"]},
            "model": {ids["alias"]}, "response": {ids["response"]}, "prompt": {ids["prompt"]},
            "tool_group": {ids["toolgroup"]}, "shield": {ids["shield"]}, "agent": {ids["agent"]}}[probe.resource]


async def send(caller: httpx.AsyncClient, probe: Probe, ids: dict[str, str], to: dict[str, str]) -> httpx.Response:
    """The probe with alice's ids replaced by `to`'s (the same ids: alice's own resources)."""
    def swap(value: Any) -> Any:
        if isinstance(value, str):
            for name, real in ids.items():
                value = value.replace(real, to[name])
            return value
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value
    return await caller.request(probe.method, swap(probe.path), json=swap(probe.body), params=swap(probe.params))


async def test_no_caller_sees_or_changes_what_the_policy_keeps_from_them(server) -> None:  # type: ignore[no-untyped-def]
    alice, alex, bob, anonymous = (client(server, name) for name in ("alice", "alex", "bob", None))
    ids = await create_everything(alice)
    unknown = unknown_ids(ids)
    count: Counter[str] = Counter()
    leaks: list[str] = []
    wrong: list[str] = []  # outcomes the policy does not predict, that reveal nothing

    def leak(probe: Probe, who: str, what: str) -> None:
        leaks.append(f"{probe.resource}: {who} {probe.method} {probe.path}: {what}")

    for probe in probes(ids):
        # the stranger: absence, identical to an id that names nothing
        count[probe.resource] += 1
        seen, baseline = await send(bob, probe, ids, ids), await send(bob, probe, ids, unknown)
        if SECRET in seen.text:
            leak(probe, "bob", "alice's content")
        if probe.kind == "list":
            if ids_in(seen.text, ids) or seen.status_code != 200:
                leak(probe, "bob", f"{seen.status_code} lists {ids_in(seen.text, ids)}")
        elif seen.status_code != probe.absent:
            wrong.append(f"{probe.resource}: bob {probe.method} {probe.path}: {seen.status_code} {seen.text[:300]}")
        elif (seen.status_code, normalized(seen.text, ids, unknown)) != (
                baseline.status_code, normalized(baseline.text, ids, unknown)):
            leak(probe, "bob", f"{seen.status_code} {seen.text[:160]} vs {baseline.status_code} {baseline.text[:160]}")
        # the anonymous caller: nothing without a key
        count[probe.resource] += 1
        nobody = await send(anonymous, probe, ids, ids)
        if nobody.status_code != 401 or SECRET in nobody.text:
            leak(probe, "anonymous", f"{nobody.status_code} {nobody.text[:160]}")
        # the teammate: reads, and a 403 for a write
        count[probe.resource] += 1
        mate = await send(alex, probe, ids, ids)
        if probe.kind == "write":
            if mate.status_code != 403 or mate.json()["error"]["code"] != "access_denied":
                (leaks if mate.status_code in OK else wrong).append(
                    f"{probe.resource}: alex {probe.method} {probe.path}: {mate.status_code} {mate.text[:400]}")
        elif mate.status_code not in OK:
            wrong.append(f"{probe.resource}: alex {probe.method} {probe.path}: {mate.status_code} {mate.text[:160]}")
        elif probe.shows and SECRET not in mate.text:
            wrong.append(f"{probe.resource}: alex {probe.method} {probe.path}: her content not shown")
        elif probe.kind == "list" and not listed_resource_ids(probe, ids) <= set(re.findall(r'"([^"]+)"', mate.text)):
            wrong.append(f"{probe.resource}: alex {probe.method} {probe.path}: hers not listed")

    print(f"\nleak count ({server.base_url}):")
    for resource, probed in sorted(count.items()):
        print(f"  {resource:16} probes {probed:4}  leaks {sum(1 for x in leaks if x.startswith(resource + ':'))}")
    print(f"  {'total':16} probes {sum(count.values()):4}  leaks {len(leaks)}")
    print("\n".join(["leaks:", *leaks]))
    assert leaks == []
    # alice's resources are untouched by the others' writes, and each route works for her
    assert (await made(alice.get(f"/v1/chat/completions/{ids['chat']}"))).get("metadata") != {"by": "intruder"}
    assert (await made(alice.get(f"/v1/vector_stores/{ids['store']}")))["name"] == "alice-store"
    assert (await made(alice.get(f"/v1/conversations/{ids['conversation']}")))["metadata"] == {"owner": "alice"}
    assert len((await made(alice.get(f"/v1/conversations/{ids['conversation']}/items")))["data"]) == 1
    assert len((await made(alice.get(f"/v1/prompts/{ids['prompt']}/versions")))["data"]) == 1
    assert "planted" not in (await alice.post("/v1/vector-io/query", json={
        "vector_store_id": ids["store"], "query": "planted"})).text
    for probe in probes(ids):
        mine = await send(alice, probe, ids, ids)
        if mine.status_code not in OK:
            wrong.append(f"{probe.resource}: alice {probe.method} {probe.path}: {mine.status_code} {mine.text[:160]}")

    print("\n".join(["unexpected outcomes:", *wrong]))
    assert wrong == []


LISTS = {  # route: how to make one as the caller
    "/v1/files": lambda c, n: c.post("/v1/files", data={"purpose": "assistants"}, files={"file": (f"{n}.txt", b"x")}),
    "/v1/vector_stores": lambda c, n: c.post("/v1/vector_stores", json={"name": n}),
    "/v1/chat/completions": lambda c, n: c.post("/v1/chat/completions", json={
        "model": MODEL, "messages": [{"role": "user", "content": n}]}),
    "/v1/responses": lambda c, n: c.post("/v1/responses", json={"model": MODEL, "input": n, "store": True}),
}


async def pages(caller: httpx.AsyncClient, route: str, size: int) -> list[str]:
    """Every id the list holds for the caller, page by page: each page full but the last, `has_more` on
    all but the last, `last_id` the last item's, no id twice."""
    seen: list[str] = []
    after: str | None = None
    while True:
        page = await made(caller.get(route, params={"limit": size, **({"after": after} if after else {})}))
        ids = [item["id"] for item in page["data"]]
        assert page["has_more"] is (len(ids) == size and page["has_more"]), (route, page)
        if ids and "last_id" in page:
            assert page["last_id"] == ids[-1]
        seen += ids
        if not page["has_more"]:
            assert len(seen) == len(set(seen)), route
            return seen
        assert len(ids) == size, (route, len(ids))
        after = ids[-1]


@pytest.mark.parametrize("route", list(LISTS))
async def test_lists_are_filtered_in_the_query_and_pages_stay_whole(server, route) -> None:  # type: ignore[no-untyped-def]
    """More items than a page, of three owners: each caller's pages hold exactly what they may read."""
    callers = {name: client(server, name) for name in KEYS}
    made_by: dict[str, set[str]] = {}
    for name, count in (("alice", 3), ("alex", 2), ("bob", 3)):
        made_by[name] = {(await made(LISTS[route](callers[name], f"{name}-{n}")))["id"] for n in range(count)}
    readable = {"alice": made_by["alice"] | made_by["alex"], "alex": made_by["alice"] | made_by["alex"],
                "bob": made_by["bob"]}
    everything = set().union(*made_by.values())
    for name, caller in callers.items():
        for size in (1, 2, 4):
            listed = await pages(caller, route, size)
            assert set(listed) & everything == readable[name], (route, name, size)


async def test_what_the_run_config_declares_is_read_by_all_and_changed_by_none(server) -> None:  # type: ignore[no-untyped-def]
    """Unowned resources: `user in owners teams` holds for them (no owner, no teams), so all read; no rule
    permits a change, which a reader is refused with a 403."""
    for name in KEYS:
        caller = client(server, name)
        assert "builtin::websearch" in {g["identifier"] for g in (await made(caller.get("/v1/toolgroups")))["data"]}
        await made(caller.get("/v1/toolgroups/builtin::websearch"))
        refused = await caller.delete("/v1/toolgroups/builtin::websearch")
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "access_denied", refused.text
    assert (await client(server, None).get("/v1/toolgroups/builtin::websearch")).status_code == 401
