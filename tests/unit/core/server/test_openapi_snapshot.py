"""/openapi.json of the starter-shaped app is pinned: any change to the documented API surface fails here.

When the change is intended, regenerate the snapshot and commit it with the change:

    POLYSTACK_UPDATE_OPENAPI_SNAPSHOT=1 pytest tests/unit/core/server/test_openapi_snapshot.py
"""

import json
import os
from pathlib import Path

import pytest
import yaml

import polystack
from polystack.apis.catalog import CATALOG
from polystack.core.config import parse_run_config

SNAPSHOT = Path(__file__).with_name("openapi.snapshot.json")
UPDATE = os.environ.get("POLYSTACK_UPDATE_OPENAPI_SNAPSHOT") == "1"
STARTER = Path(polystack.__file__).parent / "distributions" / "starter" / "config.yaml"
STARTER_APIS = ["inference", "files", "vector_io", "tool_runtime", "conversations", "prompts", "responses",
                "safety", "agents"]


def starter_shaped(tmp_path):
    """The starter distribution's APIs, on the scripted provider and throwaway SQLite stores."""
    sql = {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")}
    return parse_run_config({
        "distro_name": "starter",
        "apis": STARTER_APIS,
        "providers": {
            "inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}],
            "files": [{"provider_id": "localfs", "provider_type": "inline::localfs",
                       "config": {"storage_dir": str(tmp_path / "files"), "metadata_store": {"backend": "sql"}}}],
            "vector_io": [{"provider_id": "sqlite-vec", "provider_type": "inline::sqlite-vec",
                           "config": {"db_path": str(tmp_path / "vec.db")}}],
            "tool_runtime": [{"provider_id": "brave-search", "provider_type": "remote::brave-search"}],
            "safety": [{"provider_id": "llama-guard", "provider_type": "inline::llama-guard"}],
        },
        "storage": {"backends": {"sql": sql, "kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
                    "stores": {"metadata": {"backend": "kv"}, "inference": {"backend": "sql"},
                               "vector_stores": {"backend": "sql"}, "conversations": {"backend": "sql"},
                               "prompts": {"backend": "sql"},
                               "responses": {"backend": "sql"}, "agents": {"backend": "sql"}}},
        "models": {"refresh_interval_seconds": 0},
    }, env={})


@pytest.fixture
async def document(tmp_path):
    assert sorted(yaml.safe_load(STARTER.read_text())["apis"]) == sorted(STARTER_APIS), (
        "the starter distribution serves other APIs now: give each a provider in starter_shaped()")
    async with polystack.connect(starter_shaped(tmp_path)) as stack:
        assert set(STARTER_APIS) <= set(stack.stack.impls)
        schema = (await stack.http.get("/openapi.json")).json()
    schema["info"]["version"] = "<polystack version>"  # a release is not an API change
    return schema


async def test_openapi_json_matches_the_committed_snapshot(document):
    rendered = json.dumps(document, indent=1, sort_keys=True) + "\n"
    if UPDATE:
        SNAPSHOT.write_text(rendered)
    assert SNAPSHOT.exists(), "no snapshot yet: run with POLYSTACK_UPDATE_OPENAPI_SNAPSHOT=1"
    assert json.loads(SNAPSHOT.read_text()) == document, (
        "/openapi.json changed. If intended, regenerate: "
        "POLYSTACK_UPDATE_OPENAPI_SNAPSHOT=1 pytest tests/unit/core/server/test_openapi_snapshot.py")


async def test_every_route_documents_its_success_body(document):
    undocumented = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            success = {code: body for code, body in operation["responses"].items() if code.startswith("2")}
            if not success:
                undocumented.append(f"{method.upper()} {path}: no 2xx response")
            for code, body in success.items():
                schemas = [media.get("schema", {}) for media in body.get("content", {}).values()]
                if code != "204" and (not schemas or any(schema in ({}, {"type": "object"}) for schema in schemas)):
                    undocumented.append(f"{method.upper()} {path} {code}: no body schema")
    assert undocumented == []


def test_no_route_validates_or_reserialises_its_response():
    """Bodies are documented with `responses=`, never `response_model=`: the hot path serialises once."""
    for spec in CATALOG.values():
        if spec.routes is None:
            continue
        for route in spec.router().routes:
            assert getattr(route, "response_model", None) is None, f"{route.path} has a response_model"
