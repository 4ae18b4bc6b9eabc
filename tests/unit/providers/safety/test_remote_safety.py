"""The remote safety adapters against the fake vendor APIs: what they send, and how failures surface."""

from __future__ import annotations

import pytest

import polystack
from polystack.testing.fake_safety_apis import FakeSafetyAPIs
from tests.unit.core.routing.safety_stack import safety_config

# (text, unsafe?) judged by every remote shield; the fake flags kill/bomb/idiot/vermin
TABLE = [("good morning", False), ("please kill the lights", True), ("a bomb threat", True),
         ("what an idiot", True), ("they are vermin", True), ("bake a cake", False), ("skillful play", False)]


@pytest.fixture
async def fake():
    async with FakeSafetyAPIs() as server:
        yield server


@pytest.mark.parametrize("shield", ["moderation", "bedrock", "nemo"])
async def test_each_remote_shield_classifies_the_table(tmp_path, fake, shield):
    async with polystack.connect(safety_config(tmp_path, fake)) as library:
        moderation = await library.openai.moderations.create(model=shield, input=[text for text, _ in TABLE])
        right = sum(result.flagged == unsafe for result, (_, unsafe) in zip(moderation.results, TABLE, strict=True))
        assert right == len(TABLE), f"{shield}: accuracy {right}/{len(TABLE)}"
        for text, unsafe in TABLE:
            verdict = (await library.http.post("/v1/safety/run-shield", json={
                "shield_id": shield, "messages": [{"role": "user", "content": text}]})).json()
            assert (verdict["violation"] is not None) == unsafe, (shield, text)


async def test_what_the_adapters_send(tmp_path, fake):
    async with polystack.connect(safety_config(tmp_path, fake)) as library:
        conversation = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "a bomb"}]
        for shield in ("bedrock", "nemo"):
            await library.http.post("/v1/safety/run-shield", json={"shield_id": shield, "messages": conversation})
        bedrock = next(body for path, body in fake.requests if path.startswith("/guardrail/"))
        paths = [path for path, _ in fake.requests]
        assert "/guardrail/gr-fake1/version/1/apply" in paths
        assert bedrock == {"source": "OUTPUT", "content": [{"text": {"text": "a bomb"}}]}  # the assistant's: output
        nemo = next(body for path, body in fake.requests if path == "/v1/guardrail/checks")
        assert nemo["model"] == "meta/llama-3.1-8b-instruct" and nemo["guardrails"] == {"config_id": "self-check"}
        assert nemo["messages"] == conversation and nemo["stream"] is False


async def test_a_wrong_signature_or_key_is_a_502_naming_the_shield(tmp_path, fake):
    async with polystack.connect(safety_config(tmp_path, fake)) as library:
        fake.aws_secret_key = "another-secret"
        fake.openai_key = "sk-other"
        for shield in ("bedrock", "moderation"):
            answer = await library.http.post("/v1/safety/run-shield", json={
                "shield_id": shield, "messages": [{"role": "user", "content": "hello"}]})
            assert answer.status_code == 502 and f"Shield '{shield}'" in answer.json()["error"]["message"]
            assert "sk-other" not in answer.text


async def test_the_openai_key_may_come_from_the_callers_provider_data(tmp_path, fake):
    config = safety_config(tmp_path, fake)
    config.providers["safety"][1].config["api_key"] = None
    async with polystack.connect(config) as library:
        keyless = await library.http.post("/v1/moderations", json={"model": "moderation", "input": "hello"})
        assert keyless.status_code == 502 and "openai_api_key" in keyless.json()["error"]["message"]
    async with polystack.connect(config, provider_data={"openai_api_key": fake.openai_key}) as library:
        answer = await library.http.post("/v1/moderations", json={"model": "moderation", "input": "a bomb"})
        assert answer.status_code == 200 and answer.json()["results"][0]["flagged"]
