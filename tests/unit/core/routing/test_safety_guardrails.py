"""Guardrails on chat completions: input refusals, output checked in batches while streaming, fail closed/open.

The chat model echoes the last user message (scripted), so a test writes the answer it wants judged; the
`moderation` shield is the fake OpenAI moderation endpoint, flagging "kill", "bomb", "idiot", "vermin".
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

import polystack
from polystack.apis.datatypes import Api
from polystack.core.routing.hooks import HookBase, InferenceCall
from polystack.testing.fake_safety_apis import FakeSafetyAPIs
from tests.unit.core.routing.safety_stack import CHAT, safety_config

SAFE = "The river runs past the old mill and the children play by the water. " * 4  # ~280 characters
UNSAFE_PASSAGE = "Then he said he would kill everyone there. "
LONG_REPLY = SAFE + UNSAFE_PASSAGE + SAFE


@pytest.fixture
async def fake():
    async with FakeSafetyAPIs() as server:
        yield server


def ask(content: str, **extra: Any) -> dict[str, Any]:
    return {"model": CHAT, "messages": [{"role": "user", "content": content}], **extra}


def sse(body: str) -> list[Any]:
    events = [line[len("data: "):] for line in body.splitlines() if line.startswith("data: ")]
    return [event if event == "[DONE]" else json.loads(event) for event in events]


def moderated_texts(fake: FakeSafetyAPIs) -> list[str]:
    return [text for path, body in fake.requests if path == "/v1/moderations" for text in body["input"]]


async def test_an_unsafe_input_gets_a_refusal_without_calling_the_model(tmp_path, fake):
    async with polystack.connect(safety_config(tmp_path, fake)) as library:
        reply = await library.openai.chat.completions.create(**ask("how do I build a bomb"),
                                                             extra_body={"guardrails": ["moderation"]})
        choice = reply.choices[0]
        assert choice.message.content is None and choice.message.refusal
        assert choice.finish_reason == "content_filter"
        assert reply.usage is not None and reply.usage.total_tokens == 0  # the model was never called
        stored = (await library.http.get(f"/v1/chat/completions/{reply.id}")).json()
        assert json.loads(stored["metadata"]["guardrails"]) == {"input": {"moderation": "violation (violence)"}}
        safe = await library.openai.chat.completions.create(**ask("hello"), extra_body={"guardrails": ["moderation"]})
        assert safe.choices[0].message.content == "hello" and safe.choices[0].finish_reason == "stop"


async def test_an_unsafe_input_streamed_gets_a_streamed_refusal(tmp_path, fake):
    config = safety_config(tmp_path, fake, safety={"guardrails": {"input_shields": ["moderation"]}})
    async with polystack.connect(config) as library:
        stream = await library.openai.chat.completions.create(**ask("you idiot"), stream=True)
        chunks = [chunk async for chunk in stream]
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == ""
        assert chunks[-1].choices[0].delta.refusal and chunks[-1].choices[0].finish_reason == "content_filter"


async def test_an_unsafe_passage_mid_stream_stops_it_cleanly(tmp_path, fake):
    config = safety_config(tmp_path, fake, safety={"guardrails": {"output_shields": ["moderation"]}})
    async with polystack.connect(config) as library:
        answer = await library.http.post("/v1/chat/completions", json=ask(LONG_REPLY, stream=True))
        events = sse(answer.text)
        assert events[-1] == "[DONE]" and not any("error" in e for e in events[:-1])  # a clean end
        chunks = events[:-1]
        sent = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
        assert "kill" not in sent and LONG_REPLY.startswith(sent) and len(sent) >= 200  # released batches only
        last = chunks[-1]["choices"][0]
        assert last["finish_reason"] == "content_filter" and last["delta"]["refusal"]
        assert last["delta"].get("content") is None  # what was sent is not repeated
        texts = moderated_texts(fake)
        assert len(texts) >= 2 and all(len(texts[i]) < len(texts[i + 1]) for i in range(len(texts) - 1))
        stored = (await library.http.get("/v1/chat/completions", params={"limit": 1})).json()["data"][0]
        assert stored["choices"][0]["message"]["content"] == sent  # the store keeps what the caller got
        assert stored["choices"][0]["finish_reason"] == "content_filter"
        assert json.loads(stored["metadata"]["guardrails"]) == {"output": {"moderation": "violation (violence)"}}


async def test_a_safe_stream_passes_whole_in_batches(tmp_path, fake):
    config = safety_config(tmp_path, fake, safety={"guardrails": {"output_shields": ["moderation"]},
                                                   "output_check_chars": 100})
    async with polystack.connect(config) as library:
        stream = await library.openai.chat.completions.create(**ask(SAFE + SAFE), stream=True,
                                                              stream_options={"include_usage": True})
        chunks = [chunk async for chunk in stream]
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == SAFE + SAFE
        assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
        assert chunks[-1].usage is not None
        assert 5 <= len(moderated_texts(fake)) <= 8  # ~560 characters in batches of 100, not per token


async def test_an_unsafe_answer_not_streamed_is_replaced_by_a_refusal(tmp_path, fake):
    config = safety_config(tmp_path, fake, safety={"guardrails": {"models": {CHAT: {"output_shields": ["nemo"]}}}})
    async with polystack.connect(config) as library:
        reply = await library.openai.chat.completions.create(**ask("kill them all"))
        assert reply.choices[0].message.content is None and reply.choices[0].message.refusal
        assert reply.choices[0].finish_reason == "content_filter"
        stored = (await library.http.get(f"/v1/chat/completions/{reply.id}")).json()
        assert stored["choices"][0]["message"]["content"] is None
        assert json.loads(stored["metadata"]["guardrails"])["output"] == {"nemo": "violation (self check output)"}


async def test_unknown_and_malformed_guardrails_are_4xx(tmp_path, fake):
    async with polystack.connect(safety_config(tmp_path, fake)) as library:
        unknown = await library.http.post("/v1/chat/completions", json=ask("hi", guardrails=["nope"]))
        assert unknown.status_code == 404 and unknown.json()["error"]["param"] == "guardrails"
        malformed = await library.http.post("/v1/chat/completions", json=ask("hi", guardrails="moderation"))
        assert malformed.status_code == 400 and malformed.json()["error"]["param"] == "guardrails"


async def test_a_guard_that_is_down_fails_closed_with_a_502_naming_it(tmp_path, fake):
    async with polystack.connect(safety_config(tmp_path, fake)) as library:
        fake.down = True
        answer = await library.http.post("/v1/chat/completions", json=ask("hi", guardrails=["bedrock"]))
        assert answer.status_code == 502 and "Shield 'bedrock'" in answer.json()["error"]["message"]


async def test_fail_open_lets_the_text_through_and_notes_the_error(tmp_path, fake):
    config = safety_config(tmp_path, fake, safety={"fail_open": True})
    async with polystack.connect(config) as library:
        fake.down = True
        reply = await library.openai.chat.completions.create(**ask("hi"), extra_body={"guardrails": ["bedrock"]})
        assert reply.choices[0].message.content == "hi"
        stored = (await library.http.get(f"/v1/chat/completions/{reply.id}")).json()
        assert json.loads(stored["metadata"]["guardrails"])["input"] == {"bedrock": "error (passed: fail_open)"}


async def test_llama_guard_as_a_guardrail_judges_through_the_same_router(tmp_path, fake):
    config = safety_config(tmp_path, fake, guard_replies=("unsafe\nS9",),
                           safety={"guardrails": {"input_shields": ["llama-guard"]}})
    async with polystack.connect(config) as library:
        reply = await library.openai.chat.completions.create(**ask("how to enrich uranium"))
        assert reply.choices[0].finish_reason == "content_filter"
        # the guard's own call was not guarded (no recursion) and not stored as a chat completion
        listed = (await library.http.get("/v1/chat/completions")).json()["data"]
        assert [c["model"] for c in listed] == [CHAT]


async def test_check_text_is_the_entry_point_for_other_engines(tmp_path, fake):
    async with polystack.connect(safety_config(tmp_path, fake)) as library:
        safety = library.stack.impls[Api.safety]
        assert await safety.check_text(["moderation", "nemo"], "good morning") is None
        violation = await safety.check_text(["moderation"], "a bomb", role="assistant")
        assert violation is not None and violation.metadata["categories"] == ["violence"]


class Recorder(HookBase):
    """A hook after the guardrails: what the provider is about to get."""

    def __init__(self) -> None:
        self.requests: list[Any] = []
        self.ended = 0

    async def before(self, call: InferenceCall) -> None:
        self.requests.append(call.request)

    async def after(self, call: InferenceCall) -> None:
        self.ended += 1


async def test_the_guardrails_field_never_reaches_the_provider_and_a_refusal_skips_later_hooks(tmp_path, fake):
    async with polystack.connect(safety_config(tmp_path, fake)) as library:
        recorder = Recorder()
        library.stack.impls[Api.inference].hooks.add(recorder)
        await library.openai.chat.completions.create(**ask("hello"), extra_body={"guardrails": ["nemo"]},
                                                     metadata={"team": "blue"})
        [seen] = recorder.requests
        assert "guardrails" not in (seen.model_extra or {})
        assert seen.metadata["team"] == "blue" and json.loads(seen.metadata["guardrails"]) == {
            "input": {"nemo": "pass"}, "output": {"nemo": "pass"}}  # a request's guardrails judge both
        refused = await library.openai.chat.completions.create(**ask("a bomb"), extra_body={"guardrails": ["nemo"]})
        assert refused.choices[0].finish_reason == "content_filter"
        assert len(recorder.requests) == 1 and recorder.ended == 1  # the refused call never reached it


async def test_an_output_guard_that_goes_down_mid_stream_ends_it_with_an_error_naming_it(tmp_path, fake):
    config = safety_config(tmp_path, fake, safety={"guardrails": {"output_shields": ["moderation"]}})
    async with polystack.connect(config) as library:
        fake.down = True
        answer = await library.http.post("/v1/chat/completions", json=ask(LONG_REPLY, stream=True))
        events = sse(answer.text)
        errors = [event for event in events if isinstance(event, dict) and "error" in event]
        assert errors and "Shield 'moderation'" in errors[-1]["error"]["message"]
        sent = "".join(e["choices"][0]["delta"].get("content") or "" for e in events
                       if isinstance(e, dict) and e.get("choices"))
        assert sent == ""  # nothing unjudged was released


async def test_shields_the_config_names_guard_every_caller_even_one_who_cannot_read_them(tmp_path, fake):
    auth = {"provider_config": {"type": "api_keys", "keys": [
        {"key": "k-carol", "principal": "carol"}, {"key": "k-bob", "principal": "bob"}]}}
    config = safety_config(tmp_path, fake, auth=auth, safety={"guardrails": {"input_shields": ["team-guard"]}})
    async with polystack.connect(config) as library:
        made = await library.http.post("/v1/shields", headers={"Authorization": "Bearer k-carol"}, json={
            "shield_id": "team-guard", "provider_id": "nemo", "provider_shield_id": "rails"})
        assert made.status_code == 200
        bob = {"Authorization": "Bearer k-bob"}
        assert (await library.http.get("/v1/shields/team-guard", headers=bob)).status_code == 404
        refused = await library.http.post("/v1/chat/completions", headers=bob, json=ask("a bomb"))
        assert refused.status_code == 200 and refused.json()["choices"][0]["finish_reason"] == "content_filter"
        named = await library.http.post("/v1/chat/completions", headers=bob, json=ask("hi", guardrails=["team-guard"]))
        assert named.status_code == 200  # named by the config too: trusted


async def test_each_shield_call_is_in_the_access_log(tmp_path, fake, caplog):
    caplog.set_level(logging.INFO, logger="polystack")
    async with polystack.connect(safety_config(tmp_path, fake)) as library:
        await library.http.post("/v1/chat/completions", json=ask("a bomb", guardrails=["nemo", "moderation"]))
    [record] = [r for r in caplog.records if r.name == "polystack.access" and r.path == "/v1/chat/completions"]
    assert sorted(record.shields.split(",")) == ["moderation:violation", "nemo:violation"]
