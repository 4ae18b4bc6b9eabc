"""Authenticators that ask the identity provider per token (introspection, GitHub, custom endpoint): admitted
with attributes, refused with a 401, cached per token, and a 503 when the provider is down. Real local fakes."""

from __future__ import annotations

import traceback

import pytest

from polystack.core.access.authn import IdentityProviderDown, InvalidToken, build_authenticator
from polystack.core.access.authn.config import CustomAuthConfig, GitHubTokenAuthConfig, OAuth2TokenAuthConfig
from polystack.testing.fake_identity import CLIENT_ID, CLIENT_SECRET, ISSUER, FakeIdentityProvider
from polystack.testing.tcp_proxy import unused_port

SCOPE = {"type": "http", "path": "/v1/files", "query_string": b"limit=5&order=asc",
         "headers": [(b"authorization", b"Bearer x"), (b"x-llamastack-provider-data", b'{"k": "secret"}'),
                     (b"user-agent", b"test")]}


@pytest.fixture
def idp():
    with FakeIdentityProvider() as fake:
        yield fake


def introspection(idp: FakeIdentityProvider, **options: object):  # type: ignore[no-untyped-def]
    return build_authenticator(OAuth2TokenAuthConfig.model_validate({
        "type": "oauth2_token", "issuer": ISSUER, "introspection": {
            "url": f"{idp.base_url}/introspect", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            **options}}))


@pytest.mark.parametrize("in_body", [False, True])
async def test_introspection_admits_active_tokens_with_mapped_claims_and_caches(idp, in_body):
    auth = introspection(idp, send_secret_in_body=in_body)
    token = idp.issue_opaque("alice", groups=["blue"])
    for _ in range(3):
        user = await auth.authenticate(token, SCOPE)
        assert user.principal == "alice" and user.attributes["teams"] == ["blue"]
    assert idp.requests.count("/introspect") == 1
    assert ("client_secret" in idp.introspection_requests[0]) is in_body


@pytest.mark.parametrize("claims", [{"active": False}, {"exp": 1}, {"aud": "elsewhere"}, {"iss": "https://evil"}])
async def test_introspection_refuses_inactive_expired_or_misdirected_tokens(idp, claims):
    auth = introspection(idp)
    with pytest.raises(InvalidToken):
        await auth.authenticate(idp.issue_opaque("alice", **claims), SCOPE)
    with pytest.raises(InvalidToken, match="not active"):
        await auth.authenticate("never-issued", SCOPE)


async def test_introspection_with_wrong_client_credentials_or_down_is_a_503(idp):
    wrong = build_authenticator(OAuth2TokenAuthConfig.model_validate({"type": "oauth2_token", "introspection": {
        "url": f"{idp.base_url}/introspect", "client_id": CLIENT_ID, "client_secret": "wrong"}}))
    with pytest.raises(IdentityProviderDown):
        await wrong.authenticate(idp.issue_opaque("alice"), SCOPE)
    idp.fail_with(502)
    with pytest.raises(IdentityProviderDown):
        await introspection(idp).authenticate(idp.issue_opaque("alice"), SCOPE)


def github(idp: FakeIdentityProvider, **options: object):  # type: ignore[no-untyped-def]
    return build_authenticator(GitHubTokenAuthConfig.model_validate(
        {"type": "github_token", "github_api_base_url": idp.base_url, **options}))


async def test_github_token_is_the_user_with_organizations_and_teams(idp):
    auth = github(idp)
    token = idp.add_github_user("octocat", orgs=["acme", "oss"], teams=[("acme", "platform")])
    user = await auth.authenticate(token, SCOPE)
    assert user.principal == "octocat"
    assert user.attributes == {"roles": ["octocat"], "teams": ["acme", "oss", "acme/platform"]}
    await auth.authenticate(token, SCOPE)
    assert idp.requests.count("/user") == 1  # cached


async def test_github_without_read_org_has_no_teams_and_bad_credentials_are_a_401(idp):
    auth = github(idp)
    user = await auth.authenticate(idp.add_github_user("solo", orgs=["acme"], scopes_org=False), SCOPE)
    assert user.principal == "solo" and "teams" not in user.attributes
    with pytest.raises(InvalidToken):
        await auth.authenticate("gho_revoked", SCOPE)


async def test_github_rate_limited_or_unreachable_is_a_503(idp):
    idp.github_rate_limited = True
    with pytest.raises(IdentityProviderDown):
        await github(idp).authenticate(idp.add_github_user("octocat"), SCOPE)
    unreachable = build_authenticator(GitHubTokenAuthConfig.model_validate(
        {"type": "github_token", "github_api_base_url": f"http://127.0.0.1:{unused_port()}", "timeout_seconds": 1}))
    with pytest.raises(IdentityProviderDown):
        await unreachable.authenticate("gho_x", SCOPE)


def custom(idp: FakeIdentityProvider, **options: object):  # type: ignore[no-untyped-def]
    return build_authenticator(CustomAuthConfig.model_validate(
        {"type": "custom", "endpoint": f"{idp.base_url}/custom-auth", **options}))


async def test_custom_endpoint_gets_llama_stack_request_shape_and_decides(idp):
    auth = custom(idp)
    token = idp.add_custom_token("dana", {"roles": ["user"], "teams": ["red"]})
    user = await auth.authenticate(token, SCOPE)
    assert user.principal == "dana" and user.attributes == {"roles": ["user"], "teams": ["red"]}
    sent = idp.custom_requests[0]
    assert sent["api_key"] == token
    assert sent["request"]["path"] == "/v1/files"
    assert sent["request"]["params"] == {"limit": ["5"], "order": ["asc"]}
    assert sent["request"]["headers"] == {"user-agent": "test"}  # no Authorization, no provider data
    await auth.authenticate(token, SCOPE)
    assert len(idp.custom_requests) == 1  # cached by the token's digest
    with pytest.raises(InvalidToken):
        await auth.authenticate("custom-unknown", SCOPE)


async def test_custom_endpoint_failing_is_a_503_and_cache_zero_asks_every_time(idp):
    auth = custom(idp, cache_seconds=0)
    token = idp.add_custom_token("dana")
    await auth.authenticate(token, SCOPE)
    await auth.authenticate(token, SCOPE)
    assert len(idp.custom_requests) == 2
    idp.fail_with(500)
    with pytest.raises(IdentityProviderDown):
        await auth.authenticate(token, SCOPE)


async def test_a_cached_refusal_is_raised_afresh_so_nothing_grows_with_repeats(idp):
    auth = custom(idp)
    depths = []
    for _ in range(4):
        with pytest.raises(InvalidToken) as refused:
            await auth.authenticate("custom-unknown", SCOPE)
        depths.append(len(traceback.extract_tb(refused.value.__traceback__)))
    assert len(idp.custom_requests) == 1 and depths[1] == depths[2] == depths[3]
