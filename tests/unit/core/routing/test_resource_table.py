"""The generic resource table: register/list/get/unregister, owners, conflicts, and replicas sharing Redis."""

import asyncio
import uuid
from typing import Literal

import pytest

from polystack.apis.datatypes import Resource, User
from polystack.apis.errors import ConflictError, NotFoundError
from polystack.core.registry import ResourceRegistry
from polystack.core.request_context import acting_as
from polystack.core.routing.resource_table import ResourceTable
from polystack.core.storage.config import RedisKVConfig
from polystack.core.storage.kv.factory import open_kv_store
from polystack.core.storage.kv.memory import MemoryKVStore


class Shield(Resource):
    type: Literal["shield"] = "shield"


def shield(identifier: str, provider_id: str = "guard", provider_resource_id: str = "llama-guard") -> Shield:
    return Shield(identifier=identifier, provider_id=provider_id, provider_resource_id=provider_resource_id)


def table_on(registry: ResourceRegistry, cache_seconds: float = 0) -> ResourceTable[Shield]:
    return ResourceTable(Shield, "shield", {"guard": object(), "other": object()}, registry,
                         cache_seconds=cache_seconds)


@pytest.fixture
async def redis_namespace():
    namespace = f"rt{uuid.uuid4().hex[:12]}"
    stores = []

    async def open_store():
        store = await open_kv_store(RedisKVConfig(), namespace)
        stores.append(store)
        return store

    yield open_store
    for key in await stores[0].keys_with_prefix(""):
        await stores[0].delete(key)
    for store in stores:
        await store.close()


async def test_register_list_get_unregister_round_trip():
    table = table_on(ResourceRegistry(MemoryKVStore()))
    await table.start()
    await table.register(shield("s1"))
    assert [s.identifier for s in await table.list()] == ["s1"]
    assert (await table.get_or_404("s1")).provider_resource_id == "llama-guard"
    await table.unregister("s1")
    assert await table.list() == [] and await table.get("s1") is None
    with pytest.raises(NotFoundError) as info:
        await table.unregister("s1")
    assert info.value.param == "shield_id"


async def test_the_caller_is_recorded_as_owner_and_survives_a_restart():
    kv = MemoryKVStore()
    with acting_as(User(principal="alice", attributes={"teams": ["red"]})):
        await table_on(ResourceRegistry(kv)).register(shield("mine"))
    restarted = table_on(ResourceRegistry(kv))
    await restarted.start()
    owner = (await restarted.get_or_404("mine")).owner
    assert owner is not None and owner.principal == "alice" and owner.attributes == {"teams": ["red"]}


async def test_another_resource_under_a_taken_identifier_is_a_conflict_unless_replaced():
    table = table_on(ResourceRegistry(MemoryKVStore()))
    await table.register(shield("s"))
    await table.register(shield("s"))  # the same registration again is fine
    with pytest.raises(ConflictError):
        await table.register(shield("s", provider_resource_id="other-model"))
    await table.register(shield("s", provider_resource_id="other-model"), replace=True)
    assert (await table.get_or_404("s")).provider_resource_id == "other-model"


async def test_an_unknown_provider_is_refused_naming_provider_id():
    table = table_on(ResourceRegistry(MemoryKVStore()))
    with pytest.raises(NotFoundError) as info:
        await table.register(shield("s", provider_id="nope"))
    assert info.value.param == "provider_id" and "guard" in info.value.message


async def test_configured_resources_are_registered_at_start_replacing_stored_ones():
    kv = MemoryKVStore()
    await table_on(ResourceRegistry(kv)).register(shield("s", provider_resource_id="old"))
    table = table_on(ResourceRegistry(kv))
    await table.start([shield("s", provider_resource_id="new"), shield("t")])
    assert {s.identifier: s.provider_resource_id for s in await table.list()} == {"s": "new", "t": "llama-guard"}


async def test_a_replica_finds_at_once_what_another_registered_and_drops_removals_within_the_cache_time(
    redis_namespace,
):
    first = table_on(ResourceRegistry(await redis_namespace()), cache_seconds=0.2)
    second = table_on(ResourceRegistry(await redis_namespace()), cache_seconds=0.2)
    await first.start()
    await second.start()
    try:
        await first.register(shield("shared"))
        assert (await second.get_or_404("shared")).identifier == "shared"  # a miss asks the registry
        await first.unregister("shared")
        await asyncio.sleep(0.5)  # more than cache_seconds: the periodic reload saw the removal
        assert await second.list() == []
        await first.register(shield("later"))
        await asyncio.sleep(0.5)
        assert [s.identifier for s in await second.list()] == ["later"]  # listed without a lookup
    finally:
        await first.stop()
        await second.stop()
