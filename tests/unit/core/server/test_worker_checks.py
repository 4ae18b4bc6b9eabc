"""Several workers are refused on configs whose state one process would hold alone, naming the setting."""

from typing import Any

import pytest

from polystack.core.config import parse_run_config
from polystack.core.server.worker_checks import embedded_model_providers, shared_state_problems

SHARED = {"backends": {"kv": {"type": "kv_sqlite", "db_path": "/tmp/x/kv.db"},
                       "sql": {"type": "sql_sqlite", "db_path": "/tmp/x/sql.db"}},
          "stores": {"metadata": {"backend": "kv"}, "inference": {"backend": "sql"}}}


def config(storage: dict[str, Any] | None = None, **providers: list[dict[str, Any]]) -> Any:
    return parse_run_config({"distro_name": "x", "storage": storage if storage is not None else SHARED,
                             "providers": providers}, env={})


def test_a_config_on_files_and_databases_has_no_problem() -> None:
    assert shared_state_problems(config(inference=[{"provider_id": "s", "provider_type": "inline::scripted"}])) == []


@pytest.mark.parametrize(("storage", "named"), [
    ({}, "storage.stores.metadata is unset"),
    ({"backends": {"mem": {"type": "kv_memory"}}, "stores": {"metadata": {"backend": "mem"}}},
     "storage.stores.metadata uses backend 'mem' (kv_memory)"),
    ({"backends": {**SHARED["backends"], "ram": {"type": "sql_sqlite", "db_path": ":memory:"}},
      "stores": {"metadata": {"backend": "kv"}, "inference": {"backend": "ram"}}},
     "storage.stores.inference uses backend 'ram', an in-memory SQLite database"),
])
def test_state_held_in_one_process_is_named(storage: dict[str, Any], named: str) -> None:
    problems = shared_state_problems(config(storage))
    assert len(problems) == 1 and problems[0].startswith(named), problems


def test_vector_indexes_kept_in_one_process_are_named_with_the_fix_and_sqlite_vec_is_allowed() -> None:
    problems = shared_state_problems(config(vector_io=[
        {"provider_id": "f", "provider_type": "inline::faiss", "config": {"persist_dir": "/tmp/f"}},
        {"provider_id": "v", "provider_type": "inline::sqlite-vec", "config": {"db_path": "/tmp/v.db"}},
        {"provider_id": "scan", "provider_type": "inline::sqlite-vec",
         "config": {"db_path": "/tmp/w.db", "in_memory_index": False}},
    ]))
    assert len(problems) == 1  # sqlite-vec's in-memory copies catch up from the shared file: allowed
    assert "'f' (inline::faiss)" in problems[0] and "inline::sqlite-vec" in problems[0]


def test_embedded_models_are_listed_for_the_memory_warning() -> None:
    found = embedded_model_providers(config(inference=[
        {"provider_id": "s", "provider_type": "inline::scripted"},
        {"provider_id": "onnx", "provider_type": "inline::onnx"},
        {"provider_id": "oa", "provider_type": "remote::openai", "config": {"api_key": "k"}}]))
    assert found == ["onnx (inline::onnx)"]
