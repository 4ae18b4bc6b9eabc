"""The API names and the resource base type shared by every API."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class Api(StrEnum):
    """Names of the APIs Polystack ships or reserves. What an API is, and whether it is served at all, is
    its `ApiSpec` in apis/catalog.py; an API added by a package needs no member here (names are strings)."""

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
    models = "models"
    shields = "shields"
    vector_stores = "vector_stores"
    datasets = "datasets"
    scoring_functions = "scoring_functions"
    benchmarks = "benchmarks"
    tool_groups = "tool_groups"
    inspect = "inspect"
    providers = "providers"
    prompts = "prompts"
    conversations = "conversations"
    responses = "responses"


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
