"""The conversation store on SQLite (a temp file) and on the real PostgreSQL: order, pages, deletes, owners."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import ValidationError

from polystack.apis.conversations.types import CreateConversationRequest, UpdateConversationRequest
from polystack.apis.datatypes import User
from polystack.apis.errors import InvalidRequestError, NotFoundError
from polystack.core.conversations.store import ConversationStore
from polystack.core.request_context import acting_as
from polystack.core.storage.config import SQLBackendConfig
from polystack.core.storage.sql.factory import open_sql_store

ALICE, BOB = User(principal="alice"), User(principal="bob")


@pytest.fixture
async def store(backend: SQLBackendConfig) -> AsyncIterator[ConversationStore]:
    sql = await open_sql_store(backend)
    conversations = ConversationStore(sql, table=f"conversations_{secrets.token_hex(4)}")
    await conversations.migrate()
    try:
        yield conversations
    finally:
        await sql.close()


def said(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def texts(items: list[dict[str, Any]]) -> list[str]:
    return [item["content"][0]["text"] for item in items]


async def test_items_are_normalised_and_kept_in_the_order_they_were_added(store: ConversationStore) -> None:
    conversation = await store.create_conversation(CreateConversationRequest(items=[said("a"), said("b")]))
    assert conversation.id.startswith("conv_") and conversation.object == "conversation"
    added = await store.add_items(conversation.id, [said("c")])
    await store.add_items(conversation.id, [said("d"), {"type": "message", "role": "assistant",
                                                       "content": [{"type": "output_text", "text": "e"}]}])
    context = await store.context_items(conversation.id)
    assert texts(context) == ["a", "b", "c", "d", "e"]
    first = context[0]
    assert first["type"] == "message" and first["id"].startswith("msg_") and first["status"] == "completed"
    assert first["content"] == [{"type": "input_text", "text": "a"}]
    assert added.data == [context[2]] and added.first_id == added.last_id == context[2]["id"]


async def test_pages_follow_the_cursor_in_both_orders(store: ConversationStore) -> None:
    conversation = await store.create_conversation(CreateConversationRequest())
    for text in "abcdefg":  # one call per item: positions come from separate appends
        await store.add_items(conversation.id, [said(text)])
    for order, expected in (("asc", "abcdefg"), ("desc", "gfedcba")):
        seen: list[str] = []
        after = None
        while True:
            page = await store.list_items(conversation.id, after=after, limit=3, order=order)  # type: ignore[arg-type]
            seen += texts(page.data)
            assert page.first_id == page.data[0]["id"] and page.last_id == page.data[-1]["id"]
            if not page.has_more:
                break
            after = page.last_id
        assert "".join(seen) == expected


async def test_a_batch_keeps_its_order_and_an_unknown_cursor_is_refused(store: ConversationStore) -> None:
    conversation = await store.create_conversation(CreateConversationRequest(items=[said(t) for t in "pqrstuvwxyz"]))
    page = await store.list_items(conversation.id, after=None, limit=100, order="asc")
    assert "".join(texts(page.data)) == "pqrstuvwxyz" and not page.has_more
    with pytest.raises(InvalidRequestError) as refused:
        await store.list_items(conversation.id, after="msg_nothing", limit=3, order="asc")
    assert refused.value.param == "after"


async def test_concurrent_appends_lose_nothing_and_order_stays_total(store: ConversationStore) -> None:
    conversation = await store.create_conversation(CreateConversationRequest())
    await asyncio.gather(*(store.add_items(conversation.id, [said(f"{n}-a"), said(f"{n}-b")]) for n in range(8)))
    items = await store.context_items(conversation.id)
    assert len(items) == 16
    for n in range(8):  # each batch stays in its own order
        assert texts(items).index(f"{n}-a") < texts(items).index(f"{n}-b")
    walked = []
    after = None
    while True:
        page = await store.list_items(conversation.id, after=after, limit=5, order="desc")
        walked += [item["id"] for item in page.data]
        if not page.has_more:
            break
        after = page.last_id
    assert walked == [item["id"] for item in reversed(items)]


async def test_deleting_a_conversation_deletes_its_items(store: ConversationStore) -> None:
    kept = await store.create_conversation(CreateConversationRequest(items=[said("keep")]))
    gone = await store.create_conversation(CreateConversationRequest(items=[said("x"), said("y")]))
    item_id = (await store.context_items(gone.id))[0]["id"]
    deleted = await store.delete_conversation(gone.id)
    assert deleted.model_dump() == {"id": gone.id, "object": "conversation.deleted", "deleted": True}
    for call in (store.get_conversation(gone.id), store.context_items(gone.id), store.get_item(gone.id, item_id)):
        with pytest.raises(NotFoundError):
            await call
    assert await store.sql.count(store.items_table, {"conversation_id": gone.id}) == 0
    assert texts(await store.context_items(kept.id)) == ["keep"]


async def test_deleting_an_item_returns_the_conversation(store: ConversationStore) -> None:
    conversation = await store.create_conversation(CreateConversationRequest(items=[said("a"), said("b")],
                                                                             metadata={"k": "v"}))
    first = (await store.context_items(conversation.id))[0]
    assert await store.delete_item(conversation.id, first["id"]) == conversation
    assert texts(await store.context_items(conversation.id)) == ["b"]
    with pytest.raises(NotFoundError) as missing:
        await store.delete_item(conversation.id, first["id"])
    assert missing.value.param == "item_id"


async def test_metadata_is_updated_and_its_limits_are_openai_s(store: ConversationStore) -> None:
    conversation = await store.create_conversation(CreateConversationRequest(metadata={"topic": "x"}))
    assert conversation.metadata == {"topic": "x"}
    updated = await store.update_conversation(conversation.id, UpdateConversationRequest(metadata={"topic": "y"}))
    assert updated.metadata == {"topic": "y"} == (await store.get_conversation(conversation.id)).metadata
    cleared = await store.update_conversation(conversation.id, UpdateConversationRequest(metadata=None))
    assert cleared.metadata == {} == (await store.get_conversation(conversation.id)).metadata
    CreateConversationRequest(metadata={f"k{n}": "v" * 512 for n in range(16)})  # at the limits: fine
    for too_much in ({f"k{n}": "v" for n in range(17)}, {"k" * 65: "v"}, {"k": "v" * 513}):
        with pytest.raises(ValidationError):
            CreateConversationRequest(metadata=too_much)
    with pytest.raises(ValidationError):
        CreateConversationRequest(items=[said("x")] * 21)


async def test_item_references_resolve_within_the_conversation_only(store: ConversationStore) -> None:
    conversation = await store.create_conversation(CreateConversationRequest(items=[said("original")]))
    other = await store.create_conversation(CreateConversationRequest(items=[said("elsewhere")]))
    original = (await store.context_items(conversation.id))[0]
    foreign = (await store.context_items(other.id))[0]
    added = await store.add_items(conversation.id, [{"type": "item_reference", "id": original["id"]}])
    assert texts(added.data) == ["original"] and added.data[0]["id"] != original["id"]
    for unknown in (foreign["id"], "msg_unknown"):
        with pytest.raises(InvalidRequestError) as refused:
            await store.add_items(conversation.id, [said("ok"), {"type": "item_reference", "id": unknown}])
        assert refused.value.param == "items[1].id"
    with pytest.raises(InvalidRequestError):
        await store.create_conversation(CreateConversationRequest(items=[{"type": "item_reference", "id": "x"}]))
    assert len(await store.context_items(conversation.id)) == 2  # nothing of a refused call was added


async def test_another_owner_sees_nothing(store: ConversationStore) -> None:
    with acting_as(ALICE):
        mine = await store.create_conversation(CreateConversationRequest(items=[said("alice's")]))
        item_id = (await store.context_items(mine.id))[0]["id"]
    with acting_as(BOB):
        calls = [
            store.get_conversation(mine.id),
            store.update_conversation(mine.id, UpdateConversationRequest(metadata={"by": "bob"})),
            store.delete_conversation(mine.id),
            store.add_items(mine.id, [said("bob's")]),
            store.list_items(mine.id, after=None, limit=20, order="desc"),
            store.get_item(mine.id, item_id),
            store.delete_item(mine.id, item_id),
            store.context_items(mine.id),
        ]
        for call in calls:
            with pytest.raises(NotFoundError) as hidden:
                await call
            assert hidden.value.param == "conversation_id"
        assert texts((await store.add_items((await store.create_conversation(
            CreateConversationRequest())).id, [said("bob's own")])).data) == ["bob's own"]
    with acting_as(ALICE):
        assert texts(await store.context_items(mine.id)) == ["alice's"]
        assert (await store.get_conversation(mine.id)).metadata == {}


async def test_an_item_id_is_unique_within_its_conversation_only(store: ConversationStore) -> None:
    given = {"type": "message", "id": "msg_chosen", "role": "user", "content": "mine"}
    with acting_as(ALICE):
        alices = await store.create_conversation(CreateConversationRequest(items=[given]))
    with acting_as(BOB):  # the same id in bob's conversation: accepted, and says nothing about alice's
        bobs = await store.create_conversation(CreateConversationRequest(items=[given]))
        assert (await store.get_item(bobs.id, "msg_chosen"))["id"] == "msg_chosen"
        with pytest.raises(InvalidRequestError) as twice:
            await store.add_items(bobs.id, [said("fine"), given])
        assert twice.value.param == "items[1].id"
        with pytest.raises(InvalidRequestError) as in_one_call:
            await store.add_items(bobs.id, [{**given, "id": "msg_new"}, {**given, "id": "msg_new"}])
        assert in_one_call.value.param == "items[1].id"
        assert texts(await store.context_items(bobs.id)) == ["mine"]
        await store.delete_item(bobs.id, "msg_chosen")
    with acting_as(ALICE):
        assert texts(await store.context_items(alices.id)) == ["mine"]


async def test_replicas_appending_together_share_one_order(backend: SQLBackendConfig) -> None:
    """Two stores on their own connections (two replicas) append to one conversation at once."""
    table = f"conversations_{secrets.token_hex(4)}"
    replicas = [ConversationStore(await open_sql_store(backend), table=table) for _ in range(2)]
    try:
        await asyncio.gather(*(replica.migrate() for replica in replicas))
        conversation = await replicas[0].create_conversation(CreateConversationRequest())
        await asyncio.gather(*(replicas[n % 2].add_items(conversation.id, [said(f"{n}-a"), said(f"{n}-b")])
                               for n in range(10)))
        seen = [await replica.context_items(conversation.id) for replica in replicas]
        assert seen[0] == seen[1] and len(seen[0]) == 20
        for n in range(10):
            assert texts(seen[0]).index(f"{n}-a") < texts(seen[0]).index(f"{n}-b")
        later = await replicas[1].add_items(conversation.id, [said("last")])
        assert (await replicas[0].list_items(conversation.id, after=None, limit=1, order="desc")).data == later.data
    finally:
        for replica in replicas:
            await replica.sql.close()


async def test_a_refused_creation_leaves_no_conversation(store: ConversationStore) -> None:
    twin = {"type": "message", "id": "msg_twin", "role": "user", "content": "x"}
    with pytest.raises(InvalidRequestError) as refused:
        await store.create_conversation(CreateConversationRequest(items=[twin, twin]))
    assert refused.value.param == "items[1].id"
    assert await store.sql.count(store.table) == 0
