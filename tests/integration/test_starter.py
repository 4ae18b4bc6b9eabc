"""The offline `starter` distribution end to end, over HTTP and in-process, with the official openai client.

Every test runs twice: against a real `polystack run starter` subprocess and through the library client.
The embedded model's exact words depend on the CPU's kernels: tests assert shapes, grammar-enforced
structure and finish reasons, never wording.
"""

from __future__ import annotations

import asyncio
import base64
import json
import struct

import httpx
import openai
import pytest

import polystack

CHAT_MODEL = "llama-cpp/SmolLM2-135M-Instruct"
EMBEDDING_MODEL = "onnx/all-MiniLM-L6-v2"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture(scope="session")
async def library_stack():
    async with polystack.connect("starter") as stack:
        yield stack


@pytest.fixture(params=["server", "library"])
async def client(request, starter_server, library_stack):
    if request.param == "server":
        async with openai.AsyncOpenAI(base_url=f"{starter_server.base_url}/v1", api_key="none") as client:
            yield client
    else:
        yield library_stack.openai


@pytest.fixture(params=["server", "library"])
async def http(request, starter_server, library_stack):
    if request.param == "server":
        async with httpx.AsyncClient(base_url=starter_server.base_url, timeout=120) as client:
            yield client
    else:
        yield library_stack.http


async def test_models_list_has_chat_and_embedding_models(client):
    models = {m.id: m for m in (await client.models.list()).data}
    assert models[CHAT_MODEL].custom_metadata["model_type"] == "llm"
    embedding = models[EMBEDDING_MODEL].custom_metadata
    assert embedding["model_type"] == "embedding" and embedding["embedding_dimension"] == 384
    assert embedding["provider_id"] == "onnx"


async def test_chat_reply_is_an_openai_chat_completion(client):
    reply = await client.chat.completions.create(
        model=CHAT_MODEL,
        temperature=0,
        max_tokens=24,
        messages=[
            {"role": "system", "content": "You are a helpful assistant. Answer briefly."},
            {"role": "user", "content": "What is the capital of France?"},
        ],
    )
    choice = reply.choices[0]
    assert isinstance(choice.message.content, str) and choice.finish_reason in ("stop", "length")
    assert reply.model == CHAT_MODEL and 0 < reply.usage.completion_tokens <= 24


async def test_chat_stream_matches_the_whole_answer(client):
    kwargs = dict(
        model=CHAT_MODEL,
        temperature=0,
        seed=7,
        max_tokens=16,
        messages=[{"role": "user", "content": "Name three colors."}],
    )
    whole = (await client.chat.completions.create(**kwargs)).choices[0].message.content
    stream = await client.chat.completions.create(**kwargs, stream=True, stream_options={"include_usage": True})
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(chunks) > 3 and text == whole
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


async def test_sse_ends_with_done(http):
    async with http.stream(
        "POST",
        "/v1/chat/completions",
        json={"model": CHAT_MODEL, "max_tokens": 4, "stream": True, "messages": [{"role": "user", "content": "hi"}]},
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line async for line in response.aiter_lines() if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]"
    assert json.loads(events[0][6:])["object"] == "chat.completion.chunk"


async def test_required_tool_choice_returns_a_tool_call(client):
    reply = await client.chat.completions.create(
        model=CHAT_MODEL,
        temperature=0,
        max_tokens=64,
        tools=[WEATHER_TOOL],
        tool_choice="required",
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather" and call.id
    assert isinstance(json.loads(call.function.arguments).get("city"), str)


async def test_streamed_tool_call_reassembles(client):
    stream = await client.chat.completions.create(
        model=CHAT_MODEL,
        temperature=0,
        max_tokens=64,
        tools=[WEATHER_TOOL],
        stream=True,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        messages=[{"role": "user", "content": "Weather in Rome?"}],
    )
    name, arguments = "", ""
    async for chunk in stream:
        for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            name += delta.function.name or "" if delta.function else ""
            arguments += delta.function.arguments or "" if delta.function else ""
    assert name == "get_weather" and "city" in json.loads(arguments)


async def test_json_schema_output_validates(client):
    schema = {  # bounded, so the grammar's longest output fits in max_tokens and always finishes
        "type": "object",
        "properties": {"name": {"type": "string", "maxLength": 12}, "age": {"type": "integer", "maximum": 150}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    reply = await client.chat.completions.create(
        model=CHAT_MODEL,
        temperature=0,
        max_tokens=96,
        response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema}},
        messages=[{"role": "user", "content": "Invent a person with a name and an age."}],
    )
    assert reply.choices[0].finish_reason == "stop"
    person = json.loads(reply.choices[0].message.content)
    assert set(person) == {"name", "age"} and isinstance(person["age"], int)


async def test_legacy_completion_and_stream(client):
    no_end = {"2": -100}  # SmolLM2's end-of-text token: the text runs to max_tokens
    done = await client.completions.create(
        model=CHAT_MODEL, prompt="The capital of France is", max_tokens=8, temperature=0, logit_bias=no_end
    )
    assert done.choices[0].text and done.choices[0].finish_reason == "length"
    assert done.usage.completion_tokens == 8
    stream = await client.completions.create(model=CHAT_MODEL, prompt="One, two,", max_tokens=8, stream=True,
                                             logit_bias=no_end)
    chunks = [chunk async for chunk in stream if chunk.choices]
    assert "".join(chunk.choices[0].text for chunk in chunks) and chunks[-1].choices[0].finish_reason == "length"


async def test_embeddings_float_and_base64_agree(client):
    floats = await client.embeddings.create(model=EMBEDDING_MODEL, input=["a cat", "a dog"])
    assert len(floats.data) == 2 and len(floats.data[0].embedding) == 384
    raw = await client.embeddings.with_raw_response.create(
        model=EMBEDDING_MODEL, input="a cat", encoding_format="base64"
    )
    packed = json.loads(raw.content)["data"][0]["embedding"]
    unpacked = struct.unpack("<384f", base64.b64decode(packed))
    assert unpacked == pytest.approx(floats.data[0].embedding, abs=1e-6)


async def test_unknown_model_is_404(client):
    with pytest.raises(openai.NotFoundError) as info:
        await client.chat.completions.create(model="nope/nope", messages=[{"role": "user", "content": "x"}])
    assert info.value.body["code"] == "model_not_found"


async def test_bad_field_is_400_naming_it(http):
    response = await http.post(
        "/v1/chat/completions",
        json={"model": CHAT_MODEL, "messages": [{"role": "user", "content": "x"}], "max_tokens": 0},
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "max_tokens"


async def test_alias_register_use_unregister(http):
    response = await http.post(
        "/v1/models",
        json={"model_id": "tiny", "provider_model_id": "SmolLM2-135M-Instruct", "provider_id": "llama-cpp"},
    )
    assert response.status_code == 200
    try:
        reply = await http.post(
            "/v1/chat/completions",
            json={"model": "tiny", "max_tokens": 4, "messages": [{"role": "user", "content": "hi"}]},
        )
        assert reply.status_code == 200 and reply.json()["model"] == "tiny"
    finally:
        assert (await http.delete("/v1/models/tiny")).status_code == 204


async def test_provider_data_header_with_unknown_keys_is_ignored(http):
    response = await http.post(
        "/v1/chat/completions",
        headers={"X-OGX-Provider-Data": '{"whatever_key": "x"}'},
        json={"model": CHAT_MODEL, "max_tokens": 4, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.status_code == 200


async def test_client_disconnect_mid_stream_frees_the_model(http):
    async with http.stream(
        "POST",
        "/v1/chat/completions",
        json={
            "model": CHAT_MODEL,
            "max_tokens": 400,
            "stream": True,
            "messages": [{"role": "user", "content": "Write a long story about a dragon."}],
        },
    ) as response:
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                break
    # the abandoned generation stops, so a new request is served promptly
    reply = await http.post(
        "/v1/chat/completions",
        json={"model": CHAT_MODEL, "max_tokens": 4, "messages": [{"role": "user", "content": "hi"}]},
        timeout=30,
    )
    assert reply.status_code == 200


async def test_search_with_rewrite_query_uses_the_embedded_chat_model(client):
    """starter names its embedded chat model as the query expansion model, so rewrite_query works offline."""
    uploaded = await client.files.create(
        file=("telescope.md", b"# Telescope\nThe observatory mirror is polished with cerium oxide every decade."),
        purpose="assistants")
    store = await client.vector_stores.create(name="rewrite", file_ids=[uploaded.id])
    for _ in range(300):
        if (await client.vector_stores.retrieve(store.id)).file_counts.in_progress == 0:
            break
        await asyncio.sleep(0.1)
    question = "how is the telescope mirror kept clean?"
    hits = await client.vector_stores.search(store.id, query=question, rewrite_query=True)
    (searched,) = hits.search_query
    assert searched.strip() and "\n" not in searched
    assert hits.data and hits.data[0].file_id == uploaded.id


async def test_moderations_judge_real_text_offline_with_the_default_shield(client):
    """starter moderates with no key and no download: the offline classifier is its default shield."""
    result = await client.moderations.create(input=["Have a lovely day, friend.", "you are a worthless idiot"])
    assert result.model == "offline-moderation"
    safe, offensive = result.results
    assert not safe.flagged and offensive.flagged
    assert offensive.categories.harassment and offensive.category_scores.harassment > 0.5
    assert offensive.category_applied_input_types.harassment == ["text"]


async def test_run_shield_flags_an_email_address_with_the_pii_shield(http):
    reply = await http.post("/v1/safety/run-shield", json={
        "shield_id": "pii", "messages": [{"role": "user", "content": "mail me at jane.doe@example.com"}]})
    assert reply.status_code == 200, reply.text
    violation = reply.json()["violation"]
    assert violation["violation_level"] == "error" and "jane.doe@example.com" not in reply.text
