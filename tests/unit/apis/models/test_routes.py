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
        table._cache["bad"] = Model.model_construct(
            identifier="bad", provider_id="scripted", provider_resource_id="x", type="model", owner=None,
            metadata={"n": 2**70}, model_type=ModelType.llm, source=ModelSource.via_register_api, created=0)
        listing = await stack.http.get("/v1/models")
        assert listing.status_code == 200
        assert "scripted/scripted-model" in {m["id"] for m in listing.json()["data"]}


async def test_an_embedding_model_with_a_non_numeric_dimension_is_400_naming_metadata():
    async with polystack.connect(scripted_config()) as stack:
        body = {"model_id": "emb", "provider_model_id": "scripted-model", "model_type": "embedding",
                "metadata": {"embedding_dimension": "wide"}}
        response = await stack.http.post("/v1/models", json=body)
        assert response.status_code == 400 and response.json()["error"]["param"] == "metadata"
        assert "embedding_dimension" in response.json()["error"]["message"]


async def test_a_short_model_name_is_served_and_a_listed_id_cannot_be_registered_over():
    async with polystack.connect(scripted_config()) as stack:
        reply = await stack.openai.chat.completions.create(
            model="scripted-model", messages=[{"role": "user", "content": "hi"}])
        assert reply.choices[0].message.content == "hi"
        assert (await stack.http.get("/v1/models/scripted-model")).json()["id"] == "scripted/scripted-model"
        taken = await stack.http.post("/v1/models", json={"model_id": "scripted/scripted-model",
                                                          "provider_model_id": "scripted-embedding"})
        assert taken.status_code == 409 and taken.json()["error"]["param"] == "model_id"
        assert (await stack.http.delete("/v1/models/scripted/scripted-model")).status_code == 400
        assert (await stack.http.delete("/v1/models/scripted-model")).status_code == 404
