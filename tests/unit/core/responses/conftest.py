"""A stack with the scripted model and the Responses API on SQLite, built per test from its own script."""

from __future__ import annotations

from typing import Any

import pytest
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

import polystack
from polystack.core.config import parse_run_config

MODEL = "scripted/scripted-model"
EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)


def responses_config(tmp_path, replies: list[dict[str, Any]], *, vector_io: bool = False,
                     durability: str = "write_behind", **extra: Any):
    providers: dict[str, Any] = {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted",
                                                "config": {"replies": replies}}]}
    apis = ["inference", "responses"]
    stores: dict[str, Any] = {"responses": {"backend": "sql", "durability": durability}, "metadata": {"backend": "kv"}}
    if vector_io:
        apis[1:1] = ["files", "vector_io"]
        files = {"storage_dir": str(tmp_path / "files"), "metadata_store": {"backend": "sql"}}
        providers["files"] = [{"provider_id": "localfs", "provider_type": "inline::localfs", "config": files}]
        providers["vector_io"] = [{"provider_id": "sqlite-vec", "provider_type": "inline::sqlite-vec",
                                   "config": {"db_path": str(tmp_path / "vec.db")}}]
        stores["vector_stores"] = {"backend": "sql"}
    return parse_run_config({
        "distro_name": "responses-test",
        "apis": apis,
        "providers": providers,
        "storage": {"backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")},
                                 "kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
                    "stores": stores},
        "vector_stores": {"default_embedding_model": "scripted/scripted-embedding"},
        "models": {"refresh_interval_seconds": 0},
        **extra,
    }, env={})


@pytest.fixture
def connect(tmp_path):
    """`async with connect(replies) as stack:` a stack whose scripted model plays `replies` in order."""

    def open_stack(replies: list[dict[str, Any]], **options: Any):
        return polystack.connect(responses_config(tmp_path, replies, **options))

    return open_stack


def valid(response: Any) -> Response:
    """The response as OpenAI's SDK validates it (strictly, from its JSON)."""
    data = response if isinstance(response, dict) else response.model_dump(mode="json", by_alias=True)
    return Response.model_validate(data)


def check_events(events: list[Any]) -> list[str]:
    """Every event validated against the SDK's event union, numbered 0, 1, 2...; returns their types."""
    for number, event in enumerate(events):
        data = event if isinstance(event, dict) else event.model_dump(mode="json", by_alias=True)
        EVENTS.validate_python(data)
        assert data["sequence_number"] == number
    return [e["type"] if isinstance(e, dict) else e.type for e in events]


class Recorder:
    """An inference hook that keeps every chat request the engine makes (what the model was sent)."""

    def __init__(self) -> None:
        self.requests: list[Any] = []

    async def before(self, call: Any) -> None:
        if call.kind == "chat_completion":
            self.requests.append(call.request)

    async def on_chunk(self, call: Any, chunk: Any) -> Any:
        return chunk

    async def after(self, call: Any) -> None:
        return None


def record(stack: Any) -> Recorder:
    recorder = Recorder()
    stack.stack.impls["inference"].hooks.add(recorder)
    return recorder


def call(name: str, arguments: str = "{}") -> dict[str, Any]:
    """A scripted reply that calls one tool."""
    return {"tool_calls": [{"name": name, "arguments": arguments}]}
