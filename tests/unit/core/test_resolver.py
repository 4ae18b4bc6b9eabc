from dataclasses import replace

import pytest

from polystack.apis.datatypes import Api
from polystack.core.config import parse_run_config
from polystack.core.errors import ConfigError, StackError
from polystack.core.resolver import plan
from polystack.providers.registry import all_specs
from polystack.testing import echo_api


@pytest.fixture
def echo():
    with echo_api.registered():
        yield "echo"


def _config(providers):
    return parse_run_config({"distro_name": "t", "providers": providers}, env={})


def test_unknown_provider_type_suggests_the_close_one():
    with pytest.raises(ConfigError) as info:
        plan(_config({"inference": [{"provider_id": "x", "provider_type": "remote::opena"}]}), all_specs())
    assert "remote::openai" in str(info.value)
    assert info.value.path == "providers.inference[0].provider_type"


def test_provider_config_error_has_the_full_key_path():
    with pytest.raises(ConfigError) as info:
        plan(_config({"inference": [{"provider_id": "v", "provider_type": "remote::vllm",
                                     "config": {"timeout_seconds": -1, "url": "http://x/v1"}}]}), all_specs())
    assert info.value.path == "providers.inference[0].config.timeout_seconds"


def test_duplicate_provider_id_is_rejected():
    entry = {"provider_id": "same", "provider_type": "inline::scripted"}
    with pytest.raises(ConfigError, match="already used"):
        plan(_config({"inference": [entry, entry]}), all_specs())


def test_missing_dependency_names_the_provider_and_the_api():
    specs = dict(all_specs())
    key = (Api.inference, "inline::scripted")
    specs[key] = replace(specs[key], api_dependencies=(Api.vector_io,))
    with pytest.raises(StackError, match="needs the 'vector_io' API"):
        plan(_config({"inference": [{"provider_id": "s", "provider_type": "inline::scripted"}]}), specs)


def test_dependency_cycle_is_reported(echo):
    specs = dict(all_specs())
    specs[(Api.inference, "inline::scripted")] = replace(specs[(Api.inference, "inline::scripted")],
                                                         api_dependencies=(echo,))
    specs[(echo, "inline::scripted")] = replace(specs[(Api.inference, "inline::scripted")],
                                                api=echo, api_dependencies=(Api.inference,))
    config = _config({"inference": [{"provider_id": "a", "provider_type": "inline::scripted"}],
                      echo: [{"provider_id": "b", "provider_type": "inline::scripted"}]})
    with pytest.raises(StackError, match="cycle"):
        plan(config, specs)


def test_dependencies_come_first(echo):
    specs = dict(all_specs())
    specs[(echo, "inline::scripted")] = replace(specs[(Api.inference, "inline::scripted")],
                                                api=echo, api_dependencies=(Api.inference,))
    config = _config({echo: [{"provider_id": "b", "provider_type": "inline::scripted"}],
                      "inference": [{"provider_id": "a", "provider_type": "inline::scripted"}]})
    assert [p.provider_id for p in plan(config, specs)] == ["a", "b"]


def test_routing_tables_take_no_providers():
    with pytest.raises(ConfigError, match="served by the stack itself"):
        plan(_config({"models": [{"provider_id": "m", "provider_type": "inline::scripted"}]}), all_specs())
