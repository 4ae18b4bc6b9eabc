"""Authentication providers over HTTP, against a real `polystack run` and real local identity providers.

JWTs from a local issuer (its JWKS rotated during the run), a custom auth endpoint, a team-shared resource
under the access policy, forged tokens refused with RFC 6750 challenges, an identity provider that is down
(503), no token in the server's log; and HTTPS with a self-signed certificate made here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import ssl
import time
from pathlib import Path

import httpx
import pytest
import yaml

from polystack.testing.child_process import ChildProcess
from polystack.testing.fake_identity import ISSUER, FakeIdentityProvider, b64url, new_key, self_signed_certificate
from polystack.testing.tcp_proxy import unused_port

from .conftest import POLYSTACK, ROOT

POLICY = [
    {"permit": {"actions": ["create", "read", "update", "delete"]}, "when": "user is owner"},
    {"permit": {"actions": ["read"]}, "when": "user in owners teams"},
]


def write_config(tmp_path: Path, provider_config: dict, **server: object) -> str:
    config = {
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
        "server": {"auth": {"provider_config": provider_config, "access_policy": POLICY}, **server},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture(scope="module")
def idp():
    with FakeIdentityProvider() as fake:
        yield fake


@pytest.fixture(scope="module")
def jwt_server(server_factory, tmp_path_factory, idp):  # type: ignore[no-untyped-def]
    provider = {"type": "oauth2_token", "issuer": ISSUER,
                "jwks": {"uri": f"{idp.base_url}/jwks.json", "unknown_kid_min_interval": 0}}
    return server_factory(write_config(tmp_path_factory.mktemp("jwt"), provider))


def as_(server, token: str | None) -> httpx.Client:  # type: ignore[no-untyped-def]
    return httpx.Client(base_url=server.base_url, timeout=30,
                        headers={"Authorization": f"Bearer {token}"} if token else {})


def upload(client: httpx.Client) -> str:
    response = client.post("/v1/files", data={"purpose": "assistants"}, files={"file": ("t.txt", b"team notes")})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def test_jwt_teams_share_a_resource_and_strangers_see_nothing(jwt_server, idp):
    alice, bob, eve = (as_(jwt_server, idp.mint(sub, groups=[team]))
                       for sub, team in (("alice", "blue"), ("bob", "blue"), ("eve", "red")))
    file_id = upload(alice)
    assert bob.get(f"/v1/files/{file_id}").status_code == 200
    assert eve.get(f"/v1/files/{file_id}").status_code == 404
    assert file_id in bob.get("/v1/files").text and file_id not in eve.get("/v1/files").text
    assert bob.delete(f"/v1/files/{file_id}").status_code == 403


def forgeries(idp: FakeIdentityProvider) -> dict[str, str]:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "polystack", "sub": "mallory", "iat": now, "exp": now + 300}
    body = b64url(json.dumps(claims).encode())
    head = b64url(json.dumps({"alg": "HS256", "kid": idp.key.kid}).encode()) + "." + body
    confused = head + "." + b64url(hmac.new(idp.key.public_pem(), head.encode(), hashlib.sha256).digest())
    none = b64url(json.dumps({"alg": "none", "kid": idp.key.kid}).encode()) + "." + body + "."
    return {"alg none": none, "HS256 with the public key": confused,
            "wrong signature": idp.mint("mallory", key=new_key(), headers={"kid": idp.key.kid}),
            "expired": idp.mint("mallory", iat=now - 900, nbf=now - 900, exp=now - 120),
            "wrong audience": idp.mint("mallory", aud="elsewhere"), "wrong issuer": idp.mint("mallory", iss="x")}


def test_forged_jwts_are_401s_with_a_challenge_and_never_echoed_or_logged(jwt_server, idp):
    tokens = forgeries(idp)
    for kind, token in tokens.items():
        response = as_(jwt_server, token).get("/v1/models")
        assert response.status_code == 401, kind
        assert 'error="invalid_token"' in response.headers["www-authenticate"], kind
        assert response.json()["error"]["type"] == "authentication_error"
        assert token not in response.text and token.split(".")[1] not in response.text
    missing = as_(jwt_server, None).get("/v1/models")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == 'Bearer realm="polystack"'
    assert as_(jwt_server, None).get("/v1/health").status_code == 200
    log = jwt_server.log()
    assert not [kind for kind, token in tokens.items() if token.split(".")[1] in log]


def test_a_jwks_rotation_during_the_run_admits_the_new_key_and_retires_the_old(jwt_server, idp):
    old = as_(jwt_server, idp.mint("alice"))
    assert old.get("/v1/models").status_code == 200
    fetches = idp.jwks_fetches()
    idp.rotate()
    new = as_(jwt_server, idp.mint("alice"))
    assert new.get("/v1/models").status_code == 200
    assert idp.jwks_fetches() == fetches + 1
    retired = old.get("/v1/models")
    assert retired.status_code == 401 and "unknown signing key" in retired.headers["www-authenticate"]


def test_an_identity_provider_that_is_down_is_503(jwt_server, idp):
    idp.fail_with(503)
    try:
        response = as_(jwt_server, idp.mint("alice", key=new_key())).get("/v1/models")  # its key must be fetched
    finally:
        idp.fail_with(None)
    assert response.status_code == 503 and response.json()["error"]["code"] == "service_unavailable"
    assert as_(jwt_server, idp.mint("alice")).get("/v1/models").status_code == 200


def test_a_custom_auth_endpoint_decides_over_http(server_factory, tmp_path, idp):
    server = server_factory(write_config(tmp_path, {"type": "custom", "endpoint": f"{idp.base_url}/custom-auth"}))
    token = idp.add_custom_token("dana", {"teams": ["red"]})
    assert as_(server, token).get("/v1/models").status_code == 200
    assert idp.custom_requests[-1]["request"]["path"] == "/v1/models"
    assert as_(server, "custom-nobody").get("/v1/models").status_code == 401
    assert token not in server.log()


def test_tls_serves_https_with_the_configured_certificate(tmp_path):
    certfile, keyfile = self_signed_certificate(tmp_path)
    keys = {"type": "api_keys", "keys": [{"key": "tls-key-1234", "principal": "alice"}]}
    config = write_config(tmp_path, keys, tls_certfile=str(certfile), tls_keyfile=str(keyfile))
    port = unused_port()
    url = f"https://127.0.0.1:{port}"
    trusted = ssl.create_default_context(cafile=str(certfile))
    server = ChildProcess("tls-server", [*POLYSTACK, "run", config, "--port", str(port)], ready_url=f"{url}/v1/health",
                          log_path=tmp_path / "server.log", stop_signal=signal.SIGINT, cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/v1/health", verify=trusted, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert server.process.poll() is None and time.monotonic() < deadline, server.log()
                time.sleep(0.2)
        with httpx.Client(base_url=url, verify=trusted, headers={"Authorization": "Bearer tls-key-1234"}) as c:
            assert c.get("/v1/models").status_code == 200
        with pytest.raises(httpx.ConnectError):  # not trusted without the certificate
            httpx.get(f"{url}/v1/health", timeout=5)
        with pytest.raises(httpx.HTTPError):  # and no plain HTTP on that port
            httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=5)
    finally:
        server.stop()
