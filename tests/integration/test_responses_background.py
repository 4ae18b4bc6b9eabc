"""Background responses (`background: true`): queued at once, run on the job runner, polled, streamed again
from the event log after any sequence number, cancelled; in-process on SQLite, and across two real server
processes on shared PostgreSQL, one killed with SIGKILL mid-response."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import openai
import pytest

import polystack
from tests.unit.core.responses.conftest import MODEL, check_events, responses_config, valid

LONG = " ".join(f"word{i}" for i in range(40))


def slow_stack(tmp_path, replies: list[dict[str, Any]], delay: float = 0) -> Any:
    """A stack on SQLite whose scripted model plays `replies`, streaming each word `delay` seconds apart."""
    config = responses_config(tmp_path, replies)
    config.providers["inference"][0].config["stream_delay_seconds"] = delay
    return polystack.connect(config)


@pytest.fixture
def connect(tmp_path):
    return lambda replies: slow_stack(tmp_path, replies)


async def until(check: Callable[[], Awaitable[Any]], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def status_of(client: openai.AsyncOpenAI, response_id: str, *wanted: str) -> Any:
    response = await client.responses.retrieve(response_id)
    return response if response.status in wanted else None


async def test_a_background_response_is_queued_at_once_then_polled_to_completion(connect):
    async with connect([{"content": "done in the background"}]) as stack:
        created = await stack.openai.responses.create(model=MODEL, input="work", background=True)
        assert valid(created).status == "queued" and created.background is True and created.output == []
        done = await until(lambda: status_of(stack.openai, created.id, "completed"), 10, "completion")
        assert valid(done).output_text == "done in the background" and done.background is True
        assert done.created_at == created.created_at
        items = await stack.openai.responses.input_items.list(created.id)
        assert [i.content[0].text for i in items.data] == ["work"]
        # it continues like any stored response
        follow = await stack.openai.responses.create(model=MODEL, input="more", previous_response_id=created.id)
        assert follow.status == "completed"


async def test_background_needs_store_and_bad_input_is_refused_before_queueing(connect):
    async with connect([{"content": "x"}]) as stack:
        with pytest.raises(openai.BadRequestError) as info:
            await stack.openai.responses.create(model=MODEL, input="x", background=True, store=False)
        assert info.value.body["param"] == "store"
        with pytest.raises(openai.NotFoundError) as missing:
            await stack.openai.responses.create(model=MODEL, input="x", background=True,
                                                previous_response_id="resp_missing")
        assert missing.value.body["param"] == "previous_response_id"
        listed = (await stack.http.get("/v1/responses")).json()
        assert listed["data"] == []


async def test_a_streamed_background_response_resumes_after_any_sequence_number(connect):
    async with connect([{"content": "one two three"}]) as stack:
        stream = await stack.openai.responses.create(model=MODEL, input="count", background=True, stream=True)
        events = [event async for event in stream]
        types = check_events(events)
        assert types[0] == "response.created" and types[-1] == "response.completed"
        response_id = events[0].response.id
        assert events[-1].response.output_text == "one two three" and events[-1].response.background is True
        for after in (0, 4, len(events) - 2):
            resumed = await stack.openai.responses.retrieve(response_id, stream=True, starting_after=after)
            again = [event async for event in resumed]
            assert [e.model_dump() for e in again] == [e.model_dump() for e in events[after + 1:]]
        everything = await stack.openai.responses.retrieve(response_id, stream=True)
        assert [e.sequence_number async for e in everything] == list(range(len(events)))
        bad = await stack.http.get(f"/v1/responses/{response_id}", params={"stream": "true", "starting_after": -1})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "starting_after"


async def test_a_client_that_disconnects_from_the_streamed_post_does_not_stop_the_work(tmp_path):
    async with slow_stack(tmp_path, [{"content": LONG}], 0.02) as stack:
        stream = await stack.openai.responses.create(model=MODEL, input="go", background=True, stream=True)
        first = []
        async for event in stream:
            first.append(event)
            if len(first) == 3:
                break
        await stream.close()  # the client goes away after three events
        done = await until(lambda: status_of(stack.openai, first[0].response.id, "completed"), 20, "completion")
        assert done.output_text == LONG


async def test_only_background_responses_stream_again_or_cancel(connect):
    async with connect([{"content": "plain"}]) as stack:
        plain = await stack.openai.responses.create(model=MODEL, input="x")
        streamed = await stack.http.get(f"/v1/responses/{plain.id}", params={"stream": "true"})
        assert streamed.status_code == 400 and streamed.json()["error"]["param"] == "stream"
        with pytest.raises(openai.BadRequestError) as info:
            await stack.openai.responses.cancel(plain.id)
        assert "background=true" in info.value.message
        with pytest.raises(openai.NotFoundError):
            await stack.openai.responses.cancel("resp_missing")


async def test_cancel_stops_a_running_response_and_ends_its_stream(tmp_path):
    async with slow_stack(tmp_path, [{"content": LONG}], 0.1) as stack:
        stream = await stack.openai.responses.create(model=MODEL, input="talk", background=True, stream=True)
        seen = []
        async for event in stream:
            seen.append(event)
            if event.type == "response.output_text.delta":
                break
        response_id = seen[0].response.id
        assert (await stack.openai.responses.retrieve(response_id)).status == "in_progress"
        cancelled = await stack.openai.responses.cancel(response_id)
        assert valid(cancelled).status == "cancelled"
        assert (await stack.openai.responses.cancel(response_id)).status == "cancelled"  # idempotent
        assert (await stack.openai.responses.retrieve(response_id)).status == "cancelled"
        await stream.close()
        resumed = await stack.openai.responses.retrieve(response_id, stream=True,
                                                        starting_after=seen[-1].sequence_number)
        rest = [event async for event in resumed]  # the stream ends, without a terminal event of its own
        assert all(e.type == "response.output_text.delta" for e in rest) and len(rest) < 39
        job = await stack.stack.jobs.get(response_id)
        assert job is not None and job.status == "cancelled"
        await asyncio.sleep(0.5)  # nothing moves once cancelled
        assert (await stack.openai.responses.retrieve(response_id)).status == "cancelled"


async def test_a_response_cancelled_while_queued_never_runs(tmp_path):
    async with slow_stack(tmp_path, [{"content": LONG}], 0.05) as stack:
        runner = stack.stack.jobs
        await runner.stop()  # nothing claims jobs: the response stays queued
        created = await stack.openai.responses.create(model=MODEL, input="later", background=True)
        cancelled = await stack.openai.responses.cancel(created.id)
        assert cancelled.status == "cancelled" and cancelled.output == []
        resumed = await stack.openai.responses.retrieve(created.id, stream=True)
        assert [e async for e in resumed] == []
        assert (await runner.get(created.id)).status == "cancelled"


# ---- two replicas on shared PostgreSQL ---------------------------------------------------------------

REPLICA_CONFIG = """
version: 2
distro_name: responses-replicas
apis: [inference, responses]
providers:
  inference:
  - provider_id: scripted
    provider_type: inline::scripted
    config:
      stream_delay_seconds: 0.25
      replies: [{content: "%(content)s"}]
storage:
  backends:
    kv: {type: kv_postgres, host: 127.0.0.1, port: 5432, user: postgres, db: %(db)s}
    sql: {type: sql_postgres, host: 127.0.0.1, port: 5432, user: postgres, db: %(db)s}
  stores:
    metadata: {backend: kv, namespace: registry}
    responses: {backend: sql, table_name: responses}
models: {refresh_interval_seconds: 0}
"""


@pytest.fixture
async def replica_config(tmp_path):
    """A config file for replicas sharing a fresh PostgreSQL database (dropped afterwards)."""
    import uuid

    import asyncpg

    name = f"polystack_rbg_{uuid.uuid4().hex[:10]}"
    path = tmp_path / "replicas.yaml"
    path.write_text(REPLICA_CONFIG % {"db": name, "content": LONG})
    yield str(path), name
    admin = await asyncpg.connect(database="postgres", host="127.0.0.1", port=5432, user="postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def job_row(database: str, job_id: str) -> dict[str, Any] | None:
    import asyncpg

    conn = await asyncpg.connect(database=database, host="127.0.0.1", port=5432, user="postgres")
    try:
        row = await conn.fetchrow("SELECT * FROM polystack_jobs WHERE id = $1", job_id)
    finally:
        await conn.close()
    return dict(row) if row is not None else None


def owned_by(job: dict[str, Any] | None, server: Any) -> bool:
    return bool(job and job["lease_owner"] and f":{server.process.pid}:" in job["lease_owner"])


async def test_replicas_cancel_each_other_s_responses_and_a_killed_replica_s_response_fails_cleanly(
        server_factory, replica_config):
    path, database = replica_config
    a, b = server_factory(path), server_factory(path)
    clients = {server: openai.AsyncOpenAI(base_url=f"{server.base_url}/v1", api_key="none", timeout=60)
               for server in (a, b)}

    # a cancel sent to the replica that does not run the response stops it on the one that does
    created = await clients[a].responses.create(model=MODEL, input="one", background=True)
    job = await until(lambda: _running_job(database, created.id), 20, "the response's job to run")
    runner, other = (a, b) if owned_by(job, a) else (b, a)
    await until(lambda: status_of(clients[other], created.id, "in_progress"), 20, "in_progress on the other")
    cancelled = await clients[other].responses.cancel(created.id)
    assert cancelled.status == "cancelled"
    assert (await job_row(database, created.id))["status"] == "cancelled"
    assert (await clients[runner].responses.retrieve(created.id)).status == "cancelled"

    # kill -9 the replica running a response mid-stream: the other takes the job over once its lease
    # lapses, and fails the response (its output is not repeated); the stream ends with response.failed
    created = await clients[a].responses.create(model=MODEL, input="two", background=True)
    job = await until(lambda: _running_job(database, created.id), 20, "the second response's job to run")
    victim, survivor = (a, b) if owned_by(job, a) else (b, a)
    stream = await clients[survivor].responses.retrieve(created.id, stream=True)
    seen = []
    async for event in stream:
        seen.append(event)
        if event.type == "response.output_text.delta" and len(seen) > 6:
            break
    await stream.close()
    victim.process.kill()
    victim.process.wait()
    resumed = await clients[survivor].responses.retrieve(created.id, stream=True,
                                                         starting_after=seen[-1].sequence_number)
    rest = [event async for event in resumed]
    assert rest[-1].type == "response.failed" and rest[0].sequence_number == seen[-1].sequence_number + 1
    assert "stopped before it finished" in rest[-1].response.error.message
    failed = await clients[survivor].responses.retrieve(created.id)
    assert failed.status == "failed" and failed.error.code == "server_error"
    taken = await job_row(database, created.id)
    assert taken["status"] == "succeeded" and taken["attempts"] == 2 and owned_by(taken, victim) is False


async def _running_job(database: str, job_id: str) -> dict[str, Any] | None:
    job = await job_row(database, job_id)
    return job if job is not None and job["status"] == "running" else None


async def test_another_user_can_neither_read_stream_nor_cancel_a_background_response(tmp_path):
    keys = {"alice": "alice-key-bg-0001", "bob": "bob-key-bg-0002"}
    config = responses_config(tmp_path, [{"content": LONG}], server={"auth": {"provider_config": {
        "type": "api_keys", "keys": [{"key": key, "principal": name} for name, key in keys.items()]}}})
    config.providers["inference"][0].config["stream_delay_seconds"] = 0.05
    async with polystack.connect(config) as stack:
        alice, bob = (stack.openai.with_options(api_key=keys[name]) for name in ("alice", "bob"))
        created = await alice.responses.create(model=MODEL, input="mine", background=True)
        await until(lambda: status_of(alice, created.id, "in_progress"), 10, "the job to run as alice")
        for attempt in (lambda: bob.responses.retrieve(created.id), lambda: bob.responses.cancel(created.id),
                        lambda: bob.responses.retrieve(created.id, stream=True)):
            with pytest.raises(openai.NotFoundError):
                await attempt()
        assert (await alice.responses.cancel(created.id)).status == "cancelled"
        later = await alice.responses.create(model=MODEL, input="again", background=True)
        done = await until(lambda: status_of(alice, later.id, "completed"), 20, "completion as alice")
        assert done.output_text == LONG  # the job read and wrote as alice: her row, her continuation
        with pytest.raises(openai.NotFoundError):
            await bob.responses.retrieve(later.id)
        listed = (await stack.http.get("/v1/responses", headers={"Authorization": f"Bearer {keys['bob']}"})).json()
        assert listed["data"] == []
