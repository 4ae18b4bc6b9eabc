import pytest

from polystack.core.env_substitution import substitute_env
from polystack.core.errors import ConfigError


def test_plain_reference_is_replaced():
    assert substitute_env({"a": "${env.X}"}, {"X": "1"}) == {"a": "1"}


def test_default_used_when_unset_or_empty():
    assert substitute_env("${env.X:=fallback}", {}) == "fallback"
    assert substitute_env("${env.X:=fallback}", {"X": ""}) == "fallback"
    assert substitute_env("${env.X:=fallback}", {"X": "set"}) == "set"


def test_conditional_value_only_when_set():
    assert substitute_env("${env.KEY:+openai}", {"KEY": "sk"}) == "openai"
    assert substitute_env("${env.KEY:+openai}", {}) is None


def test_embedded_references_in_longer_strings():
    assert substitute_env("http://${env.H:=localhost}:${env.P:=8080}/v1", {"P": "9"}) == "http://localhost:9/v1"


def test_missing_required_variable_names_the_key_path():
    with pytest.raises(ConfigError) as info:
        substitute_env({"providers": {"inference": [{"config": {"url": "${env.VLLM_URL}"}}]}}, {})
    assert info.value.path == "providers.inference[0].config.url"
    assert "VLLM_URL" in str(info.value)
