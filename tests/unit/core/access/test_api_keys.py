"""Static API keys: each key authenticates as its principal with its attributes."""

import pytest

from polystack.core.access.api_keys import ApiKeyAuthenticator
from polystack.core.access.config import ApiKeysAuthConfig


def test_a_known_key_is_its_principal_and_an_unknown_one_nobody():
    auth = ApiKeyAuthenticator(ApiKeysAuthConfig.model_validate({"keys": [
        {"key": "k-alice", "principal": "alice", "attributes": {"teams": ["blue"]}},
        {"key": "k-bob", "principal": "bob"}]}))
    alice = auth.authenticate("k-alice")
    assert alice is not None and alice.principal == "alice" and alice.attributes == {"teams": ["blue"]}
    assert auth.authenticate("k-bob").principal == "bob"  # type: ignore[union-attr]
    assert auth.authenticate("k-alic") is None and auth.authenticate("") is None


@pytest.mark.parametrize(("keys", "message"), [
    ([{"key": "same", "principal": "a"}, {"key": "same", "principal": "b"}], "two keys are the same"),
    ([{"key": "  ", "principal": "a"}], "is empty"),
    ([{"key": "k", "principal": "polystack:system"}], "reserved"),
    ([], "at least 1"),
])
def test_unusable_keys_are_config_errors(keys, message):
    with pytest.raises(ValueError, match=message):
        ApiKeysAuthConfig.model_validate({"keys": keys})
