"""The run config reference (docs/configuration.md) generated from the pydantic config models themselves.

Every key with its type, default and description, the config of every provider type, and the bundled
distributions as examples. A test compares the generated part of the doc with this, so neither drifts.
Regenerate with `python -m polystack.core.config_reference --write docs/configuration.md`.
"""

from __future__ import annotations

import json
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from polystack.core.config import DISTRIBUTIONS_DIR, ProviderConfig, RunConfig, available_distributions
from polystack.core.storage.config import StorageConfig

BEGIN = "<!-- BEGIN GENERATED: python -m polystack.core.config_reference --write docs/configuration.md -->"
END = "<!-- END GENERATED -->"

# Keys whose value is a mapping of names (or a list) of models, documented with a placeholder segment.
_MAPPINGS = {"providers": "providers.<api>[]", "storage": None}


# What a key means, for fields whose model carries no description of its own.
NOTES = {
    "version": "Config format version.",
    "distro_name": "The distribution's name: in logs, `polystack list` and store folders.",
    "description": "One line shown by `polystack list`.",
    "apis": "APIs to serve; empty means every API that has a provider.",
    "providers": "Provider instances per API (`inference`, `files`, `vector_io`: the catalog's APIs); see below.",
    "storage": "Named storage backends and which one each store uses; see below.",
    "registered_resources": "Resources registered at startup.",
    "server": "The HTTP server.",
    "server.host": "Address to bind; `--host` overrides it.",
    "server.port": "Port to listen on; `--port`, then POLYSTACK_PORT, override it.",
    "server.tls_certfile": "PEM certificate: serve HTTPS.",
    "server.tls_keyfile": "PEM private key of the certificate.",
    "server.tls_cafile": "CA bundle: require client certificates signed by it.",
    "server.auth": "Authentication settings.",
    "telemetry": "Telemetry export.",
    "models": "The model registry.",
    "vector_stores": "Vector store defaults and ingestion.",
    "logging": "Log levels per logger, e.g. `{server: debug, access: warning}`, and `format: json` for JSON "
               "lines; POLYSTACK_LOGGING and POLYSTACK_LOG_FORMAT override.",
    "providers.<api>[].provider_id": "Its id, the prefix of its model ids; an empty value (e.g. an unset "
                                     "`${env.X:+id}`) drops the entry.",
    "providers.<api>[].provider_type": "`inline::<name>` or `remote::<name>`; `polystack list-providers` lists them.",
    "providers.<api>[].config": "The provider's own settings; see Provider configs.",
}


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation holds directly (through Optional, unions and Annotated)."""
    if get_origin(annotation) is Annotated:
        return _models_in(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        return [m for arg in get_args(annotation) for m in _models_in(arg)]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return []


def type_name(annotation: Any) -> str:
    """A short, readable type: `int`, `str | None`, `dict[str, Any]`, `'journal' | 'commit'`."""
    if get_origin(annotation) is Annotated:
        return type_name(get_args(annotation)[0])
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return " | ".join(type_name(arg) for arg in get_args(annotation))
    if origin is not None and getattr(origin, "__name__", "") == "Literal":
        return " | ".join(json.dumps(value) for value in get_args(annotation))
    if origin is not None:
        return f"{origin.__name__}[{', '.join(type_name(arg) for arg in get_args(annotation))}]"
    if annotation is type(None):
        return "null"
    if annotation is Any:
        return "Any"
    return getattr(annotation, "__name__", re.sub(r"\btyping\.", "", str(annotation)))


def default_text(field: FieldInfo) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value = field.default if field.default_factory is None else field.default_factory()  # type: ignore[call-arg]
    if isinstance(value, SecretStr):
        return "(secret)"
    if isinstance(value, BaseModel):
        return "see below" if type(value).model_fields else "{}"
    if hasattr(value, "value"):  # an Enum
        value = value.value
    return json.dumps(value, default=str)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def rows(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, str, str, str]]:
    """(key, type, default, description) for every field, depth first into nested models."""
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        yield key, type_name(field.annotation), default_text(field), field.description or NOTES.get(key, "")
        nested = _models_in(field.annotation)
        if len(nested) == 1 and name not in _MAPPINGS:
            yield from rows(nested[0], f"{key}.")


def table(entries: Iterator[tuple[str, str, str, str]]) -> str:
    lines = ["| Key | Type | Default | Description |", "|---|---|---|---|"]
    for key, kind, default, description in entries:
        lines.append(f"| `{key}` | `{_cell(kind)}` | `{_cell(default)}` | {_cell(description)} |")
    return "\n".join(lines)


def _backend_classes() -> list[type[BaseModel]]:
    backends = StorageConfig.model_fields["backends"].annotation
    return _models_in(get_args(backends)[1])


def _auth_provider_classes() -> list[type[BaseModel]]:
    from polystack.core.access.config import AuthProviderConfig

    return _models_in(AuthProviderConfig)


def _stores_model() -> type[BaseModel]:
    return _models_in(StorageConfig.model_fields["stores"].annotation)[0]


def generate() -> str:
    """The generated part of docs/configuration.md."""
    from polystack.providers.registry import all_specs

    parts = ["## Top-level keys", table(rows(RunConfig)),
             "## Providers (`providers.<api>[]`)", table(rows(ProviderConfig, "providers.<api>[]."))]
    parts.append("## Storage backends (`storage.backends.<name>`)")
    for backend in _backend_classes():
        kind = backend.model_fields["type"].default
        parts += [f"### `type: {kind}`", table(rows(backend, "storage.backends.<name>."))]
    parts += ["## Stores (`storage.stores`)", table(rows(_stores_model(), "storage.stores."))]
    parts.append("## Authentication providers (`server.auth.provider_config`)")
    for provider in _auth_provider_classes():
        kind = provider.model_fields["type"].default
        parts += [f"### `type: {kind}`", table(rows(provider, "server.auth.provider_config."))]
    parts.append("## Provider configs (`providers.<api>[].config`)")
    for spec in sorted(all_specs().values(), key=lambda s: (str(s.api), s.provider_type)):
        config_class = spec.load_config_class()
        entries = list(rows(config_class, "config."))
        body = table(iter(entries)) if entries else "No settings."
        parts += [f"### `{spec.provider_type}` ({str(spec.api)})", _cell(spec.description), body]
    parts.append("## Bundled distributions")
    for name in available_distributions():
        text = (DISTRIBUTIONS_DIR / name / "config.yaml").read_text().rstrip()
        parts += [f"### {name}", f"```yaml\n{text}\n```"]
    return "\n\n".join(parts) + "\n"


def generated_part(doc: str) -> str | None:
    """The text between the markers of a doc, or None without them."""
    start, end = doc.find(BEGIN), doc.find(END)
    return None if start < 0 or end < 0 else doc[start + len(BEGIN):end].strip("\n") + "\n"


def write(path: Path) -> None:
    doc = path.read_text()
    start, end = doc.index(BEGIN) + len(BEGIN), doc.index(END)
    path.write_text(doc[:start] + "\n\n" + generate() + "\n" + doc[end:])


if __name__ == "__main__":
    if sys.argv[1:2] == ["--write"]:
        write(Path(sys.argv[2]))
    else:
        print(generate(), end="")
