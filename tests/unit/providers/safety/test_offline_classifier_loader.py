"""The offline classifier's model loads lazily: not at create, once for concurrent callers, after ready."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

import polystack
from polystack.apis.errors import ServiceUnavailableError
from polystack.apis.safety.types import Shield
from polystack.core.config import parse_run_config
from polystack.providers.inline.safety import offline_classifier
from polystack.providers.inline.safety.offline_classifier import create
from polystack.providers.inline.safety.offline_classifier.classifier import ProfanityModel
from polystack.providers.inline.safety.offline_classifier.config import OfflineClassifierConfig
from polystack.providers.utils.background_load import BackgroundLoad

SHIELD = Shield(identifier="offline", provider_id="offline-classifier", provider_resource_id="offline")


class CountingLoad:
    """Loads the real model, counting calls; `release` holds each load until the test lets it go."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = threading.Event()

    def __call__(self) -> ProfanityModel:
        self.calls += 1
        assert self.release.wait(120)
        return ProfanityModel()


async def test_create_does_not_load_the_model() -> None:
    shield = await create(OfflineClassifierConfig(), None)  # type: ignore[arg-type]
    try:
        assert not shield.loader.loaded
        result = await shield.run_moderation(SHIELD, ["you are a fucking idiot"])
        assert result[0].flagged and shield.loader.loaded
    finally:
        await shield.shutdown()


async def test_concurrent_first_moderations_share_one_load() -> None:
    load = CountingLoad()
    shield = (await create(OfflineClassifierConfig(), None))  # type: ignore[arg-type]
    shield.loader = BackgroundLoad(load, "the model")
    calls = [asyncio.create_task(shield.run_moderation(SHIELD, [f"hello number {n}"])) for n in range(5)]
    deadline = time.monotonic() + 60
    while load.calls == 0 and time.monotonic() < deadline:  # the load has started in its thread
        await asyncio.sleep(0.01)
    assert not any(call.done() for call in calls)  # all of them wait for the one load
    load.release.set()
    results = await asyncio.gather(*calls)
    assert load.calls == 1 and all(not r[0].flagged for r in results)


async def test_a_failed_load_is_a_503_and_the_next_call_retries() -> None:
    attempts: list[int] = []

    def flaky() -> ProfanityModel:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("model file unreadable")
        return ProfanityModel()

    shield = await create(OfflineClassifierConfig(), None)  # type: ignore[arg-type]
    shield.loader = BackgroundLoad(flaky, "the model")
    with pytest.raises(ServiceUnavailableError, match="could not be loaded: model file unreadable"):
        await shield.run_moderation(SHIELD, ["hello"])
    assert (await shield.run_shield(SHIELD, [{"role": "user", "content": "you are a fucking idiot"}], {})).violation
    assert len(attempts) == 2


async def test_a_missing_package_still_stops_create(monkeypatch: Any) -> None:
    monkeypatch.setattr(offline_classifier, "REQUIRED_MODULES",
                        (*offline_classifier.REQUIRED_MODULES, "no_such_package_for_polystack"))
    with pytest.raises(ModuleNotFoundError) as raised:
        await create(OfflineClassifierConfig(), None)  # type: ignore[arg-type]
    assert raised.value.name == "no_such_package_for_polystack"


async def test_a_started_stack_loads_the_model_in_the_background_and_moderates() -> None:
    config = parse_run_config({"distro_name": "lazy", "apis": ["safety"], "providers": {"safety": [
        {"provider_id": "offline-classifier", "provider_type": "inline::offline-classifier"}]},
        "registered_resources": {"shields": [{"shield_id": "offline-moderation",
                                              "provider_id": "offline-classifier"}]},
        "safety": {"default_moderation_shield": "offline-moderation"}}, env={})
    async with polystack.connect(config) as stack:
        shield = stack.stack.providers["offline-classifier"].impl
        deadline = time.monotonic() + 120
        while not shield.loader.loaded and time.monotonic() < deadline:  # nobody asked: after_ready loads it
            await asyncio.sleep(0.05)
        assert shield.loader.loaded
        answer = await stack.http.post("/v1/moderations", json={"input": "you are a fucking idiot"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["results"][0]["flagged"] is True
