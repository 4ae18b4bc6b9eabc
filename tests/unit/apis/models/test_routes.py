"""GET /v1/models stays up for everyone whatever one stored model holds; POST /v1/models refuses bad metadata."""

import polystack
from polystack.apis.models.types import Model, ModelSource, ModelType
from polystack.core.config import parse_run_config


def scripted_config():
    return parse_run_config({"distro_name": "scripted", "providers": {"inference": [
        {"provider_id": "scripted", "provider_type": "inline::scripted", "config": {}}]}}, env={})


async def test_unserialisable_metadata_is_400_at_registration_and_never_stored():
    async with polystack.connect(scripted_config()) as stack:
        deep: list = []
        for _ in range(100):
            deep = [deep]
        for metadata in ({"n": 2**70}, {"deep": deep}):
            body = {"model_id": "bad", "provider_model_id": "scripted-model", "metadata": metadata}
            response = await stack.http.post("/v1/models", json=body)
            assert response.status_code == 400, response.text
            assert response.json()["error"]["param"].startswith("metadata")
        lone = b'{"model_id": "bad", "provider_model_id": "scripted-model", "metadata": {"s": "\\ud800"}}'
        response = await stack.http.post("/v1/models", content=lone, headers={"content-type": "application/json"})
        assert response.status_code == 400 and response.json()["error"]["param"].startswith("metadata")
        listing = await stack.http.get("/v1/models")
        assert listing.status_code == 200 and "bad" not in {m["id"] for m in listing.json()["data"]}


async def test_one_unwritable_model_is_left_out_of_the_listing_not_a_500():
    async with polystack.connect(scripted_config()) as stack:
        table = stack.stack.impls["models"]
        table._models["bad"] = Model.model_construct(
            identifier="bad", provider_id="scripted", provider_resource_id="x", type="model", owner=None,
            metadata={"n": 2**70}, model_type=ModelType.llm, source=ModelSource.via_register_api, created=0)
        listing = await stack.http.get("/v1/models")
        assert listing.status_code == 200
        assert "scripted/scripted-model" in {m["id"] for m in listing.json()["data"]}
