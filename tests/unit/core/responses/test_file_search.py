"""file_search on the server: searching the vector stores, the call items, the citations, parallel calls, limits
and failures (the scripted model and embedder, sqlite-vec, real ingestion)."""

from __future__ import annotations

import asyncio
import base64

import openai
import pytest

from tests.unit.core.responses.conftest import MODEL, call, check_events, record, valid

HANDBOOK = b"""# Lighthouse handbook

The mirror is polished every Tuesday by the keeper on duty.
The fog horn is tested at noon on the first day of each month.
"""
ANSWER = "The mirror is polished every Tuesday."
SEARCH = call("file_search", '{"query": "when is the mirror polished"}')


async def store_with_handbook(stack) -> tuple[str, str]:
    uploaded = await stack.openai.files.create(file=("handbook.md", HANDBOOK), purpose="assistants")
    store = await stack.openai.vector_stores.create(name="docs", file_ids=[uploaded.id])
    async with asyncio.timeout(30):
        while (await stack.openai.vector_stores.retrieve(store.id)).file_counts.in_progress:
            await asyncio.sleep(0.05)
    return store.id, uploaded.id


async def test_file_search_finds_the_passage_and_the_answer_cites_its_file(connect):
    async with connect([SEARCH, {"content": ANSWER}], vector_io=True) as stack:
        store_id, file_id = await store_with_handbook(stack)
        recorder = record(stack)
        response = await stack.openai.responses.create(
            model=MODEL, input="When is the mirror polished?", include=["file_search_call.results"],
            tools=[{"type": "file_search", "vector_store_ids": [store_id], "max_num_results": 3}])
    valid(response)
    search, message = response.output
    assert (search.type, search.status, search.queries) == ("file_search_call", "completed",
                                                           ["when is the mirror polished"])
    assert search.id.startswith("fs_") and [r.file_id for r in search.results] == [file_id]
    assert "polished every Tuesday" in search.results[0].text and search.results[0].filename == "handbook.md"
    assert message.content[0].text == ANSWER
    [citation] = message.content[0].annotations
    assert (citation.type, citation.file_id, citation.filename, citation.index) == (
        "file_citation", file_id, "handbook.md", len(ANSWER))
    tool_message = recorder.requests[1].messages[-1]
    assert tool_message.role == "tool" and "polished every Tuesday" in tool_message.content
    assert recorder.requests[0].tools[0].function.name == "file_search"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (2, 2)  # summed over both model calls


async def test_results_are_left_out_unless_included_and_the_stream_shows_each_step(connect):
    async with connect([SEARCH, {"content": ANSWER}], vector_io=True) as stack:
        store_id, _ = await store_with_handbook(stack)
        stream = await stack.openai.responses.create(
            model=MODEL, input="?", stream=True, tools=[{"type": "file_search", "vector_store_ids": [store_id]}])
        events = [event async for event in stream]
    names = check_events(events)
    assert names[:7] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.file_search_call.in_progress", "response.file_search_call.searching",
                         "response.file_search_call.completed", "response.output_item.done"]
    assert names[-5:] == ["response.output_text.annotation.added", "response.output_text.done",
                          "response.content_part.done", "response.output_item.done", "response.completed"]
    assert events[6].item.results is None and events[-1].response.output[0].results is None
    assert events[-1].response.output[1].content[0].annotations[0].type == "file_citation"


async def test_parallel_searches_run_together_and_each_gets_its_item(connect):
    both = {"tool_calls": [{"name": "file_search", "arguments": '{"query": "mirror"}'},
                           {"name": "file_search", "arguments": '{"query": "fog horn"}'}]}
    async with connect([both, {"content": "Tuesday; at noon."}], vector_io=True) as stack:
        store_id, _ = await store_with_handbook(stack)
        recorder = record(stack)
        response = await stack.openai.responses.create(
            model=MODEL, input="?", tools=[{"type": "file_search", "vector_store_ids": [store_id]}])
    searches = [item for item in response.output if item.type == "file_search_call"]
    assert [(s.queries, s.status) for s in searches] == [(["mirror"], "completed"), (["fog horn"], "completed")]
    assert [m.role for m in recorder.requests[1].messages] == ["user", "assistant", "tool", "tool"]
    assert response.output[-1].content[0].text == "Tuesday; at noon."


async def test_max_tool_calls_stops_running_tools_and_the_model_answers(connect):
    both = {"tool_calls": [{"name": "file_search", "arguments": '{"query": "mirror"}'},
                           {"name": "file_search", "arguments": '{"query": "fog horn"}'}]}
    async with connect([both, {"content": "Only the mirror."}], vector_io=True) as stack:
        store_id, _ = await store_with_handbook(stack)
        recorder = record(stack)
        response = await stack.openai.responses.create(
            model=MODEL, input="?", max_tool_calls=1,
            tools=[{"type": "file_search", "vector_store_ids": [store_id]}])
    assert [item.type for item in response.output] == ["file_search_call", "message"]
    assert response.max_tool_calls == 1
    skipped = recorder.requests[1].messages[-1]
    assert skipped.role == "tool" and "max_tool_calls" in skipped.content
    assert recorder.requests[1].tools is None  # the model is not offered the tool again


async def test_a_failing_search_is_a_failed_item_the_model_sees(connect):
    async with connect([SEARCH, {"content": "I could not search."}], vector_io=True) as stack:
        recorder = record(stack)
        response = await stack.openai.responses.create(
            model=MODEL, input="?", tools=[{"type": "file_search", "vector_store_ids": ["vs_missing"]}])
    valid(response)
    assert response.status == "completed"
    assert [(item.type, item.status) for item in response.output] == [("file_search_call", "failed"),
                                                                      ("message", "completed")]
    seen = recorder.requests[1].messages[-1]
    assert seen.role == "tool" and "failed" in seen.content and "vs_missing" in seen.content


async def test_an_input_file_is_read_by_the_model_as_its_text(connect):
    async with connect([{"content": "Tuesday."}], vector_io=True) as stack:
        recorder = record(stack)
        uploaded = await stack.openai.files.create(file=("handbook.md", HANDBOOK), purpose="user_data")
        question = {"type": "input_text", "text": "When is the mirror polished?"}
        response = await stack.openai.responses.create(model=MODEL, input=[{"role": "user", "content": [
            {"type": "input_file", "file_id": uploaded.id}, question]}])
        inline = base64.b64encode(b"The lamp is lit at dusk.").decode()
        await stack.openai.responses.create(model=MODEL, input=[{"role": "user", "content": [
            {"type": "input_file", "filename": "lamp.txt", "file_data": f"data:text/plain;base64,{inline}"}]}])
        with pytest.raises(openai.NotFoundError):
            await stack.openai.responses.create(model=MODEL, input=[{"role": "user", "content": [
                {"type": "input_file", "file_id": "file-missing"}]}])
        kept = await stack.openai.responses.input_items.list(response.id)
    read = recorder.requests[0].messages[0].content
    assert read.startswith('<file name="handbook.md">\n# Lighthouse handbook') and read.endswith(question["text"])
    assert recorder.requests[1].messages[0].content == '<file name="lamp.txt">\nThe lamp is lit at dusk.\n</file>'
    assert kept.data[0].content[0].type == "input_file"  # the caller's items are kept as sent


async def test_filters_and_the_score_threshold_reach_the_search(connect):
    async with connect([SEARCH, {"content": ANSWER}], vector_io=True) as stack:
        store = await stack.openai.vector_stores.create(name="two languages")
        for name, lang in (("en.md", "en"), ("fr.md", "fr")):
            uploaded = await stack.openai.files.create(file=(name, HANDBOOK), purpose="assistants")
            await stack.openai.vector_stores.files.create(vector_store_id=store.id, file_id=uploaded.id,
                                                          attributes={"lang": lang})
        async with asyncio.timeout(30):
            while (await stack.openai.vector_stores.retrieve(store.id)).file_counts.in_progress:
                await asyncio.sleep(0.05)
        recorder = record(stack)
        english = await stack.openai.responses.create(
            model=MODEL, input="?", include=["file_search_call.results"],
            tools=[{"type": "file_search", "vector_store_ids": [store.id],
                    "filters": {"type": "eq", "key": "lang", "value": "en"}}])
        nothing = await stack.openai.responses.create(
            model=MODEL, input="?", include=["file_search_call.results"],
            tools=[{"type": "file_search", "vector_store_ids": [store.id],
                    "ranking_options": {"score_threshold": 1.0}}])
    assert {r.filename for r in english.output[0].results} == {"en.md"}
    assert nothing.output[0].results == [] and nothing.output[1].content[0].annotations == []
    assert "No matching passages" in recorder.requests[-1].messages[-1].content


async def test_an_input_image_by_file_id_reaches_the_model_as_a_data_url(connect):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    async with connect([{"content": "a picture"}], vector_io=True) as stack:
        recorder = record(stack)
        uploaded = await stack.openai.files.create(file=("dot.png", png), purpose="vision")
        await stack.openai.responses.create(model=MODEL, input=[{"role": "user", "content": [
            {"type": "input_text", "text": "What is it?"}, {"type": "input_image", "file_id": uploaded.id}]}])
    text, image = recorder.requests[0].messages[0].content
    assert text.text == "What is it?"
    assert image.image_url.url == "data:image/png;base64," + base64.b64encode(png).decode()


@pytest.mark.parametrize(("weights", "found"), [
    ({"embedding_weight": 0, "text_weight": 1}, "fog.md"),  # keywords decide
    ({"embedding_weight": 1, "text_weight": 0}, "apples.md"),  # the scripted hash vectors happen to prefer this
])
async def test_hybrid_search_weights_reach_the_search(connect, weights, found):
    fog = call("file_search", '{"query": "horn at noon"}')
    async with connect([fog, {"content": "At noon."}], vector_io=True) as stack:
        store = await stack.openai.vector_stores.create(name="mixed")
        for name, text in (("apples.md", b"Apples are red and sweet."), ("fog.md", b"The fog horn sounds at noon.")):
            uploaded = await stack.openai.files.create(file=(name, text), purpose="assistants")
            await stack.openai.vector_stores.files.create(vector_store_id=store.id, file_id=uploaded.id)
        async with asyncio.timeout(30):
            while (await stack.openai.vector_stores.retrieve(store.id)).file_counts.in_progress:
                await asyncio.sleep(0.05)
        response = await stack.openai.responses.create(
            model=MODEL, input="?", include=["file_search_call.results"],
            tools=[{"type": "file_search", "vector_store_ids": [store.id], "max_num_results": 1,
                    "ranking_options": {"hybrid_search": weights}}])
    assert [r.filename for r in response.output[0].results] == [found]
