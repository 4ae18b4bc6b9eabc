"""The resource registry obeys the caller's access policy: unseen resources are absent, writes are judged."""

import pytest

from polystack.apis.datatypes import User
from polystack.apis.errors import AccessDeniedError
from polystack.apis.models.types import Model
from polystack.core.registry import ResourceRegistry
from polystack.core.request_context import acting_as, as_system
from polystack.core.storage.kv.memory import MemoryKVStore

ALICE, BOB = User(principal="alice"), User(principal="bob")


def model(identifier: str, owner: User | None) -> Model:
    return Model(identifier=identifier, provider_id="p", provider_resource_id="m", owner=owner)


async def seeded() -> ResourceRegistry:
    registry = ResourceRegistry(MemoryKVStore())
    await registry.put(model("shared", None))  # as the run config declares it: no caller
    with acting_as(ALICE):
        await registry.put(model("alices", ALICE))
    return registry


async def test_a_caller_sees_their_own_resources_and_the_declared_ones():
    registry = await seeded()
    with acting_as(BOB):
        assert [m.identifier for m in await registry.all(Model, "model")] == ["shared"]
        assert await registry.get(Model, "model", "alices") is None
    with acting_as(ALICE):
        assert sorted(m.identifier for m in await registry.all(Model, "model")) == ["alices", "shared"]
    assert len(await registry.all(Model, "model")) == 2  # auth off: everything


async def test_replacing_or_deleting_anothers_resource_is_403():
    registry = await seeded()
    with acting_as(BOB):
        with pytest.raises(AccessDeniedError):
            await registry.put(model("alices", BOB))
        with pytest.raises(AccessDeniedError):
            await registry.delete("model", "alices")
        with pytest.raises(AccessDeniedError):
            await registry.delete("model", "shared")
        with as_system():
            await registry.delete("model", "shared")
    with acting_as(ALICE):
        assert (await registry.get(Model, "model", "alices")).owner == ALICE  # type: ignore[union-attr]
        await registry.delete("model", "alices")
    assert await registry.all(Model, "model") == []
