"""The Safety and Shields APIs through the real stack and app: shields as resources, run-shield, moderations."""

from __future__ import annotations

import pytest

import polystack
from polystack.testing.fake_safety_apis import FakeSafetyAPIs
from tests.unit.core.routing.safety_stack import GUARD, safety_config


@pytest.fixture
async def fake():
    async with FakeSafetyAPIs() as server:
        yield server


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


async def test_configured_shields_are_listed_and_registered_ones_come_and_go(tmp_path, fake):
    async with polystack.connect(safety_config(tmp_path, fake)) as library:
        listed = (await library.http.get("/v1/shields")).json()["data"]
        assert {s["identifier"] for s in listed} == {"llama-guard", "moderation", "bedrock", "nemo"}
        guard = (await library.http.get("/v1/shields/llama-guard")).json()
        assert guard == {"identifier": "llama-guard", "provider_id": "llama-guard", "provider_resource_id": GUARD,
                         "type": "shield", "params": {}, "metadata": {}}
        made = await library.http.post("/v1/shields", json={
            "shield_id": "strict", "provider_id": "openai-moderation", "provider_shield_id": "text-moderation-latest"})
        assert made.status_code == 200, made.text
        assert made.json()["provider_resource_id"] == "text-moderation-latest"
        assert (await library.http.get("/v1/shields/strict")).status_code == 200
        assert (await library.http.delete("/v1/shields/strict")).status_code == 204
        missing = await library.http.get("/v1/shields/strict")
        assert missing.status_code == 404 and missing.json()["error"]["param"] == "shield_id"


async def test_registering_needs_a_known_provider_and_for_llama_guard_a_served_model(tmp_path, fake):
    async with polystack.connect(safety_config(tmp_path, fake)) as library:
        unknown = await library.http.post("/v1/shields", json={"shield_id": "x", "provider_id": "nope"})
        assert unknown.status_code == 404 and unknown.json()["error"]["param"] == "provider_id"
        several = await library.http.post("/v1/shields", json={"shield_id": "x"})
        assert several.status_code == 400 and several.json()["error"]["param"] == "provider_id"
        no_model = await library.http.post("/v1/shields", json={
            "shield_id": "g2", "provider_id": "llama-guard", "provider_shield_id": "guard/not-served"})
        assert no_model.status_code == 400 and no_model.json()["error"]["param"] == "provider_shield_id"
        bad_codes = await library.http.post("/v1/shields", json={
            "shield_id": "g3", "provider_id": "llama-guard", "provider_shield_id": GUARD,
            "params": {"excluded_categories": ["S99"]}})
        assert bad_codes.status_code == 400


async def test_run_shield_answers_a_violation_or_none(tmp_path, fake):
    async with polystack.connect(safety_config(tmp_path, fake)) as library:
        safe = await library.http.post("/v1/safety/run-shield", json={
            "shield_id": "moderation", "messages": user("a nice day for a walk"), "params": {}})
        assert safe.status_code == 200 and safe.json() == {"violation": None}
        unsafe = (await library.http.post("/v1/safety/run-shield", json={
            "shield_id": "moderation", "messages": user("I will kill the process"), "params": {}})).json()
        assert unsafe["violation"]["violation_level"] == "error"
        assert unsafe["violation"]["metadata"]["categories"] == ["violence"]
        assert unsafe["violation"]["user_message"]


async def test_run_shield_bad_input_is_a_4xx(tmp_path, fake):
    async with polystack.connect(safety_config(tmp_path, fake)) as library:
        unknown = await library.http.post("/v1/safety/run-shield", json={"shield_id": "nope", "messages": user("x")})
        assert unknown.status_code == 404 and "nope" in unknown.json()["error"]["message"]
        empty = await library.http.post("/v1/safety/run-shield", json={"shield_id": "moderation", "messages": []})
        assert empty.status_code == 400 and "messages" in str(empty.json()["error"])


async def test_a_guard_that_is_down_is_a_502_naming_the_shield(tmp_path, fake):
    async with polystack.connect(safety_config(tmp_path, fake)) as library:
        fake.down = True
        for shield in ("moderation", "bedrock", "nemo"):
            answer = await library.http.post("/v1/safety/run-shield", json={"shield_id": shield,
                                                                           "messages": user("hello")})
            assert answer.status_code == 502, answer.text
            assert f"Shield '{shield}'" in answer.json()["error"]["message"]
            assert answer.json()["error"]["code"] == "shield_unavailable"


async def test_moderations_through_the_openai_sdk(tmp_path, fake):
    async with polystack.connect(safety_config(tmp_path, fake)) as library:
        one = await library.openai.moderations.create(model="moderation", input="you idiot")
        assert one.id.startswith("modr-") and one.model == "moderation"
        [result] = one.results
        assert result.flagged and result.categories.harassment and not result.categories.violence
        assert result.category_scores.harassment > 0.5
        many = await library.openai.moderations.create(model="bedrock", input=["hello there", "a bomb", "vermin"])
        assert [r.flagged for r in many.results] == [False, True, True]
        assert many.results[1].categories.violence and many.results[2].categories.hate
        parts = await library.openai.moderations.create(model="moderation", input=[
            {"type": "text", "text": "plan to kill"},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}])
        [mixed] = parts.results  # one multimodal input, one result; the image is not judged
        assert mixed.flagged and mixed.category_applied_input_types.violence == ["text"]
        image_only = await library.openai.moderations.create(model="moderation", input=[
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}])
        assert not image_only.results[0].flagged
        assert image_only.results[0].category_applied_input_types.violence == []


async def test_moderations_default_shield_unknown_shield_and_no_shield(tmp_path, fake):
    async with polystack.connect(safety_config(tmp_path, fake, safety={
            "default_moderation_shield": "nemo"})) as library:
        answer = await library.http.post("/v1/moderations", json={"input": "kill"})
        assert answer.status_code == 200 and answer.json()["model"] == "nemo" and answer.json()["results"][0]["flagged"]
        by_model = await library.http.post("/v1/moderations", json={"input": "x", "model": "omni-moderation-latest"})
        assert by_model.status_code == 200 and by_model.json()["model"] == "moderation"  # the shield checking with it
        unknown = await library.http.post("/v1/moderations", json={"input": "x", "model": "nope"})
        assert unknown.status_code == 404 and unknown.json()["error"]["param"] == "model"
        empty = await library.http.post("/v1/moderations", json={"input": [], "model": "nemo"})
        assert empty.status_code == 400
    async with polystack.connect(safety_config(tmp_path, fake)) as library:
        none = await library.http.post("/v1/moderations", json={"input": "x"})
        assert none.status_code == 400 and none.json()["error"]["param"] == "model"


async def test_two_users_cannot_see_or_delete_each_others_shields(tmp_path, fake):
    auth = {"provider_config": {"type": "api_keys", "keys": [
        {"key": "k-alice", "principal": "alice"}, {"key": "k-bob", "principal": "bob"}]}}
    alice, bob = {"Authorization": "Bearer k-alice"}, {"Authorization": "Bearer k-bob"}
    async with polystack.connect(safety_config(tmp_path, fake, auth=auth)) as library:
        http = library.http
        made = await http.post("/v1/shields", headers=alice, json={
            "shield_id": "private-shield", "provider_id": "nemo", "provider_shield_id": "secret-rails-model"})
        assert made.status_code == 200, made.text
        listed = (await http.get("/v1/shields", headers=bob)).json()["data"]
        assert "private-shield" not in {s["identifier"] for s in listed} and "moderation" in {
            s["identifier"] for s in listed}  # the config's shields are everyone's
        assert (await http.get("/v1/shields/private-shield", headers=bob)).status_code == 404
        assert (await http.delete("/v1/shields/private-shield", headers=bob)).status_code == 404
        used = await http.post("/v1/safety/run-shield", headers=bob, json={
            "shield_id": "private-shield", "messages": [{"role": "user", "content": "hi"}]})
        assert used.status_code == 404
        taken = await http.post("/v1/shields", headers=bob, json={"shield_id": "private-shield", "provider_id": "nemo"})
        assert taken.status_code == 409 and "secret-rails-model" not in taken.text and "alice" not in taken.text
        assert (await http.get("/v1/shields/private-shield", headers=alice)).status_code == 200
        assert (await http.delete("/v1/shields/private-shield", headers=alice)).status_code == 204
