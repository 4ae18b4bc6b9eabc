"""Authentication through the whole app, in-process: JWT callers under an access policy (team sharing),
401s in OpenAI's shape with RFC 6750 challenges, 503 when the identity provider is down, no token in any
log or body, the library's `as_user`, and CORS."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import polystack
from polystack.apis.datatypes import User
from polystack.core.config import parse_run_config
from polystack.testing.fake_identity import ISSUER, FakeIdentityProvider

TEAM_POLICY = [
    {"permit": {"actions": ["create", "read", "update", "delete"]}, "when": "user is owner"},
    {"permit": {"actions": ["read"]}, "when": "user in owners teams"},
]


def config(tmp_path: Path, provider_config: dict | None = None, **server: object):  # type: ignore[no-untyped-def]
    auth = {"provider_config": provider_config, "access_policy": TEAM_POLICY} if provider_config else None
    return parse_run_config({
        "distro_name": "authn",
        "providers": {
            "inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}],
            "files": [{"provider_id": "localfs", "provider_type": "inline::localfs",
                       "config": {"storage_dir": str(tmp_path / "files"),
                                  "metadata_store": {"backend": "sql", "table_name": "files"}}}],
        },
        "storage": {"backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")},
                                 "kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
                    "stores": {"metadata": {"backend": "kv"}, "inference": {"backend": "sql"}}},
        "models": {"refresh_interval_seconds": 0},
        "server": {**({"auth": auth} if auth else {}), **server},
    }, env={})


def jwks_auth(idp: FakeIdentityProvider) -> dict:
    return {"type": "oauth2_token", "issuer": ISSUER, "jwks": {"uri": f"{idp.base_url}/jwks.json"}}


@pytest.fixture
def idp():
    with FakeIdentityProvider() as fake:
        yield fake


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def upload(stack, headers: dict[str, str]) -> str:  # type: ignore[no-untyped-def]
    response = await stack.http.post("/v1/files", data={"purpose": "assistants"},
                                     files={"file": ("notes.txt", b"team notes")}, headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def test_jwt_attributes_drive_the_access_policy_team_members_read_strangers_see_nothing(idp, tmp_path):
    alice = bearer(idp.mint("alice", groups=["blue"]))
    bob = bearer(idp.mint("bob", groups=["blue"]))
    eve = bearer(idp.mint("eve", groups=["red"]))
    async with polystack.connect(config(tmp_path, jwks_auth(idp))) as stack:
        file_id = await upload(stack, alice)
        assert (await stack.http.get(f"/v1/files/{file_id}", headers=bob)).status_code == 200  # a teammate reads
        assert (await stack.http.get(f"/v1/files/{file_id}", headers=eve)).status_code == 404  # absent to others
        assert file_id not in (await stack.http.get("/v1/files", headers=eve)).text
        assert file_id in (await stack.http.get("/v1/files", headers=bob)).text
        assert (await stack.http.delete(f"/v1/files/{file_id}", headers=bob)).status_code == 403  # read only
        assert (await stack.http.delete(f"/v1/files/{file_id}", headers=alice)).status_code == 200


async def test_401s_are_openai_shaped_with_rfc6750_challenges_and_never_echo_the_token(idp, tmp_path, caplog,
                                                                                       capsys):
    caplog.set_level(logging.DEBUG)
    expired = idp.mint("alice", exp=1, iat=0, nbf=0)
    forged = idp.mint("alice", aud="other")
    async with polystack.connect(config(tmp_path, jwks_auth(idp))) as stack:
        missing = await stack.http.get("/v1/models", headers={"Authorization": ""})
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == 'Bearer realm="polystack"'
        assert missing.json()["error"]["type"] == "authentication_error"
        for token, why in ((expired, "token expired"), (forged, "wrong audience")):
            response = await stack.http.get("/v1/models", headers=bearer(token))
            assert response.status_code == 401
            challenge = response.headers["www-authenticate"]
            assert 'error="invalid_token"' in challenge and why in challenge
            error = response.json()["error"]
            assert set(error) == {"message", "type", "param", "code"} and error["code"] == "invalid_api_key"
            assert token not in response.text and token not in challenge
        ok = await stack.http.get("/v1/models", headers=bearer(idp.mint("alice")))
        assert ok.status_code == 200
        for path in ("/v1/health", "/v1/version"):
            assert (await stack.http.get(path, headers={"Authorization": ""})).status_code == 200
    logged = caplog.text + "".join(capsys.readouterr())
    for token in (expired, forged):
        assert token not in logged and token.split(".")[2] not in logged


async def test_an_identity_provider_that_is_down_is_503_for_the_caller(idp, tmp_path):
    async with polystack.connect(config(tmp_path, jwks_auth(idp))) as stack:
        idp.fail_with(503)
        response = await stack.http.get("/v1/models", headers=bearer(idp.mint("alice")))
        assert response.status_code == 503 and response.json()["error"]["code"] == "service_unavailable"
        assert "retry-after" in response.headers and "www-authenticate" not in response.headers


async def test_the_library_client_may_run_as_a_given_principal(idp, tmp_path):
    cfg = config(tmp_path, jwks_auth(idp))
    alice = User(principal="alice", attributes={"teams": ["blue"]})
    async with polystack.connect(cfg, as_user=alice) as stack:
        file_id = await upload(stack, {})
        listed = await stack.openai.files.list()
        assert [f.id for f in listed.data] == [file_id]
    async with polystack.connect(cfg, as_user=User(principal="eve", attributes={"teams": ["red"]})) as stack:
        assert (await stack.openai.files.list()).data == []
    async with polystack.connect(cfg, api_key=idp.mint("bob", groups=["blue"])) as stack:  # a token, as over HTTP
        assert [f.id for f in (await stack.openai.files.list()).data] == [file_id]
    with pytest.raises(ValueError, match="server's own principal"):
        polystack.connect(cfg, as_user=User(principal="polystack:system"))


CORS = {"allow_origins": ["https://app.example.com"], "allow_credentials": True, "max_age": 120}


async def test_cors_answers_preflights_before_authentication_and_marks_401s(tmp_path):
    keys = {"type": "api_keys", "keys": [{"key": "k-alice", "principal": "alice"}]}
    async with polystack.connect(config(tmp_path, keys, cors=CORS)) as stack:
        preflight = await stack.http.options("/v1/chat/completions", headers={
            "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://app.example.com"
        assert preflight.headers["access-control-allow-credentials"] == "true"
        assert preflight.headers["access-control-max-age"] == "120"
        refused = await stack.http.get("/v1/models", headers={"Origin": "https://app.example.com"})
        assert refused.status_code == 401  # the browser's script can read why
        assert refused.headers["access-control-allow-origin"] == "https://app.example.com"
        stranger = await stack.http.options("/v1/models", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
        assert stranger.status_code == 400 and "access-control-allow-origin" not in stranger.headers


async def test_cors_true_allows_localhost_pages_only_and_no_cors_sends_no_headers(tmp_path):
    async with polystack.connect(config(tmp_path, cors=True)) as stack:
        local = await stack.http.get("/v1/models", headers={"Origin": "http://localhost:5173"})
        assert local.headers["access-control-allow-origin"] == "http://localhost:5173"
        other = await stack.http.get("/v1/models", headers={"Origin": "https://example.com"})
        assert "access-control-allow-origin" not in other.headers
    async with polystack.connect(config(tmp_path / "none")) as stack:
        response = await stack.http.get("/v1/models", headers={"Origin": "http://localhost:5173"})
        assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(("server", "message"), [
    ({"cors": {"allow_origins": ["*"], "allow_credentials": True}}, "list the origins"),
    ({"tls_keyfile": "/etc/hostname"}, "go together"),
    ({"tls_certfile": "/nonexistent.pem", "tls_keyfile": "/etc/hostname"}, "no file at /nonexistent.pem"),
])
def test_unsafe_cors_and_incomplete_tls_settings_are_config_errors(tmp_path, server, message):
    with pytest.raises(Exception, match=message):
        config(tmp_path, **server)


async def _echo_principal(scope, receive, send):  # type: ignore[no-untyped-def]
    from polystack.core.request_context import request_context

    await receive()
    await send({"type": "websocket.accept"})
    user = request_context().user
    await send({"type": "websocket.send", "text": user.principal if user else "nobody"})
    await send({"type": "websocket.close", "code": 1000})


async def test_a_websocket_needs_the_same_credential_as_a_request():
    from polystack.core.access.config import AuthConfig
    from polystack.core.asgi_websocket import WebSocketRejected, connect_websocket
    from polystack.core.server.middleware import RequestContextMiddleware

    auth = AuthConfig.model_validate({"provider_config": {"type": "api_keys", "keys": [
        {"key": "k-alice", "principal": "alice"}]}})
    app = RequestContextMiddleware(_echo_principal, auth=auth)
    async with connect_websocket(app, "/v1/realtime", headers=bearer("k-alice")) as socket:
        assert await socket.recv() == "alice"
    for headers in ({}, bearer("k-wrong")):
        with pytest.raises(WebSocketRejected) as refused:
            async with connect_websocket(app, "/v1/realtime", headers=headers):
                pass
        assert refused.value.code == 1008 and "k-wrong" not in refused.value.reason


def test_tls_files_left_empty_by_their_environment_variables_mean_plain_http(tmp_path):
    server = config(tmp_path, tls_certfile="", tls_keyfile="", tls_cafile="").server
    assert server.tls_certfile is None and server.tls_keyfile is None and server.tls_cafile is None
