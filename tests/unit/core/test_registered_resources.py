"""registered_resources: every list typed, and a list no served API reads stops the server at startup."""

from dataclasses import replace

import pytest

from polystack.apis.catalog import register_api, unregister_api
from polystack.core.config import parse_run_config
from polystack.core.errors import ConfigError
from polystack.core.resolver import plan
from polystack.providers.registry import all_specs
from polystack.testing import echo_api

INFERENCE = {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}]}
SHIELD = {"shield_id": "guard", "provider_id": "llama-guard", "provider_shield_id": "meta-llama/Llama-Guard-3-1B"}


def config(resources, providers=INFERENCE):
    return parse_run_config({"distro_name": "x", "providers": providers, "registered_resources": resources},
                            env={})


@pytest.mark.parametrize(("resources", "path"), [
    ({"shields": [{"provider_shield_id": "x"}]}, "registered_resources.shields[0].shield_id"),
    ({"datasets": [{"dataset_id": "d", "purpose": "eval/question-answer", "source": {"type": "rows"}}]},
     "registered_resources.datasets[0].source.rows.rows"),
    ({"benchmarks": [{"benchmark_id": "b", "dataset_id": "d", "scoring_functions": []}]},
     "registered_resources.benchmarks[0].scoring_functions"),
    ({"tool_groups": [{"toolgroup_id": "t", "provider_id": "mcp", "mcp_endpoint": {"url": "x"}}]},
     "registered_resources.tool_groups[0].mcp_endpoint.uri"),
    ({"models": [{"model_id": "m", "colour": "red"}]}, "registered_resources.models[0].colour"),
])
def test_each_resource_list_is_typed_and_errors_name_the_field(resources, path):
    with pytest.raises(ConfigError) as info:
        config(resources)
    assert info.value.path == path


@pytest.mark.parametrize("kind", ["shields", "vector_stores", "datasets", "scoring_fns", "benchmarks"])
def test_a_list_no_api_reads_yet_stops_startup(kind):
    entries = {
        "shields": [SHIELD],
        "vector_stores": [{"vector_store_id": "vs", "embedding_model": "onnx/all-MiniLM-L6-v2"}],
        "datasets": [{"dataset_id": "d", "purpose": "eval/question-answer", "source": {"type": "uri", "uri": "x"}}],
        "scoring_fns": [{"scoring_fn_id": "s"}],
        "benchmarks": [{"benchmark_id": "b", "dataset_id": "d", "scoring_functions": ["s"]}],
        "tool_groups": [{"toolgroup_id": "t", "provider_id": "mcp"}],
    }
    with pytest.raises(ConfigError) as info:
        plan(config({kind: entries[kind]}), all_specs())
    assert info.value.path == f"registered_resources.{kind}" and "not implemented" in info.value.problem


def test_models_without_a_served_inference_api_stop_startup_naming_it():
    resources = {"models": [{"model_id": "m"}]}
    with pytest.raises(ConfigError) as info:
        plan(config(resources, providers={}), all_specs())
    assert info.value.path == "registered_resources.models" and "inference" in info.value.problem
    assert plan(config(resources), all_specs())  # served: accepted


def test_prompts_without_the_prompts_api_served_stop_startup_saying_how_to_serve_it():
    resources = {"prompts": [{"prompt_id": "pmpt_" + "0" * 48, "prompt": "Hi {{name}}", "variables": ["name"]}]}
    with pytest.raises(ConfigError) as info:
        plan(config(resources), all_specs())
    assert info.value.path == "registered_resources.prompts" and "add 'prompts' to apis:" in info.value.problem
    served = parse_run_config({"distro_name": "x", "apis": ["inference", "prompts"], "providers": INFERENCE,
                               "registered_resources": resources}, env={})
    assert plan(served, all_specs())


def test_tool_groups_without_a_served_tool_runtime_api_stop_startup_naming_it():
    resources = {"tool_groups": [{"toolgroup_id": "builtin::websearch", "provider_id": "brave-search"}]}
    with pytest.raises(ConfigError) as info:
        plan(config(resources), all_specs())
    assert info.value.path == "registered_resources.tool_groups" and "tool_runtime" in info.value.problem
    search = {"tool_runtime": [{"provider_id": "brave-search", "provider_type": "remote::brave-search"}]}
    assert plan(config(resources, {**INFERENCE, **search}), all_specs())  # served: accepted


def test_a_list_is_accepted_once_a_served_api_spec_claims_it():
    with echo_api.registered():
        unregister_api("echo")
        register_api(replace(echo_api.SPEC, registered_resources="shields"))
        providers = {**INFERENCE, "echo": [{"provider_id": "e", "provider_type": "inline::echo"}]}
        assert [p.api for p in plan(config({"shields": [SHIELD]}, providers), all_specs())] == ["inference", "echo"]
