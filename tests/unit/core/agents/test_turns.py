"""Turns through the Responses engine, streamed as Llama Stack steps (the scripted model, exact text)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest

from polystack.testing.fake_search_apis import FakeBraveSearch
from polystack.testing.mcp_servers import ToolServer
from tests.unit.core.agents.conftest import SHIELD, call, new_agent, new_session, shape, stream_turn
from tests.unit.core.responses.conftest import record


@pytest.fixture(scope="module")
def tools() -> Iterator[ToolServer]:
    with ToolServer() as running:
        yield running


async def test_a_streamed_turn_is_one_inference_step_between_turn_start_and_turn_complete(connect):
    async with connect([{"content": "Hello there."}]) as stack:
        agent = await new_agent(stack.http)
        session = await new_session(stack.http, agent)
        payloads = await stream_turn(stack.http, f"/v1alpha/agents/{agent}/session/{session}/turn",
                                     {"messages": [{"role": "user", "content": "Hi"}]})
    assert shape(payloads) == ["turn_start", "step_start:inference", "step_progress:inference",
                               "step_complete:inference", "turn_complete"]
    text = "".join(p["delta"]["text"] for p in payloads if p["event_type"] == "step_progress")
    assert text == "Hello there."
    turn = payloads[-1]["turn"]
    assert turn["output_message"] == {"role": "assistant", "content": "Hello there.", "stop_reason": "end_of_turn",
                                      "tool_calls": []}
    assert [s["step_type"] for s in turn["steps"]] == ["inference"]
    assert turn["turn_id"] == payloads[0]["turn_id"] and turn["session_id"] == session


async def test_a_client_tool_makes_the_turn_await_input_and_resume_finishes_it(connect):
    weather = {"name": "get_weather", "description": "The weather in a city.",
               "parameters": [{"name": "city", "parameter_type": "string", "description": "The city"}]}
    async with connect([call("get_weather", '{"city": "Paris"}'), {"content": "Sunny in Paris."}]) as stack:
        recorder = record(stack)
        agent = await new_agent(stack.http, client_tools=[weather])
        session = await new_session(stack.http, agent)
        base = f"/v1alpha/agents/{agent}/session/{session}/turn"
        first = await stream_turn(stack.http, base, {"messages": [{"role": "user", "content": "Weather?"}]})
        assert shape(first) == ["turn_start", "step_start:inference", "step_progress:inference",
                                "step_complete:inference", "turn_awaiting_input"]
        turn = first[-1]["turn"]
        [tool_call] = turn["output_message"]["tool_calls"]
        assert (tool_call["tool_name"], tool_call["arguments"]) == ("get_weather", '{"city": "Paris"}')
        assert turn["output_message"]["stop_reason"] == "end_of_message"
        stored = (await stack.http.get(f"{base}/{turn['turn_id']}")).json()
        assert stored["output_message"]["tool_calls"] == [tool_call]
        resumed = await stream_turn(stack.http, f"{base}/{turn['turn_id']}/resume", {"tool_responses": [
            {"call_id": tool_call["call_id"], "tool_name": "get_weather", "content": "sunny, 24C"}]})
        again = await stack.http.post(f"{base}/{turn['turn_id']}/resume", json={"tool_responses": [
            {"call_id": tool_call["call_id"], "tool_name": "get_weather", "content": "sunny"}]})
    assert shape(resumed) == ["step_complete:tool_execution", "step_start:inference", "step_progress:inference",
                              "step_complete:inference", "turn_complete"]
    done = resumed[-1]["turn"]
    assert done["turn_id"] == turn["turn_id"] and done["output_message"]["content"] == "Sunny in Paris."
    assert [s["step_type"] for s in done["steps"]] == ["inference", "tool_execution", "inference"]
    assert done["steps"][1]["tool_calls"] == [tool_call]
    assert done["steps"][1]["tool_responses"][0]["content"] == "sunny, 24C"
    offered = recorder.requests[0].tools[0].function
    assert offered.name == "get_weather" and offered.parameters["required"] == ["city"]
    answered = recorder.requests[1].messages[-1]
    assert answered.role == "tool" and answered.content == "sunny, 24C"
    assert again.status_code == 400 and again.json()["error"]["param"] == "turn_id"


async def test_a_resume_must_answer_the_calls_the_turn_waits_for_and_only_one_runs_at_a_time(connect):
    tool = {"name": "ping", "input_schema": {"type": "object", "properties": {}}}
    async with connect([call("ping")]) as stack:
        agent = await new_agent(stack.http, client_tools=[tool])
        session = await new_session(stack.http, agent)
        base = f"/v1alpha/agents/{agent}/session/{session}/turn"
        turn = (await stack.http.post(base, json={"messages": [{"role": "user", "content": "ping"}]})).json()
        wrong = await stack.http.post(f"{base}/{turn['turn_id']}/resume", json={"tool_responses": [
            {"call_id": "nope", "tool_name": "ping", "content": "pong"}]})
        answer = {"tool_responses": [{"call_id": turn["output_message"]["tool_calls"][0]["call_id"],
                                      "tool_name": "ping", "content": "pong"}]}
        store = stack.stack.impls["agents"].store
        assert await store.claim(turn["turn_id"], "awaiting_input", "resuming")  # another resume is under way
        busy = await stack.http.post(f"{base}/{turn['turn_id']}/resume", json=answer)
        assert await store.claim(turn["turn_id"], "resuming", "awaiting_input")  # ...and failed
        resumed = await stack.http.post(f"{base}/{turn['turn_id']}/resume", json=answer)
    assert turn["output_message"]["tool_calls"][0]["tool_name"] == "ping"
    assert wrong.status_code == 400 and wrong.json()["error"]["param"] == "tool_responses"
    assert busy.status_code == 409 and busy.json()["error"]["param"] == "turn_id"
    assert resumed.status_code == 200  # the script calls ping again: the turn waits once more
    assert [s["step_type"] for s in resumed.json()["steps"]] == ["inference", "tool_execution", "inference"]


async def test_an_mcp_tool_group_call_is_a_tool_execution_step(connect, tools):
    group = {"toolgroup_id": "mcp::tools", "provider_id": "mcp", "mcp_endpoint": {"uri": tools.http_url}}
    async with connect([call("add", '{"a": 2, "b": 3}'), {"content": "It is 5."}], tool_groups=[group]) as stack:
        recorder = record(stack)
        agent = await new_agent(stack.http, toolgroups=["mcp::tools"])
        session = await new_session(stack.http, agent)
        payloads = await stream_turn(stack.http, f"/v1alpha/agents/{agent}/session/{session}/turn",
                                     {"messages": [{"role": "user", "content": "2+3?"}]})
        turn_id = payloads[-1]["turn"]["turn_id"]
        tool_step = payloads[-1]["turn"]["steps"][1]
        step = await stack.http.get(f"/v1alpha/agents/{agent}/session/{session}/turn/{turn_id}/step/"
                                    f"{tool_step['step_id']}")
    assert shape(payloads) == [
        "turn_start", "step_start:inference", "step_progress:inference", "step_complete:inference",
        "step_start:tool_execution", "step_progress:tool_execution", "step_complete:tool_execution",
        "step_start:inference", "step_progress:inference", "step_complete:inference", "turn_complete"]
    inference = payloads[3]["step_details"]
    assert inference["model_response"]["stop_reason"] == "end_of_message"
    [called] = inference["model_response"]["tool_calls"]
    assert (called["tool_name"], called["arguments"]) == ("add", '{"a": 2, "b": 3}')
    assert tool_step["tool_calls"] == [called]
    assert tool_step["tool_responses"][0]["content"] == "5"
    assert step.json() == {"step": tool_step}
    assert {t.function.name for t in recorder.requests[0].tools} >= {"add", "echo"}
    assert payloads[-1]["turn"]["output_message"]["content"] == "It is 5."


async def test_a_rag_tool_group_searches_the_vector_store_its_args_name(connect):
    async with connect([call("file_search", '{"query": "mirror polished"}'), {"content": "On Tuesdays."}]) as stack:
        store = (await stack.http.post("/v1/vector_stores", json={"name": "docs"})).json()
        inserted = await stack.http.post("/v1/tool-runtime/rag-tool/insert", json={
            "vector_store_id": store["id"], "chunk_size_in_tokens": 128,
            "documents": [{"document_id": "handbook", "content": HANDBOOK, "metadata": {}}]})
        assert inserted.status_code == 204, inserted.text
        agent = await new_agent(stack.http, toolgroups=[{"name": "builtin::rag",
                                                         "args": {"vector_store_ids": [store["id"]]}}])
        session = await new_session(stack.http, agent)
        payloads = await stream_turn(stack.http, f"/v1alpha/agents/{agent}/session/{session}/turn",
                                     {"messages": [{"role": "user", "content": "When is the mirror polished?"}]})
    names = shape(payloads)
    assert names[4:7] == ["step_start:tool_execution", "step_progress:tool_execution", "step_complete:tool_execution"]
    step = payloads[-1]["turn"]["steps"][1]
    assert step["tool_calls"][0]["tool_name"] == "knowledge_search"
    assert any("polished every Tuesday" in part["text"] for part in step["tool_responses"][0]["content"])
    assert payloads[-1]["turn"]["output_message"]["content"] == "On Tuesdays."


async def test_shields_are_shield_call_steps_and_a_violation_ends_the_turn(connect):
    async with connect([{"content": "Fine."}]) as stack:
        recorder = record(stack)
        agent = await new_agent(stack.http, input_shields=[SHIELD], output_shields=[SHIELD])
        session = await new_session(stack.http, agent)
        base = f"/v1alpha/agents/{agent}/session/{session}/turn"
        clean = await stream_turn(stack.http, base, {"messages": [{"role": "user", "content": "How are you?"}]})
        bad = await stream_turn(stack.http, base, {"messages": [{"role": "user",
                                                                 "content": "you are a fucking idiot"}]})
        conversation = (await stack.stack.impls["agents"].store.session(agent, session))["conversation_id"]
        items = (await stack.http.get(f"/v1/conversations/{conversation}/items", params={"order": "asc"})).json()
    assert shape(clean) == ["turn_start", "step_start:shield_call", "step_complete:shield_call",
                            "step_start:inference", "step_progress:inference", "step_complete:inference",
                            "step_start:shield_call", "step_complete:shield_call", "turn_complete"]
    assert clean[1]["metadata"] == {"touchpoint": "user-input"} and clean[6]["metadata"] == {
        "touchpoint": "assistant-output"}
    assert clean[2]["step_details"]["violation"] is None
    assert shape(bad) == ["turn_start", "step_start:shield_call", "step_complete:shield_call", "turn_complete"]
    violation = bad[2]["step_details"]["violation"]
    assert violation["violation_level"] == "error"
    assert bad[-1]["turn"]["output_message"]["content"] == violation["user_message"]
    assert len(recorder.requests) == 1  # the model never saw the violating message
    # the session remembers the refused message and the refusal, as the next turn's context
    texts = [(i["role"], i["content"][0]["text"]) for i in items["data"]]
    assert texts[2:] == [("user", "you are a fucking idiot"), ("assistant", violation["user_message"])]


HANDBOOK = ("The mirror is polished every Tuesday by the keeper on duty. "
            "The fog horn is tested at noon on the first day of each month.")


async def test_an_mcp_group_whose_server_is_down_is_a_clear_503_before_the_turn_starts(connect):
    group = {"toolgroup_id": "mcp::down", "provider_id": "mcp", "mcp_endpoint": {"uri": "http://127.0.0.1:9/mcp"}}
    async with connect([{"content": "unused"}], tool_groups=[group]) as stack:
        agent = await new_agent(stack.http)
        session = await new_session(stack.http, agent)
        reply = await asyncio.wait_for(stack.http.post(f"/v1alpha/agents/{agent}/session/{session}/turn", json={
            "messages": [{"role": "user", "content": "hi"}], "toolgroups": ["mcp::down"], "stream": True}), 30)
        listed = (await stack.http.get(f"/v1alpha/agents/{agent}/session/{session}")).json()
    assert reply.status_code == 503
    assert reply.json()["error"]["code"] == "mcp_server_unreachable" and "127.0.0.1:9" in reply.text
    assert listed["turns"] == []


async def test_a_non_streamed_turn_with_a_turn_level_group_and_a_document(connect, tools):
    group = {"toolgroup_id": "mcp::tools", "provider_id": "mcp", "mcp_endpoint": {"uri": tools.http_url}}
    async with connect([call("echo", '{"text": "hi"}'), {"content": "Echoed."}], tool_groups=[group]) as stack:
        recorder = record(stack)
        agent = await new_agent(stack.http)
        session = await new_session(stack.http, agent)
        reply = await stack.http.post(f"/v1alpha/agents/{agent}/session/{session}/turn", json={
            "messages": [{"role": "user", "content": "Echo hi."}], "toolgroups": ["mcp::tools/echo"],
            "documents": [{"content": "Attached notes.", "mime_type": "text/plain"}]})
    turn = reply.json()
    assert reply.status_code == 200, reply.text
    assert [s["step_type"] for s in turn["steps"]] == ["inference", "tool_execution", "inference"]
    assert turn["steps"][1]["tool_responses"][0]["content"] == "hi"
    assert turn["output_message"]["content"] == "Echoed."
    assert [t.function.name for t in recorder.requests[0].tools] == ["echo"]
    sent = recorder.requests[0].messages[-1].content
    assert "Attached notes." in (sent if isinstance(sent, str) else " ".join(p.text for p in sent))


async def test_an_output_shield_replaces_a_blocked_answer_in_the_turn_and_the_session(connect):
    async with connect([{"content": "you are a fucking idiot"}]) as stack:
        agent = await new_agent(stack.http, output_shields=[SHIELD])
        session = await new_session(stack.http, agent)
        turn = (await stack.http.post(f"/v1alpha/agents/{agent}/session/{session}/turn",
                                      json={"messages": [{"role": "user", "content": "Say something."}]})).json()
        conversation = (await stack.stack.impls["agents"].store.session(agent, session))["conversation_id"]
        items = (await stack.http.get(f"/v1/conversations/{conversation}/items", params={"order": "asc"})).json()
    assert [s["step_type"] for s in turn["steps"]] == ["inference", "shield_call"]
    violation = turn["steps"][1]["violation"]
    assert violation is not None and turn["output_message"]["content"] == violation["user_message"]
    assert turn["steps"][0]["model_response"]["content"] == "you are a fucking idiot"  # what the model said
    texts = [(i["role"], i["content"][0]["text"]) for i in items["data"]]
    assert texts == [("user", "Say something."), ("assistant", violation["user_message"])]


async def test_a_websearch_tool_group_is_the_web_search_tool(connect):
    with FakeBraveSearch() as brave:
        brave_runtime = {"provider_id": "brave-search", "provider_type": "remote::brave-search",
                         "config": {"api_key": brave.api_key, "base_url": brave.base_url}}
        group = {"toolgroup_id": "builtin::websearch", "provider_id": "brave-search"}
        replies = [call("web_search", '{"query": "sea otters"}'), {"content": "Otters."}]
        async with connect(replies, tool_groups=[group], tool_runtime=[brave_runtime]) as stack:
            agent = await new_agent(stack.http, toolgroups=["builtin::websearch"])
            session = await new_session(stack.http, agent)
            payloads = await stream_turn(stack.http, f"/v1alpha/agents/{agent}/session/{session}/turn",
                                         {"messages": [{"role": "user", "content": "Otters?"}]})
    step = payloads[-1]["turn"]["steps"][1]
    assert step["step_type"] == "tool_execution"
    assert step["tool_calls"][0]["tool_name"] == "web_search"
    assert json.loads(step["tool_calls"][0]["arguments"]) == {"query": "sea otters"}
    assert json.loads(step["tool_responses"][0]["content"])  # the pages' URLs
    assert brave.requests[-1].query["q"] == "sea otters"


async def test_a_model_that_fails_is_the_turns_error_and_no_turn_is_kept(connect):
    async with connect([]) as stack:
        agent = await new_agent(stack.http, model="scripted/no-such-model")
        session = await new_session(stack.http, agent)
        path = f"/v1alpha/agents/{agent}/session/{session}/turn"
        plain = await stack.http.post(path, json={"messages": [{"role": "user", "content": "hi"}]})
        async with stack.http.stream("POST", path, json={"messages": [{"role": "user", "content": "hi"}],
                                                         "stream": True}) as streamed:
            lines = [json.loads(line[6:]) async for line in streamed.aiter_lines() if line.startswith("data: ")]
        kept = (await stack.http.get(f"/v1alpha/agents/{agent}/session/{session}")).json()
    assert plain.status_code == 404 and "no-such-model" in plain.json()["error"]["message"]
    assert lines[0]["event"]["payload"]["event_type"] == "turn_start"
    assert "no-such-model" in lines[-1]["error"]["message"]
    assert kept["turns"] == []
