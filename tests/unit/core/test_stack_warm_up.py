"""Stack.start warms up providers that can (embedded models) before it returns, so 'ready' means warm."""

import textwrap

import polystack
from polystack.core.config import parse_run_config

PLUGIN = textwrap.dedent('''
    from polystack.apis.datatypes import Api
    from polystack.providers.spec import ProviderSpec

    def get_provider_spec():
        return ProviderSpec(
            api=Api.inference,
            provider_type="remote::slow-start",
            module="slow_start_provider.impl",
            config_class="polystack.providers.inline.inference.scripted.config.ScriptedConfig",
        )
''')
IMPL = textwrap.dedent('''
    import asyncio

    from polystack.providers.inline.inference.scripted.provider import ScriptedInference

    class SlowStart(ScriptedInference):
        warmed = False

        async def warm_up(self):
            await asyncio.sleep(0.05)
            SlowStart.warmed = True

    async def create(config, deps):
        return SlowStart(config)
''')


async def test_start_returns_only_after_every_provider_with_warm_up_is_warm(tmp_path, monkeypatch):
    package = tmp_path / "slow_start_provider"
    package.mkdir()
    (package / "__init__.py").write_text(PLUGIN)
    (package / "impl.py").write_text(IMPL)
    monkeypatch.syspath_prepend(str(tmp_path))
    config = parse_run_config({"distro_name": "slow", "providers": {"inference": [
        {"provider_id": "slow", "provider_type": "remote::slow-start", "module": "slow_start_provider",
         "config": {"models": ["m"]}}]}}, env={})
    async with polystack.connect(config):
        from slow_start_provider.impl import SlowStart

        assert SlowStart.warmed
