"""Third-party providers plug in without touching Polystack: by `module:` in the run config."""

import textwrap

import pytest

import polystack
from polystack.core.config import parse_run_config
from polystack.core.errors import StackError

PLUGIN = textwrap.dedent('''
    from polystack.apis.datatypes import Api
    from polystack.providers.spec import ProviderSpec

    def get_provider_spec():
        return ProviderSpec(
            api=Api.inference,
            provider_type="remote::acme",
            module="acme_provider.impl",
            config_class="polystack.providers.inline.inference.scripted.config.ScriptedConfig",
        )
''')
IMPL = textwrap.dedent('''
    from polystack.providers.inline.inference.scripted.provider import ScriptedInference

    async def create(config, deps):
        return ScriptedInference(config)
''')


async def test_provider_from_an_external_module_serves_requests(tmp_path, monkeypatch):
    package = tmp_path / "acme_provider"
    package.mkdir()
    (package / "__init__.py").write_text(PLUGIN)
    (package / "impl.py").write_text(IMPL)
    monkeypatch.syspath_prepend(str(tmp_path))
    config = parse_run_config({"distro_name": "acme", "providers": {"inference": [
        {"provider_id": "acme", "provider_type": "remote::acme", "module": "acme_provider",
         "config": {"models": ["rocket"]}}]}}, env={})
    async with polystack.connect(config) as stack:
        reply = await stack.openai.chat.completions.create(model="acme/rocket",
                                                           messages=[{"role": "user", "content": "boom"}])
        assert reply.choices[0].message.content == "boom"
        providers = (await stack.http.get("/v1/providers")).json()["data"]
        assert providers[0]["provider_type"] == "remote::acme"


HALF_IMPL = textwrap.dedent('''
    class ChatOnly:
        async def chat_completion(self, request): ...
        async def completion(self, request): ...
        async def list_models(self): return None
        async def shutdown(self): ...

    async def create(config, deps):
        return ChatOnly()
''')


async def test_a_provider_missing_a_method_of_its_api_is_refused_at_startup(tmp_path, monkeypatch):
    package = tmp_path / "acme_half"
    package.mkdir()
    (package / "__init__.py").write_text(PLUGIN.replace("acme_provider.impl", "acme_half.impl"))
    (package / "impl.py").write_text(HALF_IMPL)
    monkeypatch.syspath_prepend(str(tmp_path))
    config = parse_run_config({"distro_name": "acme", "providers": {"inference": [
        {"provider_id": "half", "provider_type": "remote::acme", "module": "acme_half",
         "config": {"models": ["rocket"]}}]}}, env={})
    with pytest.raises(StackError, match=r"provider 'half' .*InferenceProvider protocol: embeddings \(missing\)"):
        async with polystack.connect(config):
            pass
