"""The mcp tool on the server: listing, calls, approvals both ways, allowed_tools, the listing reused across a
response chain, a server down and a tool error as failed items, and no secret kept (the scripted model, the
test MCP server on loopback)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from polystack.testing.mcp_servers import PRIVATE_TOKEN, ToolServer
from tests.unit.core.responses.conftest import MODEL, call, check_events, record, valid

ANSWER = {"content": "Done."}


@pytest.fixture(scope="module")
def server() -> Iterator[ToolServer]:
    with ToolServer() as running:
        yield running


def mcp(server: ToolServer, **options: object) -> dict[str, object]:
    return {"type": "mcp", "server_label": "tools", "server_url": server.http_url, "require_approval": "never",
            **options}


async def test_lists_the_tools_calls_one_and_feeds_the_result_back(connect, server):
    async with connect([call("add", '{"a": 2, "b": 3}'), ANSWER]) as stack:
        recorder = record(stack)
        response = await stack.openai.responses.create(model=MODEL, input="2+3?", tools=[mcp(server)])
    valid(response)
    listing, mcp_call, message = response.output
    assert listing.type == "mcp_list_tools" and listing.server_label == "tools" and listing.error is None
    assert {t.name for t in listing.tools} == {"echo", "add", "fail", "sleep", "whoami"}
    assert listing.id.startswith("mcpl_")
    assert (mcp_call.type, mcp_call.name, mcp_call.arguments, mcp_call.output, mcp_call.status, mcp_call.error) == (
        "mcp_call", "add", '{"a": 2, "b": 3}', "5", "completed", None)
    assert mcp_call.server_label == "tools" and mcp_call.id.startswith("mcp_")
    assert message.content[0].text == "Done."
    offered = {t.function.name for t in recorder.requests[0].tools}
    assert offered == {"echo", "add", "fail", "sleep", "whoami"}
    assert recorder.requests[1].messages[-1].role == "tool" and recorder.requests[1].messages[-1].content == "5"


async def test_the_stream_shows_the_listing_and_the_call_with_openais_events(connect, server):
    async with connect([call("echo", '{"text": "hi"}'), ANSWER]) as stack:
        stream = await stack.openai.responses.create(model=MODEL, input="?", stream=True, tools=[mcp(server)])
        events = [event async for event in stream]
    names = check_events(events)
    assert names[:12] == [
        "response.created", "response.in_progress",
        "response.output_item.added", "response.mcp_list_tools.in_progress", "response.mcp_list_tools.completed",
        "response.output_item.done",
        "response.output_item.added", "response.mcp_call.in_progress", "response.mcp_call_arguments.delta",
        "response.mcp_call_arguments.done", "response.mcp_call.completed", "response.output_item.done"]
    assert names[-1] == "response.completed"
    assert events[8].delta == '{"text": "hi"}' and events[9].arguments == '{"text": "hi"}'
    assert events[11].item.output == "hi" and events[6].item.status == "in_progress"
    assert events[7].item_id == events[6].item.id and events[7].output_index == 1


async def test_allowed_tools_filters_what_is_listed_and_offered(connect, server):
    async with connect([ANSWER, ANSWER]) as stack:
        recorder = record(stack)
        by_list = await stack.openai.responses.create(model=MODEL, input="?",
                                                      tools=[mcp(server, allowed_tools=["echo", "add"])])
        by_filter = await stack.openai.responses.create(
            model=MODEL, input="?", tools=[mcp(server, allowed_tools={"tool_names": ["whoami"]})])
    assert {t.name for t in by_list.output[0].tools} == {"echo", "add"}
    assert {t.function.name for t in recorder.requests[0].tools} == {"echo", "add"}
    assert [t.name for t in by_filter.output[0].tools] == ["whoami"]
    assert [t.function.name for t in recorder.requests[1].tools] == ["whoami"]


async def test_the_listing_is_reused_along_a_previous_response_chain(connect, server):
    async with connect([ANSWER, call("add", '{"a": 1, "b": 1}'), ANSWER, ANSWER]) as stack:
        recorder = record(stack)
        listings = server.stats.listings
        first = await stack.openai.responses.create(model=MODEL, input="hi", tools=[mcp(server)])
        assert server.stats.listings == listings + 1
        second = await stack.openai.responses.create(model=MODEL, input="1+1?", tools=[mcp(server)],
                                                     previous_response_id=first.id)
        third = await stack.openai.responses.create(model=MODEL, input="hi", tools=[mcp(server)])
        fourth = await stack.openai.responses.create(model=MODEL, input="and?", tools=[mcp(server)],
                                                     previous_response_id=second.id)  # listed two back
    assert server.stats.listings == listings + 2  # the chain listed once; a new chain lists again
    assert [i.type for i in fourth.output] == ["message"]
    assert first.output[0].type == "mcp_list_tools"
    assert [i.type for i in second.output] == ["mcp_call", "message"] and second.output[0].output == "2"
    assert "add" in {t.function.name for t in recorder.requests[1].tools}
    assert third.output[0].type == "mcp_list_tools"


async def test_a_call_needing_approval_ends_the_response_and_runs_once_approved(connect, server):
    async with connect([call("add", '{"a": 4, "b": 5}'), {"content": "It is 9."}]) as stack:
        recorder = record(stack)
        asked = await stack.openai.responses.create(
            model=MODEL, input="4+5?", tools=[mcp(server, require_approval="always")])
        calls = server.stats.calls
        valid(asked)
        listing, request = asked.output
        assert (request.type, request.name, request.arguments, request.server_label) == (
            "mcp_approval_request", "add", '{"a": 4, "b": 5}', "tools")
        assert asked.status == "completed" and request.id.startswith("mcpr_")
        stream = await stack.openai.responses.create(
            model=MODEL, previous_response_id=asked.id, stream=True,
            tools=[mcp(server, require_approval="always")],
            input=[{"type": "mcp_approval_response", "approval_request_id": request.id, "approve": True}])
        events = [event async for event in stream]
    names = check_events(events)
    assert names[2:8] == ["response.output_item.added", "response.mcp_call.in_progress",
                          "response.mcp_call_arguments.delta", "response.mcp_call_arguments.done",
                          "response.mcp_call.completed", "response.output_item.done"]
    done = events[-1].response
    mcp_call, message = done.output
    assert (mcp_call.type, mcp_call.output, mcp_call.approval_request_id) == ("mcp_call", "9", request.id)
    assert message.content[0].text == "It is 9."
    assert server.stats.calls == calls + 1
    assert len(recorder.requests) == 2  # the approved call ran without asking the model again
    sent = recorder.requests[1].messages
    assert [m.role for m in sent] == ["user", "assistant", "tool"] and sent[-1].content == "9"


async def test_a_denied_call_is_not_run_and_the_model_is_told(connect, server):
    async with connect([call("echo", '{"text": "secret"}'), {"content": "Not allowed."}]) as stack:
        recorder = record(stack)
        tools = [mcp(server, require_approval={"always": {"tool_names": ["echo"]}})]
        asked = await stack.openai.responses.create(model=MODEL, input="echo", tools=tools)
        calls = server.stats.calls
        request = asked.output[-1]
        denied = await stack.openai.responses.create(
            model=MODEL, previous_response_id=asked.id, tools=tools,
            input=[{"type": "mcp_approval_response", "approval_request_id": request.id, "approve": False,
                    "reason": "not now"}])
    assert server.stats.calls == calls
    assert [i.type for i in denied.output] == ["message"]
    told = recorder.requests[1].messages[-1]
    assert told.role == "tool" and "denied" in told.content and "not now" in told.content


async def test_approval_per_tool_and_store_false_with_the_items_sent_back(connect, server):
    tools = [mcp(server, require_approval={"never": {"tool_names": ["add"]}})]
    async with connect([call("add", '{"a": 1, "b": 2}'), ANSWER, call("echo", '{"text": "x"}'),
                        {"content": "x"}]) as stack:
        free = await stack.openai.responses.create(model=MODEL, input="1+2", tools=tools)
        asked = await stack.openai.responses.create(model=MODEL, input="echo x", tools=tools, store=False)
        request = asked.output[-1]
        items = [{"role": "user", "content": "echo x"}, *[i.model_dump(exclude_none=True) for i in asked.output],
                 {"type": "mcp_approval_response", "approval_request_id": request.id, "approve": True}]
        approved = await stack.openai.responses.create(model=MODEL, input=items, tools=tools, store=False)
    assert [i.type for i in free.output] == ["mcp_list_tools", "mcp_call", "message"]
    assert request.type == "mcp_approval_request" and request.name == "echo"
    assert [i.type for i in approved.output] == ["mcp_call", "message"] and approved.output[0].output == "x"


async def test_an_unknown_approval_request_is_a_400_naming_input(connect, server):
    import openai

    async with connect([ANSWER]) as stack:
        with pytest.raises(openai.BadRequestError) as caught:
            await stack.openai.responses.create(
                model=MODEL, tools=[mcp(server)],
                input=[{"type": "mcp_approval_response", "approval_request_id": "mcpr_nope", "approve": True}])
    assert caught.value.body["param"] == "input"


async def test_a_server_down_is_a_failed_listing_the_model_reads(connect):
    async with connect([{"content": "The tools are unavailable."}]) as stack:
        recorder = record(stack)
        stream = await stack.openai.responses.create(
            model=MODEL, input="?", stream=True,
            tools=[{"type": "mcp", "server_label": "gone", "server_url": "http://127.0.0.1:9/mcp"}])
        events = [event async for event in stream]
    names = check_events(events)
    assert names[2:6] == ["response.output_item.added", "response.mcp_list_tools.in_progress",
                          "response.mcp_list_tools.failed", "response.output_item.done"]
    done = events[-1].response
    assert done.status == "completed"
    listing = done.output[0]
    assert listing.type == "mcp_list_tools" and listing.tools == [] and "127.0.0.1" in listing.error
    told = recorder.requests[0].messages[-1]
    assert told.role == "tool" and "gone" in told.content and recorder.requests[0].tools is None


async def test_a_tool_error_and_a_server_gone_mid_chain_are_failed_calls(connect, server):
    async with connect([call("fail", '{"message": "boom"}'), ANSWER, call("add", '{"a": 1, "b": 1}'),
                        ANSWER]) as stack:
        recorder = record(stack)
        stream = await stack.openai.responses.create(model=MODEL, input="?", stream=True, tools=[mcp(server)])
        events = [event async for event in stream]
        names = check_events(events)
        failed = events[-1].response
        # the same label, now pointing at a closed port: the chain's listing is reused, the call fails
        gone = await stack.openai.responses.create(
            model=MODEL, input="again", previous_response_id=failed.id,
            tools=[{"type": "mcp", "server_label": "tools", "server_url": "http://127.0.0.1:9/mcp",
                    "require_approval": "never"}])
    assert "response.mcp_call.failed" in names and "response.mcp_call.completed" not in names
    mcp_call = failed.output[1]
    assert mcp_call.status == "failed" and mcp_call.error.type == "mcp_tool_execution_error"
    assert "boom" in json.dumps(mcp_call.error.content)
    assert "boom" in recorder.requests[1].messages[-1].content
    down = gone.output[0]
    assert (down.type, down.status, down.error.type, down.error.code) == ("mcp_call", "failed", "http_error", 503)
    assert gone.status == "completed" and gone.output[-1].type == "message"


async def test_credentials_reach_the_server_but_are_never_kept(connect, server, caplog):
    caplog.set_level(logging.DEBUG)
    tool = {"type": "mcp", "server_label": "private", "server_url": server.private_url, "require_approval": "never",
            "authorization": PRIVATE_TOKEN, "headers": {"X-Tenant": "tenant-secret-9f2"}}
    async with connect([call("whoami"), ANSWER]) as stack:
        response = await stack.openai.responses.create(model=MODEL, input="who?", tools=[tool])
        stored = await stack.openai.responses.retrieve(response.id)
        raw = json.dumps(stored.model_dump(mode="json"))
    assert response.output[1].output == f"Bearer {PRIVATE_TOKEN}"
    shown = stored.tools[0]
    assert shown.authorization is None and shown.headers == {"X-Tenant": "<redacted>"}
    assert "tenant-secret-9f2" not in raw and raw.count(PRIVATE_TOKEN) == 1  # only the tool's own output says it
    # (the token itself is in the whoami tool's output, which DEBUG logs of the mcp SDK show: the refused-token
    # test checks the logs for a token no output repeats)
    assert caplog.records and "tenant-secret-9f2" not in caplog.text


async def test_an_approval_response_without_its_mcp_tool_is_a_400_naming_tools(connect, server):
    import openai

    async with connect([ANSWER]) as stack:
        with pytest.raises(openai.BadRequestError) as caught:
            await stack.openai.responses.create(
                model=MODEL,
                input=[{"type": "mcp_approval_response", "approval_request_id": "mcpr_x", "approve": True}])
    assert caught.value.body["param"] == "tools"


async def test_bad_tool_configs_are_400s_naming_the_field(connect, server):
    import openai

    async with connect([ANSWER]) as stack:
        params = []
        for tools in ([{"type": "mcp", "server_label": "x"}],
                      [{"type": "mcp", "server_label": "x", "server_url": "ftp://host/mcp"}],
                      [mcp(server), mcp(server)]):
            with pytest.raises(openai.BadRequestError) as caught:
                await stack.openai.responses.create(model=MODEL, input="?", tools=tools)
            params.append(caught.value.body["param"])
    assert params == ["tools[0].server_url", "tools[0].server_url", "tools[0].server_label"]


async def test_parallel_calls_run_together_over_sse_and_tool_choice_names_the_tool(connect, server):
    both = {"tool_calls": [{"name": "sleep", "arguments": '{"seconds": 0.6}'},
                           {"name": "sleep", "arguments": '{"seconds": 0.6}'}]}
    async with connect([both, ANSWER]) as stack:
        recorder = record(stack)
        response = await stack.openai.responses.create(
            model=MODEL, input="?", tools=[mcp(server, server_url=server.sse_url)],
            tool_choice={"type": "mcp", "server_label": "tools", "name": "sleep"})
    calls = [item for item in response.output if item.type == "mcp_call"]
    assert [(c.output, c.status) for c in calls] == [("slept 0.6", "completed")] * 2
    assert server.stats.most_sleeping == 2  # both sleeps were in progress together, seen by the server
    assert recorder.requests[0].tool_choice.function.name == "sleep"
    assert [m.role for m in recorder.requests[1].messages] == ["user", "assistant", "tool", "tool"]


async def test_max_tool_calls_counts_mcp_calls(connect, server):
    both = {"tool_calls": [{"name": "echo", "arguments": '{"text": "a"}'},
                           {"name": "echo", "arguments": '{"text": "b"}'}]}
    async with connect([both, ANSWER]) as stack:
        calls = server.stats.calls
        response = await stack.openai.responses.create(model=MODEL, input="?", tools=[mcp(server)],
                                                       max_tool_calls=1)
    assert [item.type for item in response.output] == ["mcp_list_tools", "mcp_call", "message"]
    assert server.stats.calls == calls + 1


async def test_a_refused_token_fails_the_listing_without_showing_the_token(connect, server, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-token-never-shown-4b7a"
    tool = {"type": "mcp", "server_label": "private", "server_url": server.private_url, "authorization": wrong}
    async with connect([ANSWER]) as stack:
        recorder = record(stack)
        response = await stack.openai.responses.create(model=MODEL, input="?", tools=[tool])
        stored = await stack.openai.responses.retrieve(response.id)
    listing = response.output[0]
    assert listing.type == "mcp_list_tools" and listing.error and response.status == "completed"
    assert wrong not in stored.model_dump_json() and wrong not in listing.error
    assert all(wrong not in str(m.content) for m in recorder.requests[0].messages)
    assert wrong not in caplog.text


async def test_the_sdks_stream_helper_rebuilds_the_mcp_items_from_the_events(connect, server):
    async with connect([call("add", '{"a": 1, "b": 2}'), {"content": "3"}]) as stack:
        async with stack.openai.responses.stream(model=MODEL, input="1+2", tools=[mcp(server)]) as stream:
            rebuilt = await stream.get_final_response()
        stored = await stack.openai.responses.retrieve(rebuilt.id)
    assert [i.type for i in rebuilt.output] == ["mcp_list_tools", "mcp_call", "message"]
    assert rebuilt.output[1].output == "3" and rebuilt.output[1].arguments == '{"a": 1, "b": 2}'
    # the SDK's parsed message has a `parsed` field of its own: the tool items compare whole
    assert [i.model_dump() for i in rebuilt.output[:2]] == [i.model_dump() for i in stored.output[:2]]


async def test_in_a_conversation_the_listing_is_reused_and_an_approval_answered(tmp_path, server):
    import polystack
    from polystack.core.config import parse_run_config

    replies = [call("add", '{"a": 20, "b": 22}'), {"content": "42."}]
    config = parse_run_config({
        "distro_name": "mcp-conversation", "apis": ["inference", "conversations", "responses"],
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted",
                                     "config": {"replies": replies}}]},
        "storage": {"backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")},
                                 "kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
                    "stores": {"metadata": {"backend": "kv"}, "responses": {"backend": "sql"},
                               "conversations": {"backend": "sql"}}},
        "models": {"refresh_interval_seconds": 0},
    }, env={})
    tools = [mcp(server, require_approval="always")]
    async with polystack.connect(config) as stack:
        conversation = await stack.openai.conversations.create()
        listings = server.stats.listings
        asked = await stack.openai.responses.create(model=MODEL, input="20+22?", tools=tools,
                                                    conversation=conversation.id)
        request = asked.output[-1]
        done = await stack.openai.responses.create(
            model=MODEL, tools=tools, conversation=conversation.id,
            input=[{"type": "mcp_approval_response", "approval_request_id": request.id, "approve": True}])
        items = [item async for item in stack.openai.conversations.items.list(conversation.id, order="asc")]
    assert request.type == "mcp_approval_request" and server.stats.listings == listings + 1
    assert [i.type for i in done.output] == ["mcp_call", "message"] and done.output[0].output == "42"
    assert [i.type for i in items] == ["message", "mcp_list_tools", "mcp_approval_request",
                                       "mcp_approval_response", "mcp_call", "message"]
