"""Versioned prompts in the SQL store, on SQLite and PostgreSQL: versions, the default version, deletes,
ownership, what the run config declares, and concurrent updates from two replicas."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from polystack.apis.datatypes import User
from polystack.apis.errors import AccessDeniedError, ConflictError, InvalidRequestError, NotFoundError
from polystack.core.errors import ConfigError
from polystack.core.prompts.store import SQLPrompts
from polystack.core.registered_resources import PromptInput
from polystack.core.request_context import acting_as, as_system
from polystack.core.storage.config import PostgresSQLConfig, SQLBackendConfig
from polystack.core.storage.sql.api import SQLStore
from polystack.core.storage.sql.factory import open_sql_store
from polystack.testing.postgres_admin import admin_sql

ALICE = User(principal="alice")
BOB = User(principal="bob")
CONFIGURED = "pmpt_" + "c0" * 24


@pytest.fixture
async def sql(backend: SQLBackendConfig) -> AsyncIterator[SQLStore]:
    if isinstance(backend, PostgresSQLConfig):
        await admin_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public", database=backend.db)
    store = await open_sql_store(backend)
    yield store
    await store.close()


@pytest.fixture
async def prompts(sql: SQLStore) -> SQLPrompts:
    store = SQLPrompts(sql, "prompts")
    await store.migrate()
    return store


@pytest.fixture
def alice() -> Iterator[None]:
    with acting_as(ALICE):
        yield


async def test_a_new_prompt_is_version_1_and_its_default(prompts: SQLPrompts) -> None:
    created = await prompts.create_prompt("Hello {{ name }}", ["name"])
    assert created.prompt_id.startswith("pmpt_") and len(created.prompt_id) == 53
    assert int(created.prompt_id[5:], 16) >= 0 and created.prompt_id == created.prompt_id.lower()
    assert (created.version, created.is_default, created.variables) == (1, True, ["name"])
    assert await prompts.get_prompt(created.prompt_id) == created
    assert await prompts.get_prompt(created.prompt_id, 1) == created


async def test_an_update_is_a_new_version_made_the_default_unless_asked_not_to(prompts: SQLPrompts) -> None:
    first = await prompts.create_prompt("v1")
    second = await prompts.update_prompt(first.prompt_id, "v2 {{ x }}", 1, ["x"])
    assert (second.version, second.is_default, second.prompt) == (2, True, "v2 {{ x }}")
    assert (await prompts.get_prompt(first.prompt_id)).version == 2
    third = await prompts.update_prompt(first.prompt_id, "v3", 2, set_as_default=False)
    assert (third.version, third.is_default) == (3, False)
    assert (await prompts.get_prompt(first.prompt_id)).version == 2
    assert (await prompts.get_prompt(first.prompt_id, 3)).is_default is False
    assert (await prompts.get_prompt(first.prompt_id, 1)).prompt == "v1"  # versions never change
    versions = (await prompts.list_prompt_versions(first.prompt_id)).data
    assert [(p.version, p.is_default) for p in versions] == [(1, False), (2, True), (3, False)]


async def test_an_update_from_a_stale_version_is_a_409_naming_the_latest(prompts: SQLPrompts) -> None:
    created = await prompts.create_prompt("v1")
    await prompts.update_prompt(created.prompt_id, "v2", 1)
    for stale in (1, 7):
        with pytest.raises(ConflictError) as raised:
            await prompts.update_prompt(created.prompt_id, "again", stale)
        assert raised.value.status_code == 409 and raised.value.param == "version" and "it is 2" in raised.value.message
    assert len((await prompts.list_prompt_versions(created.prompt_id)).data) == 2


async def test_set_default_version_picks_any_version_and_the_last_choice_wins(prompts: SQLPrompts) -> None:
    created = await prompts.create_prompt("v1")
    for number in (2, 3):
        await prompts.update_prompt(created.prompt_id, f"v{number}", number - 1)
    chosen = await prompts.set_default_version(created.prompt_id, 1)
    assert (chosen.version, chosen.is_default, chosen.prompt) == (1, True, "v1")
    assert (await prompts.get_prompt(created.prompt_id)).version == 1
    await prompts.set_default_version(created.prompt_id, 3)
    await prompts.set_default_version(created.prompt_id, 2)
    assert (await prompts.get_prompt(created.prompt_id)).version == 2
    assert [p.is_default for p in (await prompts.list_prompt_versions(created.prompt_id)).data] == [False, True, False]
    with pytest.raises(NotFoundError) as raised:
        await prompts.set_default_version(created.prompt_id, 4)
    assert raised.value.param == "version"
    with pytest.raises(NotFoundError) as raised:
        await prompts.get_prompt(created.prompt_id, 9)
    assert raised.value.param == "version"


async def test_an_update_after_another_replica_chose_the_default_with_a_faster_clock_still_becomes_default(
        sql: SQLStore) -> None:
    ahead = SQLPrompts(sql, "prompts", clock=lambda: 10**18 + 5_000_000_000)
    behind = SQLPrompts(sql, "prompts", clock=lambda: 10**18)
    await ahead.migrate()
    created = await ahead.create_prompt("v1")
    await behind.update_prompt(created.prompt_id, "v2", 1)
    await ahead.set_default_version(created.prompt_id, 1)
    made = await behind.update_prompt(created.prompt_id, "v3", 2)
    assert (await ahead.get_prompt(created.prompt_id)).version == made.version == 3
    await behind.set_default_version(created.prompt_id, 2)
    assert (await ahead.get_prompt(created.prompt_id)).version == 2


async def test_list_holds_the_default_version_of_each_prompt_newest_prompt_first(sql: SQLStore) -> None:
    now = [10**18]
    prompts = SQLPrompts(sql, "prompts", clock=lambda: now[0])
    await prompts.migrate()
    made = []
    for name in ("older", "newer"):
        made.append(await prompts.create_prompt(name))
        now[0] += 2_000_000_000
    await prompts.update_prompt(made[0].prompt_id, "older v2", 1)
    await prompts.update_prompt(made[1].prompt_id, "newer v2", 1, set_as_default=False)
    listed = (await prompts.list_prompts()).data
    assert [(p.prompt, p.version, p.is_default) for p in listed] == [("newer", 1, True), ("older v2", 2, True)]


async def test_delete_removes_every_version(prompts: SQLPrompts) -> None:
    created = await prompts.create_prompt("v1")
    kept = await prompts.create_prompt("other")
    await prompts.update_prompt(created.prompt_id, "v2", 1)
    await prompts.delete_prompt(created.prompt_id)
    for call in (prompts.get_prompt(created.prompt_id), prompts.get_prompt(created.prompt_id, 1),
                 prompts.list_prompt_versions(created.prompt_id), prompts.delete_prompt(created.prompt_id),
                 prompts.update_prompt(created.prompt_id, "v3", 2),
                 prompts.set_default_version(created.prompt_id, 1)):
        with pytest.raises(NotFoundError) as raised:
            await call
        assert raised.value.status_code == 404
    assert [p.prompt_id for p in (await prompts.list_prompts()).data] == [kept.prompt_id]


async def test_bad_templates_are_refused_before_anything_is_written(prompts: SQLPrompts) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        await prompts.create_prompt("Hi {{ name }}", [])
    assert "'name'" in raised.value.message
    created = await prompts.create_prompt("Hi")
    with pytest.raises(InvalidRequestError):
        await prompts.update_prompt(created.prompt_id, "Hi {{ name }}", 1, ["na me"])
    assert (await prompts.list_prompt_versions(created.prompt_id)).data == [created]
    assert len((await prompts.list_prompts()).data) == 1


async def test_a_prompt_is_its_creators_alone(prompts: SQLPrompts) -> None:
    with acting_as(ALICE):
        hers = await prompts.create_prompt("alice's")
        await prompts.update_prompt(hers.prompt_id, "alice's v2", 1)
    with acting_as(BOB):
        calls = [prompts.get_prompt(hers.prompt_id), prompts.get_prompt(hers.prompt_id, 1),
                 prompts.list_prompt_versions(hers.prompt_id), prompts.update_prompt(hers.prompt_id, "bob's", 2),
                 prompts.set_default_version(hers.prompt_id, 1), prompts.delete_prompt(hers.prompt_id)]
        for call in calls:
            with pytest.raises(NotFoundError) as raised:
                await call
            assert raised.value.message == f"Prompt '{hers.prompt_id}' not found."
        assert (await prompts.list_prompts()).data == []
        mine = await prompts.create_prompt("bob's")
    with acting_as(ALICE):
        assert [p.prompt for p in (await prompts.list_prompts()).data] == ["alice's v2"]
        assert len((await prompts.list_prompt_versions(hers.prompt_id)).data) == 2
        with pytest.raises(NotFoundError):
            await prompts.get_prompt(mine.prompt_id)


async def test_a_new_version_belongs_to_the_prompts_owner(prompts: SQLPrompts, sql: SQLStore) -> None:
    with acting_as(ALICE):
        hers = await prompts.create_prompt("v1")
        await prompts.update_prompt(hers.prompt_id, "v2", 1)
    with as_system():
        rows = (await sql.fetch_all("prompts")).data
    assert {row["owner_principal"] for row in rows} == {"alice"}


async def test_configured_prompts_are_readable_by_all_and_changed_by_none(prompts: SQLPrompts) -> None:
    with as_system():
        await prompts.register([PromptInput(prompt_id=CONFIGURED, prompt="Be {{ tone }}", variables=["tone"])])
    for user in (ALICE, BOB):
        with acting_as(user):
            shared = await prompts.get_prompt(CONFIGURED)
            assert (shared.prompt, shared.version, shared.is_default) == ("Be {{ tone }}", 1, True)
            assert [p.prompt_id for p in (await prompts.list_prompts()).data] == [CONFIGURED]
            for call in (prompts.update_prompt(CONFIGURED, "Be rude", 1), prompts.set_default_version(CONFIGURED, 1),
                         prompts.delete_prompt(CONFIGURED)):
                with pytest.raises(AccessDeniedError):
                    await call
    assert len((await prompts.list_prompt_versions(CONFIGURED)).data) == 1


async def test_a_restart_keeps_configured_prompts_and_a_changed_text_becomes_the_new_default(
        prompts: SQLPrompts) -> None:
    entry = PromptInput(prompt_id=CONFIGURED, prompt="Be {{ tone }}", variables=["tone"])
    with as_system():
        await prompts.register([entry])
        await prompts.register([entry])
        assert len((await prompts.list_prompt_versions(CONFIGURED)).data) == 1
        await prompts.register([entry.model_copy(update={"prompt": "Be {{ tone }}, always"})])
        assert (await prompts.get_prompt(CONFIGURED)).version == 2
        await prompts.set_default_version(CONFIGURED, 1)
        await prompts.register([entry])  # the default's text: left alone
        assert len((await prompts.list_prompt_versions(CONFIGURED)).data) == 2
        await prompts.register([entry.model_copy(update={"prompt": "Be {{ tone }}, always"})])  # not the default's
        versions = (await prompts.list_prompt_versions(CONFIGURED)).data
        assert [(p.version, p.is_default) for p in versions] == [(1, False), (2, False), (3, True)]


async def test_a_configured_prompt_with_an_undeclared_variable_stops_startup_naming_it(prompts: SQLPrompts) -> None:
    entries = [PromptInput(prompt_id=CONFIGURED, prompt="ok"),
               PromptInput(prompt_id="pmpt_" + "d1" * 24, prompt="Hi {{ name }}")]
    with as_system(), pytest.raises(ConfigError) as raised:
        await prompts.register(entries)
    assert raised.value.path == "registered_resources.prompts[1]" and "'name'" in raised.value.problem


class BothReadFirst:
    """The real store, holding each insert until both updaters have read: the two replicas race for sure."""

    def __init__(self, sql: SQLStore, barrier: asyncio.Barrier) -> None:
        self._sql = sql
        self._barrier = barrier

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sql, name)

    async def insert(self, *args: Any, **kwargs: Any) -> None:
        await self._barrier.wait()
        await self._sql.insert(*args, **kwargs)


async def test_two_replicas_updating_the_same_version_make_one_version_and_one_409(
        backend: SQLBackendConfig, prompts: SQLPrompts) -> None:
    created = await prompts.create_prompt("v1")
    barrier = asyncio.Barrier(2)
    replicas = [await open_sql_store(backend) for _ in range(2)]  # each its own connection pool
    try:
        racers = [SQLPrompts(BothReadFirst(sql, barrier), "prompts") for sql in replicas]  # type: ignore[arg-type]
        for racer in racers:
            await racer.migrate()
        outcomes = await asyncio.gather(*(racer.update_prompt(created.prompt_id, f"by {n}", 1)
                                          for n, racer in enumerate(racers)), return_exceptions=True)
    finally:
        for sql in replicas:
            await sql.close()
    made = [outcome for outcome in outcomes if not isinstance(outcome, BaseException)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert len(made) == 1 and made[0].version == 2
    assert len(refused) == 1 and isinstance(refused[0], ConflictError) and refused[0].param == "version"
    versions = (await prompts.list_prompt_versions(created.prompt_id)).data
    assert [(p.version, p.prompt, p.is_default) for p in versions] == [(1, "v1", False), (2, made[0].prompt, True)]
