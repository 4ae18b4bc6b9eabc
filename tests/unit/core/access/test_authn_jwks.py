"""oauth2_token with a JWKS: valid JWTs admitted with mapped attributes; forged, expired and misdirected ones
refused; key rotation picked up; an identity provider that is down is a 503. Against a real local issuer."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time

import jwt
import pytest

from polystack.core.access.authn import IdentityProviderDown, InvalidToken
from polystack.core.access.authn.config import OAuth2TokenAuthConfig
from polystack.core.access.authn.jwks import JwksAuthenticator
from polystack.testing.fake_identity import ISSUER, FakeIdentityProvider, b64url, new_key, self_signed_certificate
from polystack.testing.tcp_proxy import unused_port

SCOPE = {"type": "http", "path": "/v1/models", "headers": [], "query_string": b""}


@pytest.fixture
def idp():
    with FakeIdentityProvider() as fake:
        yield fake


def authenticator(idp: FakeIdentityProvider, **jwks: object) -> JwksAuthenticator:
    return JwksAuthenticator(OAuth2TokenAuthConfig.model_validate({
        "type": "oauth2_token", "issuer": ISSUER, "leeway_seconds": 5,
        "jwks": {"uri": f"{idp.base_url}/jwks.json", "unknown_kid_min_interval": 0, **jwks}}))


async def test_a_valid_jwt_is_its_subject_with_claims_mapped_to_attributes(idp):
    auth = authenticator(idp)
    token = idp.mint("alice", groups=["blue", "ops"], project="apollo", scope_unused="x", tenant="acme eu")
    user = await auth.authenticate(token, SCOPE)
    assert user.principal == "alice"
    assert user.attributes == {"roles": ["alice"], "teams": ["blue", "ops"], "projects": ["apollo"],
                               "namespaces": ["acme", "eu"]}
    await auth.authenticate(idp.mint("bob"), SCOPE)
    assert idp.jwks_fetches() == 1  # the key set is cached
    await auth.aclose()


async def test_claims_mapping_from_config_reaches_into_object_claims(idp):
    auth = JwksAuthenticator(OAuth2TokenAuthConfig.model_validate({
        "type": "oauth2_token", "issuer": ISSUER, "jwks": {"uri": f"{idp.base_url}/jwks.json"},
        "claims_mapping": {"realm_access.roles": "roles", "scope": "projects"}}))
    user = await auth.authenticate(idp.mint("carol", realm_access={"roles": ["admin"]}, scope="read write"), SCOPE)
    assert user.attributes == {"roles": ["admin"], "projects": ["read", "write"]}


def test_claims_mapping_to_an_unknown_attribute_is_a_config_error():
    with pytest.raises(ValueError, match="roles, teams, projects, namespaces"):
        OAuth2TokenAuthConfig.model_validate({"jwks": {"uri": "http://x/jwks"}, "claims_mapping": {"sub": "powers"}})
    with pytest.raises(ValueError, match="exactly one"):
        OAuth2TokenAuthConfig.model_validate({"audience": "x"})


def _unsigned(header: dict, payload: dict) -> str:
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"


def forged(idp: FakeIdentityProvider, kind: str) -> str:
    now = int(time.time())
    good = {"iss": ISSUER, "aud": "polystack", "sub": "mallory", "iat": now, "exp": now + 300}
    kid = idp.key.kid
    if kind == "wrong signature":  # the right kid, signed by another key
        other = new_key()
        return jwt.encode(good, other.private, algorithm="RS256", headers={"kid": kid})
    if kind == "alg none":
        return _unsigned({"alg": "none", "typ": "JWT", "kid": kid}, good) + "."
    if kind == "HS256 with the public key":  # the classic key-confusion forgery
        signing_input = _unsigned({"alg": "HS256", "typ": "JWT", "kid": kid}, good)
        signature = hmac.new(idp.key.public_pem(), signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64url(signature)}"
    if kind == "expired":
        return idp.mint("mallory", iat=now - 600, nbf=now - 600, exp=now - 60)
    if kind == "not yet valid":
        return idp.mint("mallory", nbf=now + 120)
    if kind == "wrong audience":
        return idp.mint("mallory", aud="another-service")
    if kind == "wrong issuer":
        return idp.mint("mallory", iss="https://evil.example")
    if kind == "unknown kid":
        return idp.mint("mallory", key=new_key())
    if kind == "no exp":
        return jwt.encode({k: v for k, v in good.items() if k != "exp"}, idp.key.private, algorithm="RS256",
                          headers={"kid": kid})
    if kind == "no sub":
        return idp.mint(None)  # type: ignore[arg-type]
    if kind == "tampered payload":
        header, _, signature = idp.mint("mallory").split(".")
        return f"{header}.{b64url(json.dumps({**good, 'sub': 'admin'}).encode())}.{signature}"
    if kind == "garbage":
        return "not-a-jwt"
    raise AssertionError(kind)


FORGERIES = ["wrong signature", "alg none", "HS256 with the public key", "expired", "not yet valid",
             "wrong audience", "wrong issuer", "unknown kid", "no exp", "no sub", "tampered payload", "garbage"]


@pytest.mark.parametrize("kind", FORGERIES)
async def test_forged_expired_or_misdirected_jwts_are_invalid_tokens(idp, kind):
    auth = authenticator(idp)
    await auth.authenticate(idp.mint("alice"), SCOPE)  # the key set is loaded and works
    token = forged(idp, kind)
    with pytest.raises(InvalidToken) as refused:
        await auth.authenticate(token, SCOPE)
    assert refused.value.status_code == 401
    assert 'error="invalid_token"' in refused.value.headers["WWW-Authenticate"]
    assert token not in refused.value.message and token not in str(refused.value.headers)


async def test_a_key_rotation_is_picked_up_and_the_retired_key_refused(idp):
    auth = authenticator(idp)
    old_token = idp.mint("alice")
    assert (await auth.authenticate(old_token, SCOPE)).principal == "alice"
    idp.rotate()  # the old key is retired, a new one signs
    new_token = idp.mint("bob")
    assert (await auth.authenticate(new_token, SCOPE)).principal == "bob"  # unknown kid: the set is fetched again
    assert idp.jwks_fetches() == 2
    with pytest.raises(InvalidToken, match="unknown signing key"):
        await auth.authenticate(old_token, SCOPE)


async def test_unknown_kids_refetch_the_key_set_at_most_once_per_interval(idp):
    auth = authenticator(idp, unknown_kid_min_interval=60)
    await auth.authenticate(idp.mint("alice"), SCOPE)
    for _ in range(5):
        with pytest.raises(InvalidToken):
            await auth.authenticate(idp.mint("mallory", key=new_key()), SCOPE)
    assert idp.jwks_fetches() == 2


async def test_an_identity_provider_that_is_down_is_a_503_not_a_401(idp):
    auth = authenticator(idp)
    idp.fail_with(503)
    with pytest.raises(IdentityProviderDown) as down:
        await auth.authenticate(idp.mint("alice"), SCOPE)
    assert down.value.status_code == 503
    with pytest.raises(IdentityProviderDown):  # still a 503 while it backs off, not an "unknown key" 401
        await auth.authenticate(idp.mint("alice"), SCOPE)
    assert idp.jwks_fetches() == 1  # and the provider is not asked again by every request
    idp.fail_with(None)
    await asyncio.sleep(1.1)
    assert (await auth.authenticate(idp.mint("alice"), SCOPE)).principal == "alice"


async def test_keys_already_fetched_keep_working_while_the_provider_is_down(idp):
    auth = authenticator(idp, key_recheck_period=0.01)
    await auth.authenticate(idp.mint("alice"), SCOPE)
    idp.fail_with(500)
    await asyncio.sleep(0.05)
    assert (await auth.authenticate(idp.mint("alice"), SCOPE)).principal == "alice"


async def test_an_unreachable_key_set_is_a_503():
    auth = JwksAuthenticator(OAuth2TokenAuthConfig.model_validate({
        "type": "oauth2_token", "timeout_seconds": 1, "jwks": {"uri": f"http://127.0.0.1:{unused_port()}/jwks"}}))
    with pytest.raises(IdentityProviderDown):
        await auth.authenticate(jwt.encode({"sub": "a"}, "k" * 32, algorithm="HS256", headers={"kid": "x"}), SCOPE)


async def test_a_verified_token_is_reused_until_its_expiry_and_then_refused(idp):
    auth = JwksAuthenticator(OAuth2TokenAuthConfig.model_validate({
        "type": "oauth2_token", "leeway_seconds": 0, "jwks": {"uri": f"{idp.base_url}/jwks.json"}}))
    token = idp.mint("alice", lifetime=1)
    first = await auth.authenticate(token, SCOPE)
    assert await auth.authenticate(token, SCOPE) is first  # from the cache: no second signature check
    await asyncio.sleep(1.6)
    with pytest.raises(InvalidToken, match="expired"):
        await auth.authenticate(token, SCOPE)


async def test_an_identity_provider_on_https_is_trusted_through_tls_cafile_only(tmp_path):
    certfile, keyfile = self_signed_certificate(tmp_path)
    with FakeIdentityProvider(tls=(certfile, keyfile)) as idp:
        uri = f"{idp.base_url}/jwks.json"
        trusting = JwksAuthenticator(OAuth2TokenAuthConfig.model_validate(
            {"type": "oauth2_token", "tls_cafile": str(certfile), "jwks": {"uri": uri}}))
        assert (await trusting.authenticate(idp.mint("alice"), SCOPE)).principal == "alice"
        await trusting.aclose()
        default = JwksAuthenticator(OAuth2TokenAuthConfig.model_validate({"type": "oauth2_token",
                                                                          "jwks": {"uri": uri}}))
        with pytest.raises(IdentityProviderDown):  # an unknown certificate: the provider cannot be trusted
            await default.authenticate(idp.mint("alice"), SCOPE)


async def test_concurrent_requests_with_a_new_kid_share_one_fetch_and_all_get_in(idp):
    auth = authenticator(idp, unknown_kid_min_interval=60)
    await auth.authenticate(idp.mint("alice"), SCOPE)
    idp.rotate()
    users = await asyncio.gather(*(auth.authenticate(idp.mint(f"user{n}"), SCOPE) for n in range(8)))
    assert [user.principal for user in users] == [f"user{n}" for n in range(8)]
    assert idp.jwks_fetches() == 2
