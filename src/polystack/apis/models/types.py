"""Model resources and their OpenAI-shaped listing."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from polystack.apis.datatypes import Resource
from polystack.apis.json_values import json_problem


class ModelType(StrEnum):
    llm = "llm"
    embedding = "embedding"
    rerank = "rerank"


class ModelSource(StrEnum):
    """Where a model entry came from: refreshed from its provider, or registered by a user/config."""

    listed_from_provider = "listed_from_provider"
    via_register_api = "via_register_api"


class ProviderModel(BaseModel):
    """A model as a provider reports it, in the provider's own naming."""

    provider_resource_id: str
    model_type: ModelType = ModelType.llm
    metadata: dict[str, Any] = Field(default_factory=dict)


class Model(Resource):
    """A served model. `identifier` is what users pass as `model`."""

    type: Literal["model"] = "model"
    model_type: ModelType = ModelType.llm
    source: ModelSource = ModelSource.via_register_api
    created: int = 0

    @model_validator(mode="after")
    def _embedding_has_dimension(self) -> Model:
        if self.model_type == ModelType.embedding and "embedding_dimension" not in self.metadata:
            raise ValueError("an embedding model needs metadata.embedding_dimension")
        check_embedding_dimension(self.metadata)
        return self

    def to_openai(self) -> dict[str, Any]:
        """OpenAI's model object plus Llama Stack's `custom_metadata`."""
        return {
            "id": self.identifier,
            "object": "model",
            "created": self.created,
            "owned_by": self.provider_id,
            "custom_metadata": {
                "model_type": self.model_type.value,
                "provider_id": self.provider_id,
                "provider_resource_id": self.provider_resource_id,
                **self.metadata,
            },
        }


class RegisterModelRequest(BaseModel):
    """POST /v1/models: register a provider model, or an alias (`model_id`) for one."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model_id: str = Field(min_length=1, description="The identifier users will pass as `model`.")
    provider_model_id: str | None = Field(
        default=None, description="The provider's own name; defaults to model_id without the provider prefix."
    )
    provider_id: str | None = Field(default=None, description="Which provider serves it; inferred if unique.")
    model_type: ModelType | None = None
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Free-form; `embedding_dimension` (a positive integer) for embedding models."
    )

    @field_validator("metadata")
    @classmethod
    def _storable(cls, metadata: dict[str, Any]) -> dict[str, Any]:
        # refused here, or the model would be stored and then break GET /v1/models for every caller
        problem = json_problem(metadata)
        if problem is not None:
            raise ValueError(f"'{problem[0]}': {problem[1]}")
        return check_embedding_dimension(metadata)


def check_embedding_dimension(metadata: dict[str, Any]) -> dict[str, Any]:
    """`embedding_dimension`, when present, is a positive integer (vector stores size their indexes by it)."""
    dimension = metadata.get("embedding_dimension", 1)
    if isinstance(dimension, bool) or not isinstance(dimension, int) or dimension < 1:
        raise ValueError(f"embedding_dimension must be a positive integer, not {dimension!r}")
    return metadata


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[dict[str, Any]]


class OpenAIModel(BaseModel):
    """The model object the routes answer with (`Model.to_openai()`): OpenAI's fields plus `custom_metadata`."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str
    custom_metadata: dict[str, Any] = Field(
        description="model_type, provider_id, provider_resource_id and the model's metadata.")


class OpenAIModelList(BaseModel):
    """GET /v1/models as documented (ModelList, with its entries typed)."""

    object: Literal["list"] = "list"
    data: list[OpenAIModel]
