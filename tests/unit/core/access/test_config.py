"""server.auth in the run config: typed, a bad rule is a config error naming where, keys are secrets."""

import pytest

from polystack.core import secrets
from polystack.core.config import load_run_config, parse_run_config
from polystack.core.errors import ConfigError


def run_config(auth: dict, env: dict[str, str] | None = None):
    return parse_run_config({"distro_name": "auth", "providers": {}, "server": {"auth": auth}}, env=env or {})


def test_keys_come_from_the_environment_and_are_registered_as_secrets():
    config = run_config({"provider_config": {"type": "api_keys", "keys": [
        {"key": "${env.ALICE_KEY}", "principal": "alice", "attributes": {"roles": ["user"]}}]},
        "access_policy": []}, env={"ALICE_KEY": "sk-alice-key-123456"})
    auth = config.server.auth
    assert auth is not None and auth.provider_config.keys[0].key.get_secret_value() == "sk-alice-key-123456"
    assert "sk-alice-key-123456" not in repr(config)
    assert "sk-alice-key-123456" in set(secrets.collect(config))
    assert auth.policy().default


def test_a_bad_rule_is_a_config_error_at_its_place():
    with pytest.raises(ConfigError) as error:
        run_config({"provider_config": {"type": "api_keys", "keys": [{"key": "k", "principal": "a"}]},
                    "access_policy": [{"permit": {"actions": ["read"]}, "when": "user is root"}]})
    assert "server.auth.access_policy" in str(error.value) and "unknown condition 'user is root'" in str(error.value)


def test_an_unknown_authenticator_type_is_a_config_error():
    with pytest.raises(ConfigError, match="provider_config"):
        run_config({"provider_config": {"type": "oauth2_token"}})


def test_an_empty_auth_key_in_a_config_file_is_refused_never_an_open_server(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("distro_name: x\nserver:\n  auth:\n")
    with pytest.raises(ConfigError, match="server.auth") as info:
        load_run_config(path, env={})
    assert "provider_config" in str(info.value)
