"""The Conversations API through the `openai` SDK: a real `polystack run` and the in-process client.

Every route is called the way the SDK calls it and its answer parsed by the SDK's own types; two users
(alice, bob, with `server.auth` api keys) probe each other's conversations over every route, and the test
counts the probes and the leaks (there must be none).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml
from openai import AsyncOpenAI
from openai.types.conversations import Conversation, ConversationDeletedResource, ConversationItemList, Message

import polystack

ALICE, BOB, CAROL = "alice-key-5e1d07", "bob-key-8c3f19", "carol-key-20b4aa"
ENV = {"ALICE_KEY": ALICE, "BOB_KEY": BOB, "CAROL_KEY": CAROL}


def write_config(tmp_path: Path, access_policy: list[dict[str, object]] | None = None) -> str:
    config = {
        "distro_name": "conversations",
        "apis": ["inference", "conversations"],
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}]},
        "storage": {
            "backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")},
                         "kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
            "stores": {"metadata": {"backend": "kv"}, "conversations": {"backend": "sql"}},
        },
        "models": {"refresh_interval_seconds": 0},
        "server": {"auth": {
            "provider_config": {"type": "api_keys", "keys": [
                {"key": "${env.ALICE_KEY}", "principal": "alice", "attributes": {"roles": ["user"], "teams": ["blue"]}},
                {"key": "${env.BOB_KEY}", "principal": "bob", "attributes": {"roles": ["user"], "teams": ["red"]}},
                {"key": "${env.CAROL_KEY}", "principal": "carol", "attributes": {"roles": ["user"], "teams": ["blue"]}},
            ]},
            "access_policy": access_policy or [],
        }},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture(scope="module")
def config_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_config(tmp_path_factory.mktemp("conversations"))


@pytest.fixture(scope="module")
def server(server_factory, config_path):  # type: ignore[no-untyped-def]
    return server_factory(config_path, env=ENV)


def sdk(server, key: str) -> AsyncOpenAI:  # type: ignore[no-untyped-def]
    return AsyncOpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0)


def texts(items: list[Any]) -> list[str]:
    return [item.content[0].text for item in items]


async def every_route(client: AsyncOpenAI) -> None:
    """Each route once, the SDK parsing each answer; the same for a server process and in-process."""
    created = await client.conversations.create(
        items=[{"role": "user", "content": "first"}, {"type": "message", "role": "assistant",
                                                      "content": [{"type": "output_text", "text": "second"}]}],
        metadata={"topic": "demo"})
    assert isinstance(created, Conversation) and created.object == "conversation"
    assert created.id.startswith("conv_") and created.metadata == {"topic": "demo"} and created.created_at > 0
    assert (await client.conversations.retrieve(created.id)).model_dump() == created.model_dump()
    updated = await client.conversations.update(created.id, metadata={"topic": "changed"})
    assert updated.metadata == {"topic": "changed"}

    added = await client.conversations.items.create(
        created.id, items=[{"role": "user", "content": f"turn {n}"} for n in range(3)],
        include=["file_search_call.results"])
    assert isinstance(added, ConversationItemList) and texts(added.data) == ["turn 0", "turn 1", "turn 2"]
    assert all(isinstance(item, Message) and item.status == "completed" for item in added.data)

    newest = await client.conversations.items.list(created.id, limit=2)
    assert texts(newest.data) == ["turn 2", "turn 1"] and newest.has_more and newest.last_id == newest.data[-1].id
    everything = [item async for item in client.conversations.items.list(created.id, limit=2, order="asc")]
    assert texts(everything) == ["first", "second", "turn 0", "turn 1", "turn 2"]  # the SDK followed the cursor
    assert everything[1].role == "assistant" and everything[1].content[0].type == "output_text"

    one = await client.conversations.items.retrieve(everything[2].id, conversation_id=created.id,
                                                    include=["message.output_text.logprobs"])
    assert isinstance(one, Message) and one.id == everything[2].id
    after_delete = await client.conversations.items.delete(everything[2].id, conversation_id=created.id)
    assert isinstance(after_delete, Conversation) and after_delete.id == created.id
    left = [item async for item in client.conversations.items.list(created.id, order="asc")]
    assert texts(left) == ["first", "second", "turn 1", "turn 2"]

    deleted = await client.conversations.delete(created.id)
    assert isinstance(deleted, ConversationDeletedResource)
    assert deleted.model_dump() == {"id": created.id, "object": "conversation.deleted", "deleted": True}
    with pytest.raises(openai.NotFoundError) as gone:
        await client.conversations.retrieve(created.id)
    assert gone.value.body["param"] == "conversation_id"  # type: ignore[index]


async def test_every_route_through_the_sdk_against_a_server(server) -> None:  # type: ignore[no-untyped-def]
    await every_route(sdk(server, ALICE))


async def test_every_route_through_the_sdk_in_process(config_path) -> None:  # type: ignore[no-untyped-def]
    async with polystack.connect(config_path, env=ENV, api_key=ALICE) as stack:
        await every_route(stack.openai)


async def test_the_deprecated_prefix_serves_it_too(server) -> None:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(base_url=server.base_url, headers={"Authorization": f"Bearer {ALICE}"}) as http:
        created = (await http.post("/v1/openai/v1/conversations", json={})).json()
        assert (await http.get(f"/v1/conversations/{created['id']}")).json() == created


@pytest.mark.parametrize(("body", "param"), [
    ({"items": [{"role": "user", "content": "ok"}, {"role": "robot", "content": "no"}]}, "items[1].role"),
    ({"items": [{"type": "message", "role": "user", "content": [{"type": "input_text"}]}]},
     "items[0].content[0].text"),
    ({"items": [{"type": "item_reference", "id": "msg_nothing"}]}, "items[0].id"),
    ({"items": [{"role": "user", "content": "x"}] * 21}, "items"),
    ({"metadata": {f"k{n}": "v" for n in range(17)}}, "metadata"),
    ({"metadata": {"k": "v" * 513}}, "metadata"),
])
async def test_bad_input_is_a_400_naming_the_field(server, body: dict[str, Any], param: str) -> None:  # type: ignore[no-untyped-def]
    client = sdk(server, ALICE)
    with pytest.raises(openai.BadRequestError) as refused:
        await client.conversations.create(**body)
    error = refused.value.body
    assert isinstance(error, dict) and error["param"] == param and param in error["message"]


async def test_bad_item_input_and_include_on_an_existing_conversation(server) -> None:  # type: ignore[no-untyped-def]
    client = sdk(server, ALICE)
    conversation = await client.conversations.create()
    with pytest.raises(openai.BadRequestError) as refused:
        await client.conversations.items.create(conversation.id, items=[{"type": "teleport"}])
    assert refused.value.body["param"] == "items[0].type"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as refused:
        await client.conversations.items.list(conversation.id, include=["everything"])  # type: ignore[list-item]
    assert refused.value.body["param"] == "include"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as refused:
        await client.conversations.items.list(conversation.id, limit=101)
    assert refused.value.body["param"] == "limit"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError) as missing:
        await client.conversations.items.retrieve("msg_nothing", conversation_id=conversation.id)
    assert missing.value.body["param"] == "item_id"  # type: ignore[index]
    assert (await client.conversations.items.list(conversation.id)).data == []


def operations(conversation: str, item: str) -> list[tuple[str, str, dict[str, object] | None]]:
    """Every conversation route, over one conversation and one of its items."""
    return [
        ("GET", f"/v1/conversations/{conversation}", None),
        ("POST", f"/v1/conversations/{conversation}", {"metadata": {"by": "intruder"}}),
        ("POST", f"/v1/conversations/{conversation}/items", {"items": [{"role": "user", "content": "planted"}]}),
        ("POST", f"/v1/conversations/{conversation}/items",
         {"items": [{"type": "item_reference", "id": item}]}),
        ("GET", f"/v1/conversations/{conversation}/items", None),
        ("GET", f"/v1/conversations/{conversation}/items?after={item}&order=asc", None),
        ("GET", f"/v1/conversations/{conversation}/items/{item}", None),
        ("DELETE", f"/v1/conversations/{conversation}/items/{item}", None),
        ("DELETE", f"/v1/conversations/{conversation}", None),
        ("GET", f"/v1/openai/v1/conversations/{conversation}/items", None),
    ]


def test_neither_user_reaches_the_others_conversations(server) -> None:  # type: ignore[no-untyped-def]
    clients = {key: httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60)
               for key in (ALICE, BOB)}
    owned = {}
    for key, client in clients.items():
        created = client.post("/v1/conversations", json={
            "items": [{"role": "user", "content": f"secret of {key}"}], "metadata": {"owner": key}}).json()
        item = client.get(f"/v1/conversations/{created['id']}/items").json()["data"][0]["id"]
        owned[key] = (created["id"], item)
    probes, leaks = 0, []
    for owner, intruder in ((ALICE, BOB), (BOB, ALICE)):
        conversation, item = owned[owner]
        unknown = (conversation[:-6] + "000000", item[:-6] + "000000")
        for (method, path, body), (_, other_path, other_body) in zip(
                operations(conversation, item), operations(*unknown), strict=True):
            seen = clients[intruder].request(method, path, json=body)
            baseline = clients[intruder].request(method, other_path, json=other_body)
            probes += 1
            assert seen.status_code == 404, (method, path, seen.text)
            assert seen.json()["error"]["param"] == "conversation_id"
            text = seen.text.replace(conversation, unknown[0]).replace(item, unknown[1])
            if text != baseline.text or f"secret of {owner}" in seen.text:
                leaks.append(f"{method} {path}: {seen.text[:200]}")
        mine = clients[owner].get(f"/v1/conversations/{conversation}/items").json()
        assert [i["content"][0]["text"] for i in mine["data"]] == [f"secret of {owner}"]  # untouched
        assert clients[owner].get(f"/v1/conversations/{conversation}").json()["metadata"] == {"owner": owner}
    assert probes == 2 * len(operations("c", "i")) and leaks == []
    anonymous = httpx.get(f"{server.base_url}/v1/conversations/{owned[ALICE][0]}")
    assert anonymous.status_code == 401


@pytest.fixture(scope="module")
def team_server(server_factory, tmp_path_factory):  # type: ignore[no-untyped-def]
    policy = [
        {"permit": {"actions": ["create", "read", "update", "delete"]}, "when": "user is owner"},
        {"permit": {"actions": ["read"]}, "when": "user in owners teams", "description": "teammates read"},
    ]
    return server_factory(write_config(tmp_path_factory.mktemp("team"), policy), env=ENV)


def test_a_teammate_who_may_read_may_not_change(team_server) -> None:  # type: ignore[no-untyped-def]
    alice, carol = (httpx.Client(base_url=team_server.base_url, headers={"Authorization": f"Bearer {key}"})
                    for key in (ALICE, CAROL))
    conversation = alice.post("/v1/conversations", json={"items": [{"role": "user", "content": "hi"}]}).json()["id"]
    item = carol.get(f"/v1/conversations/{conversation}/items").json()["data"][0]["id"]
    assert carol.get(f"/v1/conversations/{conversation}/items/{item}").status_code == 200
    for method, path, body in operations(conversation, item)[1:4] + operations(conversation, item)[7:9]:
        refused = carol.request(method, path, json=body)
        assert refused.status_code == 403, (method, path, refused.text)
    assert len(alice.get(f"/v1/conversations/{conversation}/items").json()["data"]) == 1
