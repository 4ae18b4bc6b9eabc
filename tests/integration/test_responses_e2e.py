"""Responses end to end with the `openai` SDK on the REAL Conversations, Prompts, Files and Safety APIs: a
conversation over three turns, stored prompts, item references, guardrails with an offline shield, two users
who never reach each other's data (against a `polystack run` process and in-process), and file_search over an
uploaded PDF on `starter` (slow: the embedded models)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml
from openai import AsyncOpenAI
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

import polystack
from polystack.core.config import parse_run_config
from tests.unit.core.responses.conftest import record

ALICE, BOB = "alice-key-e2e-5a1c", "bob-key-e2e-9b0b"
ENV = {"ALICE_KEY": ALICE, "BOB_KEY": BOB}
ECHO = "scripted/scripted-model"  # answers with the last user message
STORY = "story/story-model"  # tells a story with an e-mail address in its middle
SAFE = "The river runs past the old mill and the children play by the water. " * 4  # ~280 characters
LONG_REPLY = SAFE + "Write to me at jane.doe@example.com for the rest. " + SAFE
EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)


def config(tmp_path: Path, *, auth: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "distro_name": "responses-e2e",
        "apis": ["inference", "conversations", "prompts", "safety", "responses"],
        "providers": {
            "inference": [
                {"provider_id": "scripted", "provider_type": "inline::scripted"},
                {"provider_id": "story", "provider_type": "inline::scripted",
                 "config": {"models": ["story-model"], "replies": [{"content": LONG_REPLY}]}}],
            "safety": [{"provider_id": "pii", "provider_type": "inline::pii", "config": {"mode": "flag"}}],
        },
        "storage": {"backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")},
                                 "kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
                    "stores": {"metadata": {"backend": "kv"}, "responses": {"backend": "sql"},
                               "conversations": {"backend": "sql"}, "prompts": {"backend": "sql"}}},
        "registered_resources": {"shields": [{"shield_id": "pii", "provider_id": "pii"}]},
        "safety": {"guardrails": {"models": {STORY: {"output_shields": ["pii"]}}}},
        "models": {"refresh_interval_seconds": 0},
    }
    if auth:
        body["server"] = {"auth": {"provider_config": {"type": "api_keys", "keys": [
            {"key": "${env.ALICE_KEY}", "principal": "alice"}, {"key": "${env.BOB_KEY}", "principal": "bob"}]}}}
    return body


@pytest.fixture(scope="module")
def server(server_factory, tmp_path_factory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("responses-e2e")
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config(folder, auth=True)))
    return server_factory(str(path), env=ENV)


def sdk(server: Any, key: str) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=f"{server.base_url}/v1", api_key=key)


def in_process(tmp_path: Path) -> Any:
    return polystack.connect(parse_run_config(config(tmp_path, auth=False), env={}))


def texts(items: list[Any]) -> list[str]:
    return ["".join(getattr(part, "text", "") or getattr(part, "refusal", "") for part in item.content)
            for item in items]


# ---- a conversation over three turns ------------------------------------------------------------------------


async def three_turns(client: AsyncOpenAI) -> str:
    conversation = await client.conversations.create()
    for turn in ("one", "two", "three"):
        response = await client.responses.create(model=ECHO, input=f"turn {turn}", conversation=conversation.id)
        Response.model_validate(response.model_dump(mode="json", by_alias=True))
        assert response.conversation is not None and response.conversation.id == conversation.id
        assert response.output_text == f"turn {turn}"
    items = [item async for item in client.conversations.items.list(conversation.id, order="asc")]
    assert [item.role for item in items] == ["user", "assistant"] * 3
    assert texts(items) == ["turn one", "turn one", "turn two", "turn two", "turn three", "turn three"]
    return conversation.id


async def test_a_conversation_over_three_turns_against_a_server(server):
    await three_turns(sdk(server, ALICE))


async def test_a_conversation_over_three_turns_in_process_and_what_the_model_read(tmp_path):
    async with in_process(tmp_path) as stack:
        recorder = record(stack)
        await three_turns(stack.openai)
        seen = [[(m.role, m.content) for m in request.messages] for request in recorder.requests]
        assert seen[2] == [("user", "turn one"), ("assistant", "turn one"), ("user", "turn two"),
                           ("assistant", "turn two"), ("user", "turn three")]
        assert [len(messages) for messages in seen] == [1, 3, 5]


async def test_an_item_reference_into_the_conversation(tmp_path):
    async with in_process(tmp_path) as stack:
        recorder = record(stack)
        conversation = await stack.openai.conversations.create(items=[{"role": "user", "content": "remember heron"}])
        [first] = (await stack.openai.conversations.items.list(conversation.id)).data
        other = await stack.openai.conversations.create()
        response = await stack.openai.responses.create(model=ECHO, conversation=conversation.id, input=[
            {"type": "item_reference", "id": first.id}, {"role": "user", "content": "which word?"}])
        assert response.status == "completed", response.error
        assert [m.content for m in recorder.requests[-1].messages] == ["remember heron", "remember heron",
                                                                       "which word?"]
        items = (await stack.openai.conversations.items.list(conversation.id, order="asc")).data
        assert texts(items) == ["remember heron", "which word?", "which word?"]  # the reference is not copied
        with pytest.raises(openai.BadRequestError) as info:  # not in that conversation
            await stack.openai.responses.create(model=ECHO, conversation=other.id, input=[
                {"type": "item_reference", "id": first.id}])
        assert info.value.body["param"] == "input[0].id"


# ---- stored prompts -----------------------------------------------------------------------------------------


async def stored_prompt(client: AsyncOpenAI, http: httpx.AsyncClient) -> tuple[str, Response]:
    created = (await http.post("/v1/prompts", json={"prompt": "You help {{ user }} with {{ topic }}.",
                                                    "variables": ["user", "topic"]})).json()
    prompt_id = created["prompt_id"]
    second = await http.post(f"/v1/prompts/{prompt_id}", json={
        "prompt": "Be brief with {{ user }} about {{ topic }}.", "version": 1, "variables": ["user", "topic"]})
    assert second.json()["version"] == 2
    variables = {"user": "Ada", "topic": "looms"}
    latest = await client.responses.create(model=ECHO, input="hi", prompt={"id": prompt_id, "variables": variables})
    assert latest.instructions == "Be brief with Ada about looms."
    assert latest.prompt is not None and latest.prompt.id == prompt_id
    first = await client.responses.create(model=ECHO, input="hi",
                                          prompt={"id": prompt_id, "version": "1", "variables": variables})
    assert first.instructions == "You help Ada with looms."
    with pytest.raises(openai.NotFoundError):
        await client.responses.create(model=ECHO, input="hi", prompt={"id": "pmpt_" + "0" * 48})
    with pytest.raises(openai.BadRequestError) as info:
        await client.responses.create(model=ECHO, input="hi", prompt={"id": prompt_id, "variables": {"user": "Ada"}})
    assert info.value.body["param"] == "prompt.variables.topic"
    return prompt_id, first


async def test_a_stored_prompt_against_a_server(server):
    async with httpx.AsyncClient(base_url=server.base_url, headers={"Authorization": f"Bearer {ALICE}"}) as http:
        await stored_prompt(sdk(server, ALICE), http)


async def test_a_stored_prompt_in_process_is_what_the_model_reads(tmp_path):
    async with in_process(tmp_path) as stack:
        recorder = record(stack)
        await stored_prompt(stack.openai, stack.http)
        systems = [request.messages[0] for request in recorder.requests]
        assert [(m.role, m.content) for m in systems] == [("system", "Be brief with Ada about looms."),
                                                          ("system", "You help Ada with looms.")]


# ---- guardrails with an offline shield ----------------------------------------------------------------------


async def guardrails(client: AsyncOpenAI) -> None:
    refused = await client.responses.create(model=ECHO, input="mail bob@example.org the plan",
                                            extra_body={"guardrails": ["pii"]})
    Response.model_validate(refused.model_dump(mode="json", by_alias=True))
    assert refused.status == "completed" and [p.type for p in refused.output[0].content] == ["refusal"]
    assert refused.model_dump()["guardrails"][0]["stage"] == "input"

    stream = await client.responses.create(model=STORY, input="a story please", stream=True)
    events = [event async for event in stream]
    for number, event in enumerate(events):
        EVENTS.validate_python(event.model_dump(mode="json", by_alias=True))
        assert event.sequence_number == number
    sent = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert "@" not in sent and LONG_REPLY.startswith(sent) and len(sent) >= 200
    assert any(e.type == "response.refusal.done" for e in events)
    final = events[-1]
    assert final.type == "response.incomplete" and final.response.incomplete_details.reason == "content_filter"
    assert [p.type for p in final.response.output[0].content] == ["output_text", "refusal"]
    stored = await client.responses.retrieve(final.response.id)
    assert stored.model_dump()["guardrails"][-1]["verdict"].startswith("violation")


async def test_guardrails_against_a_server(server):
    await guardrails(sdk(server, ALICE))


async def test_guardrails_in_process(tmp_path):
    async with in_process(tmp_path) as stack:
        await guardrails(stack.openai)


# ---- two users ----------------------------------------------------------------------------------------------


async def test_two_users_never_reach_each_other_s_responses_conversations_or_prompts(server):
    alice, bob = sdk(server, ALICE), sdk(server, BOB)
    async with httpx.AsyncClient(base_url=server.base_url, headers={"Authorization": f"Bearer {ALICE}"}) as http:
        prompt_id = (await http.post("/v1/prompts", json={"prompt": "Alice's secret prompt"})).json()["prompt_id"]
    conversation = await alice.conversations.create(items=[{"role": "user", "content": "alice's secret note"}])
    mine = await alice.responses.create(model=ECHO, input="alice's secret answer")
    [input_item] = (await alice.responses.input_items.list(mine.id)).data
    probes = {
        "GET /v1/responses/{id}": lambda: bob.responses.retrieve(mine.id),
        "DELETE /v1/responses/{id}": lambda: bob.responses.delete(mine.id),
        "GET /v1/responses/{id}/input_items": lambda: bob.responses.input_items.list(mine.id),
        "POST /v1/responses previous_response_id": lambda: bob.responses.create(
            model=ECHO, input="x", previous_response_id=mine.id),
        "POST /v1/responses conversation": lambda: bob.responses.create(
            model=ECHO, input="x", conversation=conversation.id),
        "POST /v1/responses prompt": lambda: bob.responses.create(model=ECHO, input="x", prompt={"id": prompt_id}),
        "POST /v1/responses item_reference": lambda: bob.responses.create(
            model=ECHO, input=[{"type": "item_reference", "id": input_item.id}]),
    }
    leaks = []
    for name, probe in probes.items():
        try:
            answer = await probe()
        except (openai.NotFoundError, openai.BadRequestError):
            continue
        leaks.append((name, str(answer)))
    async with httpx.AsyncClient(base_url=server.base_url, headers={"Authorization": f"Bearer {BOB}"}) as http:
        listing = await http.get("/v1/responses")
    assert listing.status_code == 200
    if mine.id in listing.text or "alice's secret" in listing.text:
        leaks.append(("GET /v1/responses", listing.text))
    assert leaks == [] and len(probes) + 1 == 8
    assert (await alice.responses.retrieve(mine.id)).output_text == "alice's secret answer"  # still there


# ---- file_search over an uploaded PDF on starter ------------------------------------------------------------


def tiny_pdf(lines: list[str]) -> bytes:
    """A one-page PDF with `lines` in Helvetica, written by hand (objects, then the xref of their offsets)."""
    text = " ".join(f"({line}) Tj 0 -16 Td" for line in lines)
    stream = f"BT /F1 12 Tf 72 720 Td {text} ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@pytest.mark.slow
def test_file_search_over_an_uploaded_pdf_on_starter(starter_server):
    client = openai.OpenAI(base_url=f"{starter_server.base_url}/v1", api_key="none")
    pdf = tiny_pdf(["The lighthouse keeper of Ardnamurchan is named Morag Sinclair.",
                    "She has kept the light since nineteen eighty four."])
    uploaded = client.files.create(file=("keeper.pdf", pdf, "application/pdf"), purpose="assistants")
    store = client.vector_stores.create(name="keepers", file_ids=[uploaded.id])
    for _ in range(60):
        files = client.vector_stores.files.list(store.id).data
        if files and files[0].status != "in_progress":
            break
        time.sleep(1)
    assert files[0].status == "completed"
    response = client.responses.create(
        model="llama-cpp/SmolLM2-135M-Instruct", input="Who keeps the Ardnamurchan lighthouse?",
        tools=[{"type": "file_search", "vector_store_ids": [store.id]}], tool_choice={"type": "file_search"},
        include=["file_search_call.results"], max_output_tokens=256, temperature=0)
    Response.model_validate(response.model_dump(mode="json", by_alias=True))
    calls = [item for item in response.output if item.type == "file_search_call"]
    assert len(calls) == 1, response.model_dump_json()
    call = calls[0]
    assert call.status == "completed" and call.queries and call.results
    assert any("Morag Sinclair" in result.text and result.file_id == uploaded.id for result in call.results)
    messages = [item for item in response.output if item.type == "message"]
    assert messages and response.status in ("completed", "incomplete")
    annotations = [a for part in messages[-1].content if part.type == "output_text" for a in part.annotations]
    assert any(a.type == "file_citation" and a.file_id == uploaded.id and a.filename == "keeper.pdf"
               for a in annotations)
