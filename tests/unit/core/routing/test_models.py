"""The models routing table: short names, listed ids that callers cannot take over, bad stored records."""

import logging

import pytest

from polystack.apis.errors import ConflictError, InvalidRequestError, ModelNotFoundError
from polystack.apis.models.types import Model, RegisterModelRequest
from polystack.core.registry import KEY_PREFIX, ResourceRegistry
from polystack.core.routing.models import ModelsRoutingTable
from polystack.core.storage.kv.memory import MemoryKVStore
from polystack.providers.inline.inference.scripted.config import ScriptedConfig
from polystack.providers.inline.inference.scripted.provider import ScriptedInference


async def table_of(**models_by_provider: list[str]) -> tuple[ModelsRoutingTable, MemoryKVStore]:
    kv = MemoryKVStore()
    providers = {pid: ScriptedInference(ScriptedConfig(models=names)) for pid, names in models_by_provider.items()}
    table = ModelsRoutingTable(providers, ResourceRegistry(kv))
    await table.start([], refresh_interval=0, registry_cache_seconds=0)
    return table, kv


async def test_a_name_without_provider_prefix_resolves_when_exactly_one_model_has_it():
    table, _ = await table_of(a=["only-in-a"], b=["only-in-b"])
    model, impl = await table.resolve("only-in-a")
    assert model.identifier == "a/only-in-a" and impl is table.providers["a"]
    assert (await table.get_model("only-in-b")).identifier == "b/only-in-b"


async def test_an_ambiguous_short_name_is_404_naming_the_candidates():
    table, _ = await table_of(a=["shared"], b=["shared"])
    with pytest.raises(ModelNotFoundError) as info:
        await table.resolve("shared")
    assert "a/shared" in info.value.message and "b/shared" in info.value.message
    with pytest.raises(ModelNotFoundError):
        await table.resolve("nowhere")


async def test_a_listed_model_id_cannot_be_taken_over_by_registration_nor_deleted():
    table, _ = await table_of(a=["listed"])
    with pytest.raises(ConflictError) as info:
        await table.register_model(RegisterModelRequest(model_id="a/listed", provider_model_id="other"))
    assert info.value.param == "model_id"
    with pytest.raises(ConflictError):
        await table.register_model(RegisterModelRequest(model_id="a/listed"))
    with pytest.raises(InvalidRequestError):
        await table.unregister_model("a/listed")
    assert (await table.get_model("a/listed")).provider_resource_id == "listed"


async def test_a_bad_stored_record_is_skipped_and_logged_not_fatal(caplog):
    table, kv = await table_of(a=["good"])
    await kv.set(f"{KEY_PREFIX}model:broken", '{"identifier": "broken", "metadata": {"x": 1}}')
    with caplog.at_level(logging.WARNING, logger="polystack"):
        await table.reload_registered()
    assert "broken" in caplog.text
    assert [m.identifier for m in await table.list_models()] == [
        "a/good", "a/scripted-embedding"]
    assert isinstance(await table.list_models(), list) and all(isinstance(m, Model) for m in await table.list_models())


async def test_a_bad_stored_record_looked_up_by_id_is_a_404_not_a_500():
    table, kv = await table_of(a=["good"])
    await kv.set(f"{KEY_PREFIX}model:broken", '{"identifier": "broken"}')
    with pytest.raises(ModelNotFoundError):
        await table.resolve("broken")
    with pytest.raises(ModelNotFoundError):
        await table.get_model("broken")


async def test_a_users_alias_is_theirs_alone_and_configured_models_are_read_only():
    from polystack.apis.datatypes import User
    from polystack.apis.errors import AccessDeniedError
    from polystack.core.request_context import acting_as

    table, _ = await table_of(a=["base"])
    alice, bob = User(principal="alice"), User(principal="bob")
    with acting_as(alice):
        await table.register_model(RegisterModelRequest(model_id="mine", provider_id="a", provider_model_id="base"))
        assert (await table.resolve("mine"))[0].owner == alice
    with acting_as(bob):
        assert "mine" not in {m.identifier for m in await table.list_models()}
        for lookup in (table.resolve, table.get_model, table.unregister_model):
            with pytest.raises(ModelNotFoundError):
                await lookup("mine")
        with pytest.raises(ConflictError):  # no takeover, and no word of whose it is
            await table.register_model(RegisterModelRequest(model_id="mine", provider_id="a", provider_model_id="base"))
        assert (await table.resolve("base"))[0].identifier == "a/base"  # listed: everyone's to read
        with pytest.raises(AccessDeniedError):
            await table.unregister_model("a/base")
    with acting_as(alice):
        assert (await table.get_model("mine")).owner == alice
