"""Access control over HTTP: two users (alice, bob) and an anonymous caller against every resource type.

A real `polystack run` with `server.auth` api_keys. Every response bob or an anonymous caller gets is
searched for what alice created; the test counts those leaks (there must be none) and the probes.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml

ALICE, BOB, CAROL = "alice-key-4f1c0b", "bob-key-9d2e77", "carol-key-31aa08"
ENV = {"ALICE_KEY": ALICE, "BOB_KEY": BOB, "CAROL_KEY": CAROL}
CONFIGURED_ALIAS = "shared-chat"


def write_config(tmp_path: Path, access_policy: list[dict[str, object]] | None = None) -> str:
    config = {
        "distro_name": "access",
        "providers": {
            "inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}],
            "files": [{"provider_id": "localfs", "provider_type": "inline::localfs",
                       "config": {"storage_dir": str(tmp_path / "files"),
                                  "metadata_store": {"backend": "sql", "table_name": "files"}}}],
            "vector_io": [{"provider_id": "sqlite-vec", "provider_type": "inline::sqlite-vec",
                           "config": {"db_path": str(tmp_path / "vec.db")}}],
        },
        "storage": {
            "backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")},
                         "kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
            "stores": {"metadata": {"backend": "kv"}, "inference": {"backend": "sql"},
                       "vector_stores": {"backend": "sql"}},
        },
        "vector_stores": {"default_provider_id": "sqlite-vec",
                          "default_embedding_model": "scripted/scripted-embedding"},
        "registered_resources": {"models": [{"model_id": CONFIGURED_ALIAS, "provider_id": "scripted",
                                             "provider_model_id": "scripted-model"}]},
        "models": {"refresh_interval_seconds": 0},
        "server": {"auth": {
            "provider_config": {"type": "api_keys", "keys": [
                {"key": "${env.ALICE_KEY}", "principal": "alice", "attributes": {"roles": ["user"], "teams": ["blue"]}},
                {"key": "${env.BOB_KEY}", "principal": "bob", "attributes": {"roles": ["user"], "teams": ["red"]}},
                {"key": "${env.CAROL_KEY}", "principal": "carol",
                 "attributes": {"roles": ["admin"], "teams": ["blue"]}},
            ]},
            "access_policy": access_policy or [],
        }},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture(scope="module")
def server(server_factory, tmp_path_factory):  # type: ignore[no-untyped-def]
    return server_factory(write_config(tmp_path_factory.mktemp("access")), env=ENV)


def client(server, key: str | None) -> httpx.Client:  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=server.base_url, headers=headers, timeout=60)


def create_everything(alice: httpx.Client) -> dict[str, str]:
    """One resource of every type, made by alice; returns their ids."""
    completion = alice.post("/v1/chat/completions", json={
        "model": "scripted/scripted-model", "messages": [{"role": "user", "content": "alice's secret"}]})
    assert completion.status_code == 200, completion.text
    file = alice.post("/v1/files", data={"purpose": "assistants"}, files={"file": ("a.txt", b"alice notes here")})
    assert file.status_code == 200, file.text
    store = alice.post("/v1/vector_stores", json={"name": "alice-store"})
    assert store.status_code == 200, store.text
    attached = alice.post(f"/v1/vector_stores/{store.json()['id']}/files", json={"file_id": file.json()["id"]})
    assert attached.status_code == 200, attached.text
    batch = alice.post(f"/v1/vector_stores/{store.json()['id']}/file_batches", json={"file_ids": [file.json()["id"]]})
    assert batch.status_code == 200, batch.text
    alias = alice.post("/v1/models", json={"model_id": "alice-alias", "provider_id": "scripted",
                                           "provider_model_id": "scripted-model"})
    assert alias.status_code == 200, alias.text
    return {"completion": completion.json()["id"], "file": file.json()["id"], "store": store.json()["id"],
            "batch": batch.json()["id"], "alias": "alice-alias"}


def operations(ids: dict[str, str]) -> list[tuple[str, str, dict[str, object] | None]]:
    """Every read, list, update and delete route over alice's resources."""
    c, f, s, b, a = ids["completion"], ids["file"], ids["store"], ids["batch"], ids["alias"]
    return [
        ("GET", "/v1/chat/completions", None),
        ("GET", f"/v1/chat/completions/{c}", None),
        ("GET", f"/v1/chat/completions/{c}/messages", None),
        ("POST", f"/v1/chat/completions/{c}", {"metadata": {"by": "intruder"}}),
        ("DELETE", f"/v1/chat/completions/{c}", None),
        ("GET", "/v1/vector_stores", None),
        ("GET", f"/v1/vector_stores/{s}", None),
        ("POST", f"/v1/vector_stores/{s}", {"name": "taken over"}),
        ("POST", f"/v1/vector_stores/{s}/search", {"query": "notes"}),
        ("GET", f"/v1/vector_stores/{s}/files", None),
        ("GET", f"/v1/vector_stores/{s}/files/{f}", None),
        ("GET", f"/v1/vector_stores/{s}/files/{f}/content", None),
        ("POST", f"/v1/vector_stores/{s}/files/{f}", {"attributes": {"by": "intruder"}}),
        ("GET", f"/v1/vector_stores/{s}/file_batches/{b}", None),
        ("GET", f"/v1/vector_stores/{s}/file_batches/{b}/files", None),
        ("POST", f"/v1/vector_stores/{s}/file_batches/{b}/cancel", None),
        ("POST", f"/v1/vector_stores/{s}/file_batches", {"file_ids": [f]}),
        ("POST", "/v1/vector-io/query", {"vector_store_id": s, "query": "notes"}),
        ("POST", "/v1/vector-io/insert", {"vector_store_id": s, "chunks": [{"content": "planted", "metadata": {}}]}),
        ("POST", f"/v1/vector_stores/{s}/files", {"file_id": f}),
        ("DELETE", f"/v1/vector_stores/{s}/files/{f}", None),
        ("DELETE", f"/v1/vector_stores/{s}", None),
        ("GET", "/v1/files", None),
        ("GET", f"/v1/files/{f}", None),
        ("GET", f"/v1/files/{f}/content", None),
        ("DELETE", f"/v1/files/{f}", None),
        ("GET", "/v1/models", None),
        ("GET", f"/v1/models/{a}", None),
        ("POST", "/v1/chat/completions", {"model": a, "messages": [{"role": "user", "content": "hi"}]}),
        ("DELETE", f"/v1/models/{a}", None),
    ]


def unknown_ids(ids: dict[str, str]) -> dict[str, str]:
    """Ids of the same shape that name nothing."""
    return {name: value[:-6] + "000000" for name, value in ids.items()}


def leaks(seen: httpx.Response, baseline: httpx.Response, ids: dict[str, str], unknown: dict[str, str]) -> list[str]:
    """How the response about alice's resource differs from the one about resources that do not exist:
    any difference hints that hers exist. Her content must not appear either."""
    text = seen.text
    for name, value in ids.items():
        text = text.replace(value, unknown[name])
    found = [] if (seen.status_code, text) == (baseline.status_code, baseline.text) else [
        f"{seen.status_code} {seen.text[:200]} vs {baseline.status_code} {baseline.text[:200]}"]
    return found + [word for word in ("alice notes", "alice's secret") if word in seen.text]


def test_other_users_and_anonymous_callers_see_nothing_of_alices(server):  # type: ignore[no-untyped-def]
    alice, bob, anonymous, wrong = (client(server, key) for key in (ALICE, BOB, None, "not-a-key"))
    ids = create_everything(alice)
    unknown = unknown_ids(ids)
    probes, found = 0, []
    for (method, path, body), (_, other_path, other_body) in zip(operations(ids), operations(unknown), strict=True):
        for caller, expected in ((bob, (404, 200, 204)), (anonymous, (401,)), (wrong, (401,))):
            response = caller.request(method, path, json=body)
            baseline = caller.request(method, other_path, json=other_body)
            probes += 1
            found += [f"{method} {path}: {leak}" for leak in leaks(response, baseline, ids, unknown)]
            assert response.status_code in expected, (method, path, response.status_code, response.text)
            if response.status_code >= 400:
                assert set(response.json()["error"]) >= {"message", "type", "param", "code"}
    assert probes == 3 * len(operations(ids)) and found == []
    # alice still has everything, untouched by bob's updates and deletes
    assert alice.get(f"/v1/chat/completions/{ids['completion']}").json().get("metadata") != {"by": "intruder"}
    assert alice.get(f"/v1/vector_stores/{ids['store']}").json()["name"] == "alice-store"
    assert alice.get(f"/v1/vector_stores/{ids['store']}/files/{ids['file']}").status_code == 200
    assert alice.get(f"/v1/files/{ids['file']}").status_code == 200
    assert "alice-alias" in {m["id"] for m in alice.get("/v1/models").json()["data"]}
    for method, path, body in operations(ids):  # and every operation works for her
        response = alice.request(method, path, json=body)
        assert response.status_code in (200, 204), (method, path, response.text)
    assert "planted" not in alice.post("/v1/vector-io/query", json={"vector_store_id": ids["store"],
                                                                    "query": "planted"}).text


def test_lists_hold_only_the_callers_own_and_the_configured(server):  # type: ignore[no-untyped-def]
    alice, bob = client(server, ALICE), client(server, BOB)
    mine = bob.post("/v1/vector_stores", json={"name": "bob-store"}).json()["id"]
    alices = alice.post("/v1/vector_stores", json={"name": "alice-2"}).json()["id"]
    assert mine in {s["id"] for s in bob.get("/v1/vector_stores").json()["data"]}
    assert alices not in {s["id"] for s in bob.get("/v1/vector_stores").json()["data"]}
    assert CONFIGURED_ALIAS in {m["id"] for m in bob.get("/v1/models").json()["data"]}


def test_what_the_run_config_declares_is_readable_by_all_and_changeable_by_none(server):  # type: ignore[no-untyped-def]
    bob = client(server, BOB)
    assert bob.get(f"/v1/models/{CONFIGURED_ALIAS}").status_code == 200
    reply = bob.post("/v1/chat/completions", json={"model": CONFIGURED_ALIAS,
                                                   "messages": [{"role": "user", "content": "hi"}]})
    assert reply.status_code == 200
    deleted = bob.delete(f"/v1/models/{CONFIGURED_ALIAS}")
    assert deleted.status_code == 403 and deleted.json()["error"]["code"] == "access_denied"
    taken = bob.post("/v1/models", json={"model_id": CONFIGURED_ALIAS, "provider_id": "scripted",
                                         "provider_model_id": "scripted-model"})
    assert taken.status_code == 409
    assert bob.get(f"/v1/models/{CONFIGURED_ALIAS}").status_code == 200


def test_a_missing_or_wrong_key_is_401_and_health_needs_none(server):  # type: ignore[no-untyped-def]
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {ALICE}"}):
        response = httpx.get(f"{server.base_url}/v1/models", headers=headers)
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["code"] == "invalid_api_key" and error["param"] == "Authorization"
        assert ALICE not in response.text
    assert httpx.get(f"{server.base_url}/v1/health").status_code == 200
    assert httpx.get(f"{server.base_url}/v1/version").status_code == 200


def test_keys_never_reach_the_log(server):  # type: ignore[no-untyped-def]
    httpx.get(f"{server.base_url}/v1/models", headers={"Authorization": f"Bearer {ALICE}"})
    log = Path(server.log_path).read_text()
    assert ALICE not in log and BOB not in log


@pytest.fixture(scope="module")
def team_server(server_factory, tmp_path_factory):  # type: ignore[no-untyped-def]
    policy = [
        {"forbid": {"actions": ["create", "delete"], "resource": "vector_store::*"},
         "unless": "user with admin in roles", "description": "only admins create or delete vector stores"},
        {"permit": {"actions": ["create", "read", "update", "delete"]}, "when": "user is owner"},
        {"permit": {"actions": ["read"]}, "when": "user in owners teams", "description": "teammates read"},
    ]
    return server_factory(write_config(tmp_path_factory.mktemp("team"), policy), env=ENV)


def test_configured_rules_decide_and_a_forbidden_action_is_403(team_server):  # type: ignore[no-untyped-def]
    alice, bob, carol = (client(team_server, key) for key in (ALICE, BOB, CAROL))
    refused = alice.post("/v1/vector_stores", json={"name": "x"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "access_denied"
    store = carol.post("/v1/vector_stores", json={"name": "carols"}).json()["id"]  # an admin may
    file = alice.post("/v1/files", data={"purpose": "assistants"}, files={"file": ("a.txt", b"team blue")}).json()["id"]
    assert alice.get(f"/v1/vector_stores/{store}").status_code == 200  # a teammate reads
    assert alice.post(f"/v1/vector_stores/{store}/files", json={"file_id": file}).status_code == 403  # not writes
    assert alice.post("/v1/vector-io/insert", json={"vector_store_id": store,
                                                    "chunks": [{"content": "x", "metadata": {}}]}).status_code == 403
    assert alice.delete(f"/v1/vector_stores/{store}").status_code == 403
    assert carol.get(f"/v1/files/{file}").status_code == 200
    assert carol.delete(f"/v1/files/{file}").status_code == 403
    assert bob.get(f"/v1/vector_stores/{store}").status_code == 404  # another team: unseen
    assert bob.get(f"/v1/files/{file}").status_code == 404
    assert file not in json.dumps(bob.get("/v1/files").json())
    assert carol.get(f"/v1/vector_stores/{store}").json()["file_counts"]["total"] == 0
    assert carol.delete(f"/v1/vector_stores/{store}").status_code == 200
