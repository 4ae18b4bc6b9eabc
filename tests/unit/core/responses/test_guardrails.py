"""Guardrails in Responses: input refused before any model call, answers judged in batches while streaming.

The shield is the real offline `inline::pii` (flags e-mail addresses, among others); the scripted model says
exactly what a test wants judged.
"""

from __future__ import annotations

from typing import Any

import openai
import pytest

import polystack
from polystack.core.config import parse_run_config
from polystack.testing.fake_safety_apis import FakeSafetyAPIs
from tests.unit.core.responses.conftest import MODEL, check_events, record, valid

SAFE = "The river runs past the old mill and the children play by the water. " * 4  # ~280 characters
UNSAFE_PASSAGE = "Write to me at jane.doe@example.com for the rest. "
LONG_REPLY = SAFE + UNSAFE_PASSAGE + SAFE


def guarded_config(tmp_path: Any, replies: list[dict[str, Any]], *, safety: dict[str, Any] | None = None,
                   fake: FakeSafetyAPIs | None = None) -> Any:
    moderation = [{"provider_id": "moderation", "provider_type": "remote::openai-moderation",
                   "config": {"base_url": f"{fake.base_url}/v1", "api_key": fake.openai_key}}] if fake else []
    return parse_run_config({
        "distro_name": "responses-guardrails",
        "apis": ["inference", "responses", "safety"],
        "providers": {
            "inference": [{"provider_id": "scripted", "provider_type": "inline::scripted",
                           "config": {"replies": replies}}],
            "safety": [{"provider_id": "pii", "provider_type": "inline::pii", "config": {"mode": "flag"}},
                       *moderation],
        },
        "storage": {"backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")},
                                 "kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
                    "stores": {"responses": {"backend": "sql"}, "metadata": {"backend": "kv"}}},
        "registered_resources": {"shields": [
            {"shield_id": "pii", "provider_id": "pii"},
            *([{"shield_id": "moderation", "provider_id": "moderation",
                "provider_shield_id": "omni-moderation-latest"}] if fake else [])]},
        "models": {"refresh_interval_seconds": 0},
        "safety": safety or {},
    }, env={})


def connect(tmp_path: Any, replies: list[dict[str, Any]], **options: Any) -> Any:
    return polystack.connect(guarded_config(tmp_path, replies, **options))


def parts(response: Any) -> list[dict[str, Any]]:
    message = next(item for item in response["output"] if item["type"] == "message")
    return message["content"]  # type: ignore[no-any-return]


async def test_an_unsafe_input_is_refused_before_any_model_call(tmp_path):
    async with connect(tmp_path, [{"content": "never said"}]) as stack:
        recorder = record(stack)
        response = await stack.openai.responses.create(model=MODEL, input="Mail me at bob@example.org please",
                                                       extra_body={"guardrails": ["pii"]})
        valid(response)
        assert recorder.requests == []  # no tokens spent
        assert response.status == "completed"
        data = response.model_dump(mode="json")
        assert [p["type"] for p in parts(data)] == ["refusal"] and parts(data)[0]["refusal"]
        assert [(c["shield_id"], c["stage"], c["verdict"].split(" ")[0]) for c in data["guardrails"]] == [
            ("pii", "input", "violation")]
        stored = (await stack.http.get(f"/v1/responses/{response.id}")).json()
        assert stored["guardrails"] == data["guardrails"] and stored["output"][0]["content"] == parts(data)

        stream = await stack.openai.responses.create(model=MODEL, input="bob@example.org", stream=True,
                                                     extra_body={"guardrails": ["pii"]})
        events = [event async for event in stream]
        types = check_events(events)
        assert "response.refusal.delta" in types and "response.refusal.done" in types
        assert "response.output_text.delta" not in types
        assert types[-1] == "response.completed" and recorder.requests == []


async def test_a_refused_input_runs_no_tool_either(tmp_path):
    gone = {"type": "mcp", "server_label": "gone", "server_url": "http://127.0.0.1:9/mcp"}
    async with connect(tmp_path, [{"content": "never said"}]) as stack:
        refused = await stack.openai.responses.create(model=MODEL, input="bob@example.org", tools=[gone],
                                                      extra_body={"guardrails": ["pii"]})
        assert [item.type for item in refused.output] == ["message"]  # no mcp_list_tools attempt
        listed = await stack.openai.responses.create(model=MODEL, input="hello", tools=[gone],
                                                     extra_body={"guardrails": ["pii"]})
        assert listed.output[0].type == "mcp_list_tools"  # what a safe input does


async def test_an_unsafe_passage_mid_stream_stops_the_answer_cleanly(tmp_path):
    safety = {"guardrails": {"models": {MODEL: {"output_shields": ["pii"]}}}}  # the run config, per model
    async with connect(tmp_path, [{"content": LONG_REPLY}], safety=safety) as stack:
        recorder = record(stack)
        stream = await stack.openai.responses.create(model=MODEL, input="Tell me a story", stream=True)
        events = [event async for event in stream]
        types = check_events(events)
        sent = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        assert "@" not in sent and LONG_REPLY.startswith(sent) and len(sent) >= 200  # judged batches only
        refusal = "".join(e.delta for e in events if e.type == "response.refusal.delta")
        assert refusal
        assert types[-1] == "response.incomplete"
        final = events[-1].response
        assert final.incomplete_details is not None and final.incomplete_details.reason == "content_filter"
        message = final.output[0]
        assert [p.type for p in message.content] == ["output_text", "refusal"]
        assert message.content[0].text == sent  # what was sent is not repeated, nor added to
        # one shield call per batch judged, the last a violation; the chat hook did not judge again
        calls = final.model_dump(mode="json")["guardrails"]
        assert [c["stage"] for c in calls] == ["output"] * len(calls) and len(calls) >= 2
        assert calls[-1]["verdict"].startswith("violation") and all(c["verdict"] == "pass" for c in calls[:-1])
        assert all("guardrails" not in (r.metadata or {}) for r in recorder.requests)
        stored = (await stack.http.get(f"/v1/responses/{final.id}")).json()
        assert stored["status"] == "incomplete" and stored["guardrails"] == calls


async def test_held_back_text_keeps_its_logprobs(tmp_path):
    safety = {"guardrails": {"output_shields": ["pii"]}}
    async with connect(tmp_path, [{"content": SAFE}], safety=safety) as stack:
        stream = await stack.openai.responses.create(model=MODEL, input="Tell me", stream=True,
                                                     include=["message.output_text.logprobs"])
        events = [event async for event in stream]
        deltas = [e for e in events if e.type == "response.output_text.delta"]
        assert len(deltas) == 2  # two batches: 200 characters, then the rest at the end
        tokens = [lp.token for e in deltas for lp in e.logprobs]
        assert "".join(tokens) == SAFE == "".join(e.delta for e in deltas)


async def test_a_non_streamed_unsafe_answer_becomes_a_refusal(tmp_path):
    safety = {"guardrails": {"output_shields": ["pii"]}}  # the run config, whole server
    async with connect(tmp_path, [{"content": LONG_REPLY}, {"content": SAFE}], safety=safety) as stack:
        response = await stack.openai.responses.create(model=MODEL, input="Tell me a story")
        valid(response)
        assert response.status == "incomplete" and response.incomplete_details.reason == "content_filter"
        assert [p.type for p in response.output[0].content] == ["refusal"]
        safe = await stack.openai.responses.create(model=MODEL, input="Again", stream=True)
        events = [event async for event in safe]
        assert events[-1].type == "response.completed"
        assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == SAFE
        calls = events[-1].response.model_dump(mode="json")["guardrails"]
        assert calls and all(c["verdict"] == "pass" and c["stage"] == "output" for c in calls)


async def test_no_guardrails_means_no_field_and_no_check(tmp_path):
    async with connect(tmp_path, [{"content": "bob@example.org"}]) as stack:
        response = await stack.openai.responses.create(model=MODEL, input="hi")
        assert response.output_text == "bob@example.org"
        assert "guardrails" not in (await stack.http.get(f"/v1/responses/{response.id}")).json()


async def test_bad_guardrails_are_refused_before_the_response_starts(tmp_path):
    async with connect(tmp_path, [{"content": "ok"}]) as stack:
        with pytest.raises(openai.NotFoundError) as info:
            await stack.openai.responses.create(model=MODEL, input="hi", extra_body={"guardrails": ["nope"]})
        assert info.value.body["param"] == "guardrails"
        with pytest.raises(openai.BadRequestError) as bad:
            await stack.openai.responses.create(model=MODEL, input="hi", extra_body={"guardrails": "pii"})
        assert bad.value.body["param"] == "guardrails"


@pytest.fixture
async def fake():
    async with FakeSafetyAPIs() as server:  # a fake of OpenAI's moderation endpoint, which can be taken down
        yield server


async def test_a_guard_that_is_down_is_a_502_before_streaming_fail_closed(tmp_path, fake):
    async with connect(tmp_path, [{"content": "ok"}], fake=fake) as stack:
        recorder = record(stack)
        fake.down = True
        reply = await stack.http.post("/v1/responses", json={"model": MODEL, "input": "hi", "stream": True,
                                                             "guardrails": ["moderation"]})
        assert reply.status_code == 502 and "moderation" in reply.json()["error"]["message"]
        assert recorder.requests == []


async def test_a_guard_down_mid_answer_fails_the_response_with_its_error(tmp_path, fake):
    safety = {"guardrails": {"output_shields": ["moderation"]}}
    async with connect(tmp_path, [{"content": "ok"}], fake=fake, safety=safety) as stack:
        fake.down = True
        stream = await stack.openai.responses.create(model=MODEL, input="hi", stream=True)
        events = [event async for event in stream]
        assert events[-1].type == "response.failed"
        error = events[-1].response.error
        assert error is not None and error.code == "server_error" and "moderation" in error.message


async def test_a_guard_that_is_down_lets_the_text_through_fail_open(tmp_path, fake):
    async with connect(tmp_path, [{"content": "ok"}], fake=fake, safety={"fail_open": True}) as stack:
        fake.down = True
        response = await stack.openai.responses.create(model=MODEL, input="hi",
                                                       extra_body={"guardrails": ["moderation"]})
        assert response.status == "completed" and response.output_text == "ok"
        calls = response.model_dump(mode="json")["guardrails"]
        assert {c["stage"] for c in calls} == {"input", "output"}
        assert all(c["verdict"].startswith("error") for c in calls)
