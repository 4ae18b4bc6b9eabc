"""An in-process stack on the scripted provider, for the server's HTTP behaviour."""

import pytest

import polystack
from polystack.core.config import parse_run_config


def scripted_config(storage=None, **server):
    return parse_run_config({
        "storage": storage or {},
        "distro_name": "scripted",
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted", "config": {}}]},
        "registered_resources": {"models": [{"model_id": "my-alias", "provider_model_id": "scripted-model"}]},
        "server": server,
    }, env={})


@pytest.fixture
async def stack():
    async with polystack.connect(scripted_config()) as stack:
        yield stack
