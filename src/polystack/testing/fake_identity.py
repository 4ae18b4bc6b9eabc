"""A fake identity provider for auth tests: a real local HTTP server, written from the public specs.

One threaded server on 127.0.0.1 plays four parts:

- an OAuth 2 / OIDC issuer: `GET /jwks.json` publishes the public half of RSA keys it generates (RFC 7517),
  `mint(...)` signs JWTs with the current key (RFC 7519), `rotate()` replaces the key on command;
- an RFC 7662 introspection endpoint, `POST /introspect` (client credentials by HTTP Basic or form
  fields), for opaque tokens made with `issue_opaque(...)`;
- GitHub's REST API (`GET /user`, `/user/orgs`, `/user/teams`, Bearer tokens, "Bad credentials" 401s,
  rate-limit 403s), for users added with `add_github_user(...)`;
- a Llama Stack style custom auth endpoint, `POST /custom-auth` ({api_key, request} -> {principal, attributes}),
  for tokens added with `add_custom_token(...)`.

`fail_with(503)` makes every endpoint answer that status until `fail_with(None)`; `requests` records
the paths asked, so tests can count JWKS fetches. `FakeIdentityProvider(tls=(certfile, keyfile))` serves
HTTPS (`self_signed_certificate` makes a pair for 127.0.0.1).
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from polystack.testing.loopback_server import Answer, LoopbackJsonServer

ISSUER = "https://identity.fake.test"
AUDIENCE = "polystack"
CLIENT_ID, CLIENT_SECRET = "polystack-server", "fake-client-secret-2b7e"


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey

    def public_jwk(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass
class GitHubUser:
    login: str
    orgs: list[str] = field(default_factory=list)
    teams: list[tuple[str, str]] = field(default_factory=list)  # (org, team slug)
    scopes_org: bool = True  # the token has read:org


def new_key() -> SigningKey:
    return SigningKey(f"key-{uuid.uuid4().hex[:8]}", rsa.generate_private_key(public_exponent=65537, key_size=2048))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by itself (it is its own CA) and its key, as PEM files in `folder`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    certfile, keyfile = folder / "cert.pem", folder / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return certfile, keyfile


class FakeIdentityProvider(LoopbackJsonServer):
    def __init__(self, *, tls: tuple[Path, Path] | None = None) -> None:
        super().__init__(tls=tls)
        self.keys: list[SigningKey] = [new_key()]
        self.requests: list[str] = []  # paths asked, in order
        self.opaque: dict[str, dict[str, Any]] = {}
        self.github: dict[str, GitHubUser] = {}
        self.github_rate_limited = False
        self.custom: dict[str, dict[str, Any]] = {}
        self.custom_requests: list[dict[str, Any]] = []
        self.introspection_requests: list[dict[str, str]] = []
        self._failure: int | None = None
        self._lock = threading.Lock()

    # ---- the issuer ----------------------------------------------------------------------------

    @property
    def key(self) -> SigningKey:
        return self.keys[-1]

    def rotate(self, *, keep_old: bool = False) -> SigningKey:
        """A new signing key; the old one stays published only with `keep_old`."""
        with self._lock:
            self.keys = [*self.keys, new_key()] if keep_old else [new_key()]
            return self.keys[-1]

    def mint(self, sub: str = "alice", *, key: SigningKey | None = None, lifetime: float = 300,
             headers: dict[str, Any] | None = None, **claims: Any) -> str:
        """A JWT signed with `key` (default: the current one); `claims` override iss/aud/exp/nbf/iat."""
        now = int(time.time())
        signer = key or self.key
        payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "iat": now, "nbf": now, "exp": now + int(lifetime),
                   **claims}
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(payload, signer.private, algorithm="RS256", headers={"kid": signer.kid, **(headers or {})})

    def jwks_fetches(self) -> int:
        return self.requests.count("/jwks.json")

    # ---- introspection, GitHub, custom ------------------------------------------------------------

    def issue_opaque(self, sub: str, *, active: bool = True, **claims: Any) -> str:
        token = f"opaque-{uuid.uuid4().hex}"
        self.opaque[token] = {"active": active, "sub": sub, "iss": ISSUER, "aud": AUDIENCE,
                              "exp": int(time.time()) + 300, "token_type": "Bearer", **claims}
        return token

    def add_github_user(self, login: str, orgs: list[str] | None = None,
                        teams: list[tuple[str, str]] | None = None, *, scopes_org: bool = True) -> str:
        token = f"gho_{uuid.uuid4().hex}"
        self.github[token] = GitHubUser(login, orgs or [], teams or [], scopes_org)
        return token

    def add_custom_token(self, principal: str, attributes: dict[str, list[str]] | None = None) -> str:
        token = f"custom-{uuid.uuid4().hex}"
        self.custom[token] = {"principal": principal, "attributes": attributes or {}, "message": "ok"}
        return token

    def fail_with(self, status: int | None) -> None:
        self._failure = status

    # ---- answers ----------------------------------------------------------------------------------

    def reply(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        with self._lock:
            self.requests.append(path.split("?")[0])
        if self._failure is not None:
            return self._failure, {"error": "temporarily_unavailable"}, {}
        route = path.split("?")[0]
        if method == "GET" and route == "/jwks.json":
            with self._lock:
                return 200, {"keys": [key.public_jwk() for key in self.keys]}, {}
        if method == "POST" and route == "/introspect":
            return self._introspect(headers, body)
        if method == "GET" and route in ("/user", "/user/orgs", "/user/teams"):
            return self._github(route, headers)
        if method == "POST" and route == "/custom-auth":
            request = json.loads(body)
            self.custom_requests.append(request)
            answer = self.custom.get(request.get("api_key", ""))
            return (200, answer, {}) if answer else (401, {"message": "Authentication failed"}, {})
        return 404, {"error": "not_found"}, {}

    def _introspect(self, headers: dict[str, str], body: bytes) -> tuple[int, Any, dict[str, str]]:
        form = dict(parse_qsl(body.decode()))
        self.introspection_requests.append({name: ("<set>" if name == "token" else value)
                                            for name, value in form.items()})
        client = (form.get("client_id"), form.get("client_secret"))
        basic = headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            user, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            client = (user, secret)
        if client != (CLIENT_ID, CLIENT_SECRET):  # RFC 7662 section 2.3 / RFC 6749 5.2
            return 401, {"error": "invalid_client"}, {"WWW-Authenticate": 'Basic realm="introspection"'}
        claims = self.opaque.get(form.get("token", ""))
        return 200, (claims if claims else {"active": False}), {}

    def _github(self, route: str, headers: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        docs = {"documentation_url": "https://docs.github.com/rest"}
        if self.github_rate_limited:
            return 403, {"message": "API rate limit exceeded", **docs}, {"x-ratelimit-remaining": "0",
                                                                         "x-ratelimit-limit": "60"}
        scheme, _, token = headers.get("authorization", "").partition(" ")
        user = self.github.get(token) if scheme.lower() in ("bearer", "token") else None
        if user is None:
            return 401, {"message": "Bad credentials", **docs}, {}
        if route == "/user":
            return 200, {"login": user.login, "id": abs(hash(user.login)) % 10**8, "type": "User"}, {}
        if not user.scopes_org:
            return 403, {"message": "Resource not accessible by integration", **docs}, {}
        if route == "/user/orgs":
            return 200, [{"login": org, "id": n} for n, org in enumerate(user.orgs)], {}
        return 200, [{"slug": slug, "name": slug, "organization": {"login": org}} for org, slug in user.teams], {}
