"""The inference router answers every chat completion under an id of its own, whatever the upstream sends."""

import logging

import polystack
from polystack.core.config import parse_run_config

MODEL = "scripted/scripted-model"
SAME = "chatcmpl-upstream-always-the-same"


def config(tmp_path):
    return parse_run_config({
        "distro_name": "minted-ids",
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted",
                                     "config": {"completion_id": SAME}}]},
        "storage": {
            "backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")},
                         "kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
            "stores": {"metadata": {"backend": "kv"}, "inference": {"backend": "sql"}},
        },
        "models": {"refresh_interval_seconds": 0},
    }, env={})


async def test_every_completion_is_stored_under_its_own_id_when_the_upstream_repeats_one(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    async with polystack.connect(config(tmp_path)) as stack:
        sent = {}
        for n in range(20):
            reply = await stack.openai.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": f"question {n}"}])
            sent[reply.id] = f"question {n}"
        assert len(sent) == 20 and SAME not in sent
        assert all(i.startswith("chatcmpl-") for i in sent)
        for completion_id, content in sent.items():
            stored = await stack.openai.chat.completions.retrieve(completion_id)
            assert stored.choices[0].message.content == content
        listed = await stack.openai.chat.completions.list(limit=100)
        assert {c.id for c in listed.data} == set(sent)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_every_chunk_of_a_stream_carries_the_minted_id_that_retrieves_it(tmp_path):
    async with polystack.connect(config(tmp_path)) as stack:
        ids = []
        for n in range(2):
            stream = await stack.openai.chat.completions.create(
                model=MODEL, stream=True, messages=[{"role": "user", "content": f"streamed {n}"}])
            chunk_ids = {chunk.id async for chunk in stream}
            assert len(chunk_ids) == 1 and SAME not in chunk_ids
            ids.append(chunk_ids.pop())
        assert ids[0] != ids[1]
        for n, completion_id in enumerate(ids):
            stored = await stack.openai.chat.completions.retrieve(completion_id)
            assert stored.choices[0].message.content == f"streamed {n}"


async def test_unstored_completions_get_minted_ids_too(tmp_path):
    async with polystack.connect(config(tmp_path)) as stack:
        replies = [await stack.openai.chat.completions.create(
            model=MODEL, store=False, messages=[{"role": "user", "content": "x"}]) for _ in range(2)]
        assert replies[0].id != replies[1].id and SAME not in {r.id for r in replies}
