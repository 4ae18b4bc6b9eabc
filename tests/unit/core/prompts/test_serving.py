"""The stack serves prompts itself (no providers) from storage.stores.prompts, with the configured prompts."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from polystack.apis.catalog import ApiSpec, register_api, unregister_api
from polystack.apis.datatypes import Api
from polystack.apis.prompts.protocol import Prompts
from polystack.core.config import parse_run_config
from polystack.core.errors import StackError
from polystack.core.prompts import render
from polystack.core.serving import Providers, ServeContext
from polystack.core.stack import Stack

CONFIGURED = "pmpt_" + "5e" * 24


def config(tmp_path: Path, *, store: bool = True, apis: list[str] | None = None) -> Any:
    stores = {"prompts": {"backend": "sql", "table_name": "my_prompts"}} if store else {}
    return parse_run_config({
        "distro_name": "prompts",
        "apis": apis or ["inference", "prompts"],
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}]},
        "storage": {"backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")}},
                    "stores": stores},
        "registered_resources": {"prompts": [{"prompt_id": CONFIGURED, "prompt": "Answer in {{ language }}.",
                                              "variables": ["language"]}]},
        "models": {"refresh_interval_seconds": 0},
    }, env={})


async def test_prompts_are_served_without_providers_with_the_configured_ones(tmp_path: Path) -> None:
    stack = Stack(config(tmp_path))
    await stack.start()
    try:
        prompts = stack.impls.require(Api.prompts, Prompts)
        shared = await prompts.get_prompt(CONFIGURED, None)  # what the Responses engine calls
        assert render(shared, {"language": "French"}) == "Answer in French."
        created = await prompts.create_prompt("Hi")
        assert (await prompts.get_prompt(created.prompt_id)).prompt == "Hi"
    finally:
        await stack.stop()
    stack = Stack(config(tmp_path))  # a restart: both are still there, the configured one not duplicated
    await stack.start()
    try:
        prompts = stack.impls.require(Api.prompts, Prompts)
        assert {p.prompt_id for p in (await prompts.list_prompts()).data} == {CONFIGURED, created.prompt_id}
        assert len((await prompts.list_prompt_versions(CONFIGURED)).data) == 1
    finally:
        await stack.stop()


async def test_without_a_prompts_store_the_stack_refuses_to_start_saying_what_to_configure(tmp_path: Path) -> None:
    stack = Stack(config(tmp_path, store=False))
    with pytest.raises(StackError, match="storage.stores.prompts"):
        await stack.start()


async def test_models_in_apis_is_not_served_twice(tmp_path: Path) -> None:
    stack = Stack(config(tmp_path, apis=["inference", "models", "prompts"]))
    await stack.start()
    try:
        assert {Api.inference, Api.models, Api.prompts} <= set(stack.impls)
    finally:
        await stack.stop()


async def test_apis_without_providers_are_served_before_the_routers_unless_they_need_one(tmp_path: Path) -> None:
    served: list[tuple[str, bool]] = []

    def factory(api: str) -> Any:
        async def serve(context: ServeContext, providers: Providers) -> dict[str, object]:
            served.append((api, Api.inference in context.impls))
            return {api: object()}
        return serve

    module = ModuleType("prompts_test_serving_order")
    module.early = factory("early_api")  # type: ignore[attr-defined]
    module.late = factory("late_api")  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    register_api(ApiSpec("early_api", serve=f"{module.__name__}.early"))
    register_api(ApiSpec("late_api", serve=f"{module.__name__}.late", needs=(Api.inference,)))
    try:
        stack = Stack(config(tmp_path, apis=["late_api", "inference", "early_api", "prompts"]))
        await stack.start()
        await stack.stop()
    finally:
        unregister_api("early_api")
        unregister_api("late_api")
        del sys.modules[module.__name__]
    assert served == [("early_api", False), ("late_api", True)]
