"""Third-party providers plug in without touching Polystack: by `module:` in the run config."""

import textwrap

import polystack
from polystack.core.config import parse_run_config

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
