"""Agents, sessions and turns: create, list (Llama Stack's pages), get, delete with what they hold, 404s, the
deprecated /v1 prefix, non-streamed turns, and bad agent configs as 4xx (the scripted model echoes)."""

from __future__ import annotations

import polystack
from polystack.apis.datatypes import User
from tests.unit.core.agents.conftest import MODEL, agents_config, new_agent, new_session


async def test_agents_are_created_listed_in_pages_described_and_deleted(connect):
    async with connect([]) as stack:
        http = stack.http
        first = await new_agent(http, name="first", sampling_params={"strategy": {"type": "top_p", "temperature": 0.5}})
        second = await new_agent(http, name="second")
        page = (await http.get("/v1alpha/agents", params={"start_index": 0, "limit": 1})).json()
        rest = (await http.get("/v1alpha/agents", params={"start_index": 1})).json()
        described = (await http.get(f"/v1alpha/agents/{first}")).json()
        legacy = await http.get(f"/v1/agents/{first}")
        deleted = await http.delete(f"/v1alpha/agents/{first}")
        gone = await http.get(f"/v1alpha/agents/{first}")
        remaining = (await http.get("/v1alpha/agents")).json()
    assert [a["agent_id"] for a in page["data"]] == [first] and page["has_more"] is True
    assert [a["agent_id"] for a in rest["data"]] == [second] and rest["has_more"] is False
    assert described["agent_config"]["name"] == "first" and described["agent_config"]["model"] == MODEL
    assert described["agent_config"]["sampling_params"]["strategy"] == {"type": "top_p", "temperature": 0.5,
                                                                       "top_p": 0.95}
    assert described["created_at"] and legacy.status_code == 200 and legacy.json() == described
    assert deleted.status_code == 204 and gone.status_code == 404
    assert gone.json()["error"]["param"] == "agent_id"
    assert [a["agent_id"] for a in remaining["data"]] == [second]


async def test_sessions_hold_their_turns_and_go_with_their_conversation(connect):
    async with connect([]) as stack:
        http = stack.http
        agent = await new_agent(http)
        session = await new_session(http, agent, "chat")
        other = await new_session(http, agent, "other")
        base = f"/v1alpha/agents/{agent}/session/{session}"
        turn1 = (await http.post(f"{base}/turn", json={"messages": [{"role": "user", "content": "one"}]})).json()
        turn2 = (await http.post(f"{base}/turn", json={"messages": [{"role": "user", "content": "two"}]})).json()
        whole = (await http.get(base)).json()
        only = (await http.get(base, params={"turn_ids": [turn2["turn_id"]]})).json()
        listed = (await http.get(f"/v1alpha/agents/{agent}/sessions")).json()
        conversation_id = (await stack.stack.impls["agents"].store.session(agent, session))["conversation_id"]
        items = (await http.get(f"/v1/conversations/{conversation_id}/items", params={"order": "asc"})).json()
        deleted = await http.delete(base)
        after = [await http.get(base), await http.get(f"{base}/turn/{turn1['turn_id']}"),
                 await http.get(f"/v1/conversations/{conversation_id}")]
        still = (await http.get(f"/v1alpha/agents/{agent}/sessions")).json()
    assert turn1["output_message"]["content"] == "one" and turn2["output_message"]["content"] == "two"
    assert whole["session_name"] == "chat" and [t["turn_id"] for t in whole["turns"]] == [turn1["turn_id"],
                                                                                          turn2["turn_id"]]
    assert [t["turn_id"] for t in only["turns"]] == [turn2["turn_id"]]
    assert [s["session_id"] for s in listed["data"]] == [session, other]
    assert [i["role"] for i in items["data"]] == ["user", "assistant", "user", "assistant"]
    assert deleted.status_code == 204
    assert [r.status_code for r in after] == [404, 404, 404]
    assert [s["session_id"] for s in still["data"]] == [other]


async def test_unknown_agent_session_turn_and_step_are_404s_naming_them(connect):
    async with connect([]) as stack:
        http = stack.http
        agent = await new_agent(http)
        session = await new_session(http, agent)
        turn = (await http.post(f"/v1alpha/agents/{agent}/session/{session}/turn",
                                json={"messages": [{"role": "user", "content": "x"}]})).json()["turn_id"]
        replies = {
            "agent_id": [await http.get("/v1alpha/agents/nope"), await http.delete("/v1alpha/agents/nope"),
                         await http.post("/v1alpha/agents/nope/session", json={"session_name": "s"}),
                         await http.get("/v1alpha/agents/nope/sessions")],
            "session_id": [await http.get(f"/v1alpha/agents/{agent}/session/nope"),
                           await http.delete(f"/v1alpha/agents/{agent}/session/nope"),
                           await http.post(f"/v1alpha/agents/{agent}/session/nope/turn",
                                           json={"messages": [{"role": "user", "content": "x"}]})],
            "turn_id": [await http.get(f"/v1alpha/agents/{agent}/session/{session}/turn/nope"),
                        await http.post(f"/v1alpha/agents/{agent}/session/{session}/turn/nope/resume",
                                        json={"tool_responses": [{"call_id": "c", "tool_name": "t", "content": "x"}]})],
            "step_id": [await http.get(f"/v1alpha/agents/{agent}/session/{session}/turn/{turn}/step/nope")],
            "toolgroup_id": [await http.post(f"/v1alpha/agents/{agent}/session/{session}/turn", json={
                "messages": [{"role": "user", "content": "x"}], "toolgroups": ["mcp::nowhere"]})],
        }
    for param, answers in replies.items():
        for answer in answers:
            assert answer.status_code == 404, (param, answer.text)
            assert answer.json()["error"]["param"] == param


async def test_bad_configs_and_inputs_are_400s_naming_the_field(connect):
    async with connect([]) as stack:
        http = stack.http
        no_model = await http.post("/v1alpha/agents", json={"agent_config": {"instructions": "x"}})
        grammar = await http.post("/v1alpha/agents", json={"agent_config": {
            "model": MODEL, "instructions": "x", "response_format": {"type": "grammar", "bnf": {}}}})
        no_shield = await http.post("/v1alpha/agents", json={"agent_config": {
            "model": MODEL, "instructions": "x", "output_shields": ["no-such-shield"]}})
        rag_without_stores = await new_agent(http, toolgroups=["builtin::rag"])
        session = await new_session(http, rag_without_stores)
        turn = await http.post(f"/v1alpha/agents/{rag_without_stores}/session/{session}/turn",
                               json={"messages": [{"role": "user", "content": "x"}]})
        no_messages = await http.post(f"/v1alpha/agents/{rag_without_stores}/session/{session}/turn",
                                      json={"messages": []})
    assert no_model.status_code == 400 and "model" in no_model.json()["error"]["param"]
    assert grammar.status_code == 400 and grammar.json()["error"]["param"] == "agent_config.response_format"
    assert turn.status_code == 400 and turn.json()["error"]["param"] == "toolgroups"
    assert no_shield.status_code == 404 and no_shield.json()["error"]["param"] == "agent_config.output_shields"
    assert no_messages.status_code == 400 and "messages" in no_messages.json()["error"]["param"]


SECRET = "alice-secret-7c1e"


async def test_two_users_never_see_each_others_agents_sessions_or_turns(tmp_path):
    config = agents_config(tmp_path, [])
    config.server.auth = None
    async with polystack.connect(config, as_user=User(principal="alice")) as alice:
        agent = await new_agent(alice.http)
        session = await new_session(alice.http, agent)
        base = f"/v1alpha/agents/{agent}/session/{session}"
        turn = (await alice.http.post(f"{base}/turn", json={"messages": [{"role": "user", "content": SECRET}]})).json()
        step = turn["steps"][0]["step_id"]
    async with polystack.connect(config, as_user=User(principal="bob")) as bob:
        http = bob.http
        answers = [await http.get(f"/v1alpha/agents/{agent}"), await http.get(f"/v1alpha/agents/{agent}/sessions"),
                   await http.get(base), await http.get(f"{base}/turn/{turn['turn_id']}"),
                   await http.get(f"{base}/turn/{turn['turn_id']}/step/{step}"),
                   await http.post(f"{base}/turn", json={"messages": [{"role": "user", "content": "x"}]}),
                   await http.post(f"{base}/turn/{turn['turn_id']}/resume", json={
                       "tool_responses": [{"call_id": "c", "tool_name": "t", "content": "x"}]}),
                   await http.post(f"/v1alpha/agents/{agent}/session", json={"session_name": "s"}),
                   await http.delete(base), await http.delete(f"/v1alpha/agents/{agent}")]
        listed = (await http.get("/v1alpha/agents")).json()
    assert [a.status_code for a in answers] == [404] * len(answers)
    assert all(SECRET not in a.text and "session_name" not in a.text for a in answers)
    assert listed["data"] == []
    async with polystack.connect(config, as_user=User(principal="alice")) as alice:
        assert (await alice.http.get(f"{base}/turn/{turn['turn_id']}")).status_code == 200
