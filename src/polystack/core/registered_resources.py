"""`registered_resources`: typed resources the run config registers at startup, and the check that each
list is read by a served API (a list nothing reads would be accepted and ignored, so it stops the server).

Which API reads a list is declared by that API's spec (`ApiSpec.registered_resources`, apis/catalog.py):
inference reads `models`, tool_runtime `tool_groups`, safety
`shields`. The other lists are typed here with Llama Stack's fields,
so a config is checked before their APIs arrive; until an API's spec claims its list, entries in it are refused.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from polystack.apis.catalog import CATALOG
from polystack.apis.models.types import ModelType
from polystack.core.errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class ModelInput(_Strict):
    model_id: str
    provider_id: str | None = None
    provider_model_id: str | None = None
    model_type: ModelType | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class ShieldInput(_Strict):
    shield_id: str
    provider_id: str | None = None
    provider_shield_id: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class VectorStoreInput(_Strict):
    vector_store_id: str
    embedding_model: str
    embedding_dimension: int | None = Field(default=None, ge=1)
    provider_id: str | None = None
    provider_vector_store_id: str | None = None
    vector_store_name: str | None = None


class URIDataSource(_Strict):
    type: Literal["uri"] = "uri"
    uri: str


class RowsDataSource(_Strict):
    type: Literal["rows"] = "rows"
    rows: list[dict[str, Any]]


class DatasetInput(_Strict):
    dataset_id: str
    purpose: Literal["post-training/messages", "eval/question-answer", "eval/messages-answer"]
    source: URIDataSource | RowsDataSource = Field(discriminator="type")
    provider_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class ScoringFnInput(_Strict):
    scoring_fn_id: str
    description: str = ""
    return_type: dict[str, Any] = Field(default_factory=lambda: {"type": "number"})
    provider_id: str | None = None
    provider_scoring_fn_id: str | None = None
    params: dict[str, Any] | None = None


class BenchmarkInput(_Strict):
    benchmark_id: str
    dataset_id: str
    scoring_functions: list[str] = Field(min_length=1)
    provider_id: str | None = None
    provider_benchmark_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class MCPEndpoint(_Strict):
    uri: str


class ToolGroupInput(_Strict):
    toolgroup_id: str
    provider_id: str
    mcp_endpoint: MCPEndpoint | None = None
    args: dict[str, Any] | None = None


class PromptInput(_Strict):
    prompt_id: str = Field(pattern=r"^pmpt_[0-9a-f]{48}$")
    prompt: str
    variables: list[str] = Field(default_factory=list)


def _later(fields: str) -> str:
    return f"{fields}. Typed and checked, but no API reads this list yet: an entry stops the server."


class RegisteredResources(_Strict):
    """Resources registered at startup, each list read by the API whose spec claims it."""

    models: list[ModelInput] = Field(default_factory=list, description=(
        "Models or aliases, read by the inference API: `model_id`, `provider_id`, `provider_model_id`, "
        "`model_type`, `metadata`; `metadata.routing` gives a model deployments, retries, cooldowns, "
        "fallbacks and timeouts (docs/gateway.md)."))
    shields: list[ShieldInput] = Field(default_factory=list, description=(
        "Shields, read by the safety API: `shield_id`, `provider_id`, `provider_shield_id`, `params`."))
    vector_stores: list[VectorStoreInput] = Field(default_factory=list, description=_later(
        "`vector_store_id`, `embedding_model`, `embedding_dimension`, `provider_id`, `provider_vector_store_id`"))
    datasets: list[DatasetInput] = Field(default_factory=list, description=_later(
        "`dataset_id`, `purpose`, `source` ({type: uri, uri} or {type: rows, rows}), `provider_id`, `metadata`"))
    scoring_fns: list[ScoringFnInput] = Field(default_factory=list, description=_later(
        "`scoring_fn_id`, `description`, `return_type`, `provider_id`, `provider_scoring_fn_id`, `params`"))
    benchmarks: list[BenchmarkInput] = Field(default_factory=list, description=_later(
        "`benchmark_id`, `dataset_id`, `scoring_functions`, `provider_id`, `provider_benchmark_id`, `metadata`"))
    tool_groups: list[ToolGroupInput] = Field(default_factory=list, description=(
        "Tool groups, read by the tool_runtime API: `toolgroup_id`, `provider_id`, `mcp_endpoint` ({uri}), `args`."))
    prompts: list[PromptInput] = Field(default_factory=list, description=(
        "Prompts, read by the prompts API: `prompt_id` (pmpt_ + 48 hex digits), `prompt`, `variables`. Owned by "
        "nobody: readable by every caller, changed by none; a changed text becomes a new default version."))


def check_registered_resources(resources: RegisteredResources, served: list[str]) -> None:
    """Refuse a non-empty list that no served API reads: it would be accepted and ignored."""
    readers = {spec.registered_resources: spec.api for spec in CATALOG.values() if spec.registered_resources}
    for name in RegisteredResources.model_fields:
        if not getattr(resources, name):
            continue
        path = f"registered_resources.{name}"
        reader = readers.get(name)
        if reader is None:
            raise ConfigError(f"registering {name} at startup is not implemented yet (no API reads this list); "
                              "remove it", path=path)
        if reader not in served:
            spec = CATALOG[reader]
            fix = f"configure a provider under providers.{reader}" if spec.takes_providers else \
                f"add '{reader}' to apis: (a list of every API to serve)"
            raise ConfigError(f"{name} are read by the '{reader}' API, which this config does not serve "
                              f"({fix})", path=path)
