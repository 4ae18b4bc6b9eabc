"""The prompts API over HTTP (a real `polystack run`) and through the in-process client, with two users.

The server has `server.auth` api keys for alice and bob and one prompt declared by its run config. Every
response bob gets about alice's prompt is compared with the response about a prompt that does not exist:
any difference (or her text in it) is a leak, and the test counts the routes probed and the leaks found.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml

import polystack
from polystack.apis.datatypes import Api
from polystack.apis.prompts.protocol import Prompts
from polystack.core.prompts import render

ALICE, BOB = "alice-key-prompts-1", "bob-key-prompts-2"
ENV = {"ALICE_KEY": ALICE, "BOB_KEY": BOB}
CONFIGURED = "pmpt_" + "0a" * 24
SECRET = "alice's secret instructions"


def write_config(tmp_path: Path) -> str:
    config = {
        "distro_name": "prompts",
        "apis": ["inference", "prompts"],
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}]},
        "storage": {"backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")}},
                    "stores": {"prompts": {"backend": "sql", "table_name": "prompts"}}},
        "registered_resources": {"prompts": [{"prompt_id": CONFIGURED, "prompt": "Be {{ tone }}.",
                                              "variables": ["tone"]}]},
        "models": {"refresh_interval_seconds": 0},
        "server": {"auth": {"provider_config": {"type": "api_keys", "keys": [
            {"key": "${env.ALICE_KEY}", "principal": "alice"},
            {"key": "${env.BOB_KEY}", "principal": "bob"},
        ]}}},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture(scope="module")
def config_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_config(tmp_path_factory.mktemp("prompts"))


@pytest.fixture(scope="module")
def server(server_factory, config_path):  # type: ignore[no-untyped-def]
    return server_factory(config_path, env=ENV)


def client(server, key: str | None) -> httpx.Client:  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=server.base_url, headers=headers, timeout=60)


def ok(response: httpx.Response, status: int = 200) -> dict:  # type: ignore[type-arg]
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


def error(response: httpx.Response, status: int) -> dict:  # type: ignore[type-arg]
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert set(body) == {"message", "type", "param", "code"}
    return body  # type: ignore[no-any-return]


def test_versions_defaults_and_delete_over_http(server) -> None:  # type: ignore[no-untyped-def]
    alice = client(server, ALICE)
    created = ok(alice.post("/v1/prompts", json={"prompt": "Hello {{ name }}", "variables": ["name"]}))
    pid = created["prompt_id"]
    assert created == {"prompt": "Hello {{ name }}", "version": 1, "prompt_id": pid, "variables": ["name"],
                       "is_default": True}
    assert ok(alice.get(f"/v1/prompts/{pid}")) == created
    second = ok(alice.post(f"/v1/prompts/{pid}", json={"prompt": "Hi {{ name }}", "version": 1,
                                                        "variables": ["name"]}))
    assert (second["version"], second["is_default"]) == (2, True)
    third = ok(alice.put(f"/v1/prompts/{pid}", json={"prompt": "Yo", "version": 2, "set_as_default": False}))
    assert (third["version"], third["is_default"], third["variables"]) == (3, False, [])
    stale = error(alice.post(f"/v1/prompts/{pid}", json={"prompt": "late", "version": 2}), 409)
    assert stale["param"] == "version" and "3" in stale["message"]
    assert ok(alice.get(f"/v1/prompts/{pid}"))["version"] == 2
    assert ok(alice.get(f"/v1/prompts/{pid}", params={"version": 1}))["is_default"] is False
    versions = ok(alice.get(f"/v1/prompts/{pid}/versions"))["data"]
    assert [(v["version"], v["is_default"]) for v in versions] == [(1, False), (2, True), (3, False)]
    assert ok(alice.post(f"/v1/prompts/{pid}/set-default-version", json={"version": 3}))["is_default"] is True
    assert ok(alice.get(f"/v1/prompts/{pid}"))["version"] == 3
    assert ok(alice.put(f"/v1/prompts/{pid}/set-default-version", json={"version": 1}))["version"] == 1
    listed = {p["prompt_id"]: p for p in ok(alice.get("/v1/prompts"))["data"]}
    assert listed[pid]["version"] == 1 and listed[pid]["is_default"] and CONFIGURED in listed
    assert alice.delete(f"/v1/prompts/{pid}").status_code == 204
    assert error(alice.get(f"/v1/prompts/{pid}"), 404)["param"] == "prompt_id"
    assert pid not in {p["prompt_id"] for p in ok(alice.get("/v1/prompts"))["data"]}


@pytest.mark.parametrize(("method", "path", "body", "param", "named"), [
    ("POST", "/v1/prompts", {"prompt": "Hi {{ who }}"}, "variables", "'who'"),
    ("POST", "/v1/prompts", {"prompt": "Hi", "variables": ["a b"]}, "variables[0]", "'a b'"),
    ("POST", "/v1/prompts", {"prompt": "Hi", "colour": "red"}, "colour", "colour"),
    ("POST", "/v1/prompts", {"variables": []}, "prompt", "prompt"),
    ("POST", "/v1/prompts/{pid}", {"prompt": "x"}, "version", "version"),
    ("POST", "/v1/prompts/{pid}", {"prompt": "x", "version": "1"}, "version", "version"),
    ("POST", "/v1/prompts/{pid}", {"prompt": "x", "version": 0}, "version", "version"),
    ("POST", "/v1/prompts/{pid}", {"prompt": "{{ v }}", "version": 1}, "variables", "'v'"),
    ("GET", "/v1/prompts/{pid}?version=zero", None, "version", "version"),
    ("POST", "/v1/prompts/{pid}/set-default-version", {}, "version", "version"),
])
def test_bad_input_is_a_400_naming_the_field(server, method, path, body, param, named) -> None:  # type: ignore[no-untyped-def]
    alice = client(server, ALICE)
    pid = ok(alice.post("/v1/prompts", json={"prompt": "v1"}))["prompt_id"]
    body_error = error(alice.request(method, path.format(pid=pid), json=body), 400)
    assert body_error["param"] == param and named in body_error["message"]
    assert len(ok(alice.get(f"/v1/prompts/{pid}/versions"))["data"]) == 1


def operations(pid: str) -> list[tuple[str, str, dict[str, object] | None]]:
    """Every prompts route that reads, lists or changes one prompt, and the list."""
    return [
        ("GET", "/v1/prompts", None),
        ("GET", f"/v1/prompts/{pid}", None),
        ("GET", f"/v1/prompts/{pid}?version=1", None),
        ("GET", f"/v1/prompts/{pid}?version=2", None),
        ("GET", f"/v1/prompts/{pid}/versions", None),
        ("POST", f"/v1/prompts/{pid}", {"prompt": "taken over", "version": 2}),
        ("PUT", f"/v1/prompts/{pid}", {"prompt": "taken over", "version": 3}),  # after the POST, for its owner
        ("POST", f"/v1/prompts/{pid}/set-default-version", {"version": 1}),
        ("PUT", f"/v1/prompts/{pid}/set-default-version", {"version": 1}),
        ("DELETE", f"/v1/prompts/{pid}", None),
    ]


def test_another_users_prompts_cannot_be_read_listed_updated_defaulted_or_deleted(server) -> None:  # type: ignore[no-untyped-def]
    alice, bob, anonymous = client(server, ALICE), client(server, BOB), client(server, None)
    pid = ok(alice.post("/v1/prompts", json={"prompt": SECRET}))["prompt_id"]
    ok(alice.post(f"/v1/prompts/{pid}", json={"prompt": SECRET + " v2", "version": 1}))
    unknown = pid[:-6] + "000000"
    probes, found = 0, []
    for (method, path, body), (_, other_path, other_body) in zip(operations(pid), operations(unknown), strict=True):
        for caller, expected in ((bob, (404, 200)), (anonymous, (401,))):
            seen = caller.request(method, path, json=body)
            baseline = caller.request(method, other_path, json=other_body)
            probes += 1
            if (seen.status_code, seen.text.replace(pid, unknown)) != (baseline.status_code, baseline.text):
                found.append(f"{method} {path}: {seen.status_code} {seen.text[:200]} vs {baseline.text[:200]}")
            if SECRET in seen.text:
                found.append(f"{method} {path}: her text")
            assert seen.status_code in expected, (method, path, seen.status_code, seen.text)
    assert probes == 2 * len(operations(pid)) == 20 and found == []
    assert pid not in ok(bob.get("/v1/prompts")).__repr__()
    versions = ok(alice.get(f"/v1/prompts/{pid}/versions"))["data"]  # untouched by bob
    assert [(v["version"], v["prompt"], v["is_default"]) for v in versions] == [
        (1, SECRET, False), (2, SECRET + " v2", True)]
    for method, path, body in operations(pid):  # and every route works for her
        assert alice.request(method, path, json=body).status_code in (200, 204), (method, path)


def test_the_configured_prompt_is_readable_by_every_user_and_changed_by_none(server) -> None:  # type: ignore[no-untyped-def]
    for key in (ALICE, BOB):
        user = client(server, key)
        assert ok(user.get(f"/v1/prompts/{CONFIGURED}"))["prompt"] == "Be {{ tone }}."
        assert CONFIGURED in {p["prompt_id"] for p in ok(user.get("/v1/prompts"))["data"]}
        for method, path, body in operations(CONFIGURED)[5:]:
            assert error(user.request(method, path, json=body), 403)["code"] == "access_denied", (method, path)
    assert len(ok(client(server, BOB).get(f"/v1/prompts/{CONFIGURED}/versions"))["data"]) == 1


def test_routes_are_listed_and_documented_as_llama_stack_publishes_them(server) -> None:  # type: ignore[no-untyped-def]
    routes = {(r["route"], r["method"]) for r in ok(client(server, ALICE).get("/v1/inspect/routes"))["data"]}
    assert {("/v1/prompts", "GET"), ("/v1/prompts", "POST"), ("/v1/prompts/{prompt_id}", "POST"),
            ("/v1/prompts/{prompt_id}", "PUT"), ("/v1/prompts/{prompt_id}/set-default-version", "POST")} <= routes
    document = ok(client(server, ALICE).get("/openapi.json"))
    assert set(document["paths"]["/v1/prompts/{prompt_id}"]) == {"get", "post", "delete"}
    assert set(document["paths"]["/v1/prompts/{prompt_id}/set-default-version"]) == {"post"}


async def test_the_in_process_client_serves_the_same_prompts_as_the_server(server, config_path) -> None:  # type: ignore[no-untyped-def]
    made_over_http = ok(client(server, BOB).post("/v1/prompts", json={"prompt": "shared db {{ x }}",
                                                                      "variables": ["x"]}))
    async with polystack.connect(config_path, env=ENV, api_key=BOB) as stack:
        got = await stack.http.get(f"/v1/prompts/{made_over_http['prompt_id']}")
        assert got.status_code == 200 and got.json() == made_over_http
        created = (await stack.http.post("/v1/prompts", json={"prompt": "{{ a }} and {{ b }}",
                                                              "variables": ["a", "b"]})).json()
        updated = await stack.http.put(f"/v1/prompts/{created['prompt_id']}",
                                       json={"prompt": "{{ a }} or {{ b }}", "version": 1, "variables": ["a", "b"]})
        assert updated.status_code == 200 and updated.json()["version"] == 2
        assert (await stack.http.get(f"/v1/prompts/{CONFIGURED}")).status_code == 200
        with_alices_key = await stack.http.get("/v1/prompts", headers={"Authorization": f"Bearer {ALICE}"})
        assert created["prompt_id"] not in with_alices_key.text
        # what the Responses engine does with `prompt: {id, variables}`
        prompts = stack.stack.impls.require(Api.prompts, Prompts)
        assert render(await prompts.get_prompt(CONFIGURED, None), {"tone": "brief"}) == "Be brief."
    # the server, on the same database, sees what the in-process client made
    assert ok(client(server, BOB).get(f"/v1/prompts/{created['prompt_id']}"))["prompt"] == "{{ a }} or {{ b }}"
