"""The API names and the resource base type shared by every API."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class Api(StrEnum):
    """Every API Polystack knows. Routers pair with a routing table (see ROUTED_APIS)."""

    inference = "inference"
    safety = "safety"
    vector_io = "vector_io"
    datasetio = "datasetio"
    scoring = "scoring"
    eval = "eval"
    tool_runtime = "tool_runtime"
    agents = "agents"
    files = "files"
    batches = "batches"
    post_training = "post_training"
    # routing tables
    models = "models"
    shields = "shields"
    vector_stores = "vector_stores"
    datasets = "datasets"
    scoring_functions = "scoring_functions"
    benchmarks = "benchmarks"
    tool_groups = "tool_groups"
    # built in
    inspect = "inspect"
    providers = "providers"
    prompts = "prompts"
    conversations = "conversations"


# router API -> the routing table API that holds its resources
ROUTED_APIS: dict[Api, Api] = {
    Api.inference: Api.models,
    Api.safety: Api.shields,
    Api.vector_io: Api.vector_stores,
    Api.datasetio: Api.datasets,
    Api.scoring: Api.scoring_functions,
    Api.eval: Api.benchmarks,
    Api.tool_runtime: Api.tool_groups,
}

BUILTIN_APIS: frozenset[Api] = frozenset({Api.inspect, Api.providers})


class User(BaseModel):
    """An authenticated principal and its attributes (roles, teams, ...)."""

    principal: str
    attributes: dict[str, list[str]] = Field(default_factory=dict)


class Resource(BaseModel):
    """Something users address by `identifier` and that one provider owns."""

    identifier: str
    provider_id: str
    provider_resource_id: str
    type: str
    owner: User | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
