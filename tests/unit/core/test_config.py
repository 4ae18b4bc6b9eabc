from pathlib import Path

import pytest

from polystack.core.config import load_run_config, parse_run_config, redact, resolve_config_path
from polystack.core.errors import ConfigError


def test_provider_with_empty_id_is_dropped_before_its_config_is_expanded():
    raw = {
        "distro_name": "t",
        "providers": {"inference": [
            {"provider_id": "${env.KEY:+openai}", "provider_type": "remote::openai",
             "config": {"api_key": "${env.KEY}"}},  # would fail if expanded
            {"provider_id": "scripted", "provider_type": "inline::scripted"},
        ]},
    }
    config = parse_run_config(raw, env={})
    assert [p.provider_id for p in config.providers["inference"]] == ["scripted"]


def test_bad_value_error_names_file_and_key_path(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text("distro_name: x\nserver:\n  port: not-a-number\n")
    with pytest.raises(ConfigError) as info:
        load_run_config(path)
    assert str(path) in str(info.value) and "server.port" in str(info.value)


def test_unknown_top_level_key_is_rejected():
    with pytest.raises(ConfigError) as info:
        parse_run_config({"distro_name": "x", "providerz": {}}, env={})
    assert info.value.path == "providerz"


def test_invalid_yaml_is_a_config_error(tmp_path: Path):
    path = tmp_path / "broken.yaml"
    path.write_text("distro_name: [unclosed\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_run_config(path)


def test_unknown_distribution_suggests_close_names():
    with pytest.raises(ConfigError, match="Did you mean: starter"):
        resolve_config_path("startr")


def test_redact_masks_secrets_but_not_token_counts():
    shown = redact({"api_key": "sk-123", "password": "pw", "max_tokens": 5, "nested": [{"auth_token": "t"}]})
    assert shown == {"api_key": "********", "password": "********", "max_tokens": 5,
                     "nested": [{"auth_token": "********"}]}


def test_starter_loads_offline_without_keys():
    config = load_run_config(resolve_config_path("starter"), env={})
    types = [p.provider_type for p in config.providers["inference"]]
    assert types == ["inline::llama-cpp", "inline::onnx"]
