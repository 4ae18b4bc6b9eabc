"""A provider instance missing a method of its API's protocol stops the server at startup, by name."""

import textwrap

import pytest

import polystack
from polystack.apis.files.protocol import Files
from polystack.apis.inference.protocol import InferenceProvider
from polystack.core.config import parse_run_config
from polystack.core.errors import StackError
from polystack.core.provider_protocols import check_provider, protocol_methods, protocol_problems
from polystack.providers.inline.inference.scripted.config import ScriptedConfig
from polystack.providers.inline.inference.scripted.provider import ScriptedInference

PLUGIN = textwrap.dedent('''
    from polystack.apis.datatypes import Api
    from polystack.providers.spec import ProviderSpec

    def get_provider_spec():
        return ProviderSpec(
            api=Api.inference,
            provider_type="remote::halfdone",
            module="halfdone_provider.impl",
            config_class="polystack.providers.inline.inference.scripted.config.ScriptedConfig",
        )
''')
IMPL = textwrap.dedent('''
    SHUT_DOWN = []

    class HalfDone:
        async def chat_completion(self, request): ...
        def completion(self, request): ...  # sync where the protocol says async def
        async def list_models(self): return None
        async def shutdown(self): SHUT_DOWN.append(True)

    async def create(config, deps):
        return HalfDone()
''')


def test_inherited_protocol_methods_are_included_with_their_asyncness():
    methods = protocol_methods(InferenceProvider)
    assert {"chat_completion", "completion", "embeddings", "list_models", "shutdown"} <= set(methods)
    assert all(methods.values())


def test_a_complete_provider_has_no_problems():
    assert protocol_problems(ScriptedInference(ScriptedConfig()), InferenceProvider) == []


def test_missing_and_sync_methods_are_each_named():
    class NoFiles:
        def get_file(self, file_id): ...

    problems = protocol_problems(NoFiles(), Files)
    assert "get_file (not async def)" in problems
    assert "delete_file (missing)" in problems
    assert "create_file (missing)" in problems


def test_check_provider_names_the_provider_the_api_and_the_protocol():
    with pytest.raises(StackError) as info:
        check_provider(object(), Files, api="files", provider_id="f1", provider_type="remote::x")
    message = str(info.value)
    assert "'f1' (remote::x)" in message and "'files' API" in message and "Files protocol" in message
    assert "get_file (missing)" in message


async def test_stack_start_fails_on_a_provider_missing_a_method(tmp_path, monkeypatch):
    package = tmp_path / "halfdone_provider"
    package.mkdir()
    (package / "__init__.py").write_text(PLUGIN)
    (package / "impl.py").write_text(IMPL)
    monkeypatch.syspath_prepend(str(tmp_path))
    config = parse_run_config({"distro_name": "t", "providers": {"inference": [
        {"provider_id": "half", "provider_type": "remote::halfdone", "module": "halfdone_provider"}]}}, env={})
    with pytest.raises(StackError) as info:
        async with polystack.connect(config):
            pass
    message = str(info.value)
    assert "provider 'half' (remote::halfdone)" in message
    assert "'inference' API" in message
    assert "embeddings (missing)" in message and "completion (not async def)" in message
    assert "chat_completion" not in message
    from halfdone_provider.impl import SHUT_DOWN

    assert SHUT_DOWN == [True]  # the rejected instance released what it held
