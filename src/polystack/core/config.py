"""The run config: schema, loading from YAML with env substitution, and located validation errors."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ByteSize,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from polystack.core.access.config import AuthConfig
from polystack.core.env_substitution import substitute_env
from polystack.core.errors import ConfigError
from polystack.core.keys.config import AuditConfig, KeysConfig
from polystack.core.quotas.config import QuotaConfig
from polystack.core.registered_resources import ModelInput as ModelInput  # re-exported
from polystack.core.registered_resources import RegisteredResources
from polystack.core.settings import not_implemented, refuse_unimplemented
from polystack.core.storage.config import KVStoreReference, StorageConfig

DISABLED = "__disabled__"
STORE_DIR_ENV = "POLYSTACK_STORE_DIR"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class ProviderConfig(_Strict):
    """One provider instance: its id, its type and its own config (validated by its config class)."""

    provider_id: str
    provider_type: str = Field(pattern=r"^(inline|remote)::[a-z0-9_.-]+$")
    config: dict[str, Any] = Field(default_factory=dict)
    module: str | None = Field(default=None, description="Module of an external provider package.")


MiB = 1024 * 1024


class LimitsConfig(_Strict):
    """What one request may cost: body sizes, how long a client may take to send it, and JSON nesting."""

    max_body_bytes: ByteSize = Field(
        default=ByteSize(16 * MiB), ge=1024,
        description="Largest request body (JSON) accepted (bytes, or a size such as `16MiB`); a bigger one gets 413 "
        "in OpenAI's error shape as soon as its Content-Length, or its bytes so far, pass this. Uploads to "
        "/v1/files instead get the files provider's max_upload_bytes (plus 1 MiB for the form around the file).")
    body_limits: dict[str, ByteSize] = Field(
        default_factory=dict,
        description="Limits per route family, by path prefix: e.g. `{/v1/chat/completions: 4MiB, /v1/embeddings: "
        "1MiB, /v1/files: 1GiB}`. The longest prefix matching whole path segments wins (under /v1/openai/v1 too); "
        "a path no prefix matches gets max_body_bytes (or, for an upload, the files provider's limit).")
    header_timeout_seconds: float = Field(
        default=10, gt=0,
        description="A connection whose request line and headers are not all in by then gets 408 and is closed.")
    keep_alive_timeout_seconds: float = Field(
        default=30, gt=0,
        description="An idle keep-alive connection is closed after this long. Longer than the 5 s clients keep idle "
        "connections by default (httpx, the openai SDK), so a client never sends a request on a connection the "
        "server is closing at that moment.")
    body_timeout_seconds: float = Field(
        default=30, gt=0,
        description="A body must arrive within this many seconds of its headers, plus the time its bytes take at "
        "min_body_bytes_per_second; a slower one gets 408 and the connection is closed.")
    min_body_bytes_per_second: int = Field(
        default=32 * 1024, ge=1,
        description="The slowest average rate at which a large body (an upload) is still waited for.")
    max_json_depth: int = Field(
        default=64, ge=2, le=200, description="Deepest nesting of objects and arrays accepted in a JSON body.")

    @field_validator("body_limits")
    @classmethod
    def _prefixes_are_paths(cls, value: dict[str, ByteSize]) -> dict[str, ByteSize]:
        for prefix, size in value.items():
            if not prefix.startswith("/") or any(c.isspace() or c in "?#" for c in prefix):
                raise ValueError(f"'{prefix}' is not a path prefix: write it as the route's path, e.g. /v1/files")
            if size < 1024:
                raise ValueError(f"the limit for '{prefix}' ({size} bytes) is under the 1024 bytes any request needs")
        return {prefix.rstrip("/") or "/": size for prefix, size in value.items()}


class CorsConfig(_Strict):
    """Which browser origins may call the server (Starlette's CORSMiddleware, Llama Stack's field names)."""

    allow_origins: list[str] = Field(default_factory=list, description="Origins allowed, e.g. "
                                     "`https://app.example.com`; `*`: any (not with allow_credentials).")
    allow_origin_regex: str | None = Field(default=None, description="Origins matching this regex are allowed too.")
    allow_methods: list[str] = Field(default_factory=lambda: ["GET", "POST", "DELETE", "OPTIONS"],
                                     description="Methods a cross-origin request may use.")
    allow_headers: list[str] = Field(
        default_factory=lambda: ["Authorization", "Content-Type", "X-LlamaStack-Provider-Data", "X-Request-ID"],
        description="Request headers a cross-origin request may send.")
    allow_credentials: bool = Field(default=False, description="Let browsers send cookies and HTTP auth.")
    expose_headers: list[str] = Field(default_factory=lambda: ["X-Request-ID"],
                                      description="Response headers the browser's script may read.")
    max_age: int = Field(default=600, ge=0, description="Seconds a browser may cache a preflight answer.")

    @model_validator(mode="after")
    def _no_credentials_for_everyone(self) -> CorsConfig:
        if self.allow_credentials and "*" in self.allow_origins:
            raise ValueError("allow_credentials with allow_origins '*' would let any web site call the server "
                             "with its visitors' credentials; list the origins")
        return self


LOCAL_DEVELOPMENT_CORS = CorsConfig(allow_origin_regex=r"https?://(localhost|127\.0\.0\.1)(:\d+)?")


class ServerConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8321, ge=0, le=65535, description="0 picks a free port (the ready line names it).")
    workers: int = Field(
        default=1, ge=1, le=64,
        description="Worker processes serving the one port (`--workers`). Each is a full stack (every embedded "
        "model loaded once per worker) sharing the stores as replicas do, so the registry and every store must be "
        "in files or databases, not in memory; a worker that dies is restarted. See docs/deployment.md.")
    tls_certfile: str | None = None
    tls_keyfile: str | None = None
    tls_cafile: str | None = None
    auth: AuthConfig | None = Field(default=None, description="Who may call (API keys, OAuth2/OIDC tokens, GitHub "
                                     "tokens, a custom endpoint) and the access policy; unset: no authentication, "
                                     "every caller sees everything.")
    quota: QuotaConfig | None = Field(default=None, description="Request and token quotas (Llama Stack's "
                                      "per-period request limit, and rules per principal, key, team and model); "
                                      "counted in storage.stores.quotas. Unset: no quota.")
    keys: KeysConfig = Field(default_factory=KeysConfig, description="Virtual API keys (/v1/keys), with auth on.")
    audit: AuditConfig = Field(default_factory=AuditConfig, description="The audit log (/v1/audit), with auth on.")
    cors: CorsConfig | None = Field(default=None, description="CORS headers for browser clients: a mapping, or "
                                    "`true` for pages served from localhost (development); unset or false: none.")
    limits: LimitsConfig = Field(default_factory=LimitsConfig, description="Request size and time limits.")

    @field_validator("tls_certfile", "tls_keyfile", "tls_cafile", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: Any) -> Any:
        return None if value == "" else value  # `${env.TLS_CERT:=}` left unset

    @model_validator(mode="after")
    def _tls_complete(self) -> ServerConfig:
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise ValueError("tls_certfile and tls_keyfile go together: set both to serve HTTPS")
        if self.tls_cafile is not None and self.tls_certfile is None:
            raise ValueError("tls_cafile (client certificates) needs tls_certfile and tls_keyfile")
        for name in ("tls_certfile", "tls_keyfile", "tls_cafile"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                raise ValueError(f"{name}: no file at {path}")
        return self

    @field_validator("cors", mode="before")
    @classmethod
    def _cors_shorthand(cls, value: Any) -> Any:
        if value is True or value == "true":
            return LOCAL_DEVELOPMENT_CORS
        return None if value is False or value == "false" else value

    def cors_config(self) -> CorsConfig | None:
        return self.cors


class MetricsConfig(_Strict):
    """Prometheus metrics at `/metrics` (see core/telemetry/metrics.py)."""

    enabled: bool = Field(default=True, description="Count requests, tokens, latency and cache hits; serve `/metrics`.")
    auth: Literal["api", "open"] = Field(
        default="api", description="`api`: `/metrics` needs the same key as the API (when `server.auth` is set); "
        "`open`: anyone who reaches the port may scrape it.")


class TelemetryConfig(_Strict):
    enabled: bool = Field(
        default=False, description="OpenTelemetry traces, exported by OTLP as the standard OTEL_* variables say "
        "(OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf, OTEL_SERVICE_NAME, ...). Also on "
        "when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set; off: no span is created.")
    service_name: str = Field(default="polystack", description="`service.name` unless OTEL_SERVICE_NAME is set.")
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)


CachedKind = Literal["chat_completion", "completion", "embeddings"]
CACHED_KINDS: tuple[CachedKind, ...] = ("chat_completion", "completion", "embeddings")


class ResponseCacheConfig(_Strict):
    """Exact-match cache of chat completions, completions and embeddings (see core/cache/__init__.py)."""

    enabled: bool = Field(default=False, description="Opt-in: an identical request is answered from the cache.")
    store: KVStoreReference | None = Field(
        default=None, description="A KV backend of `storage.backends` (e.g. Redis, shared by replicas); unset: "
        "in this process's memory, least recently used entries evicted first.")
    ttl_seconds: float = Field(default=300, gt=0, description="How long an answer is served from the cache.")
    max_entries: int = Field(default=10_000, ge=1, description="In memory: entries kept at most.")
    max_bytes: int = Field(default=64 * 1024 * 1024, ge=1, description="In memory: bytes of answers kept at most.")
    max_entry_bytes: int = Field(default=1024 * 1024, ge=1, description="A larger answer is not cached.")
    shared: bool = Field(default=False, description="Share entries between principals (callers); default: "
                         "each caller has its own entries.")
    kinds: list[CachedKind] = Field(default_factory=lambda: list(CACHED_KINDS), description="Calls cached.")


class ModelsConfig(_Strict):
    refresh_interval_seconds: float = Field(default=300, ge=0, description="0 turns periodic refresh off.")
    registry_cache_seconds: float = Field(
        default=5, ge=0, description="How stale this replica's view of models registered elsewhere may be.")


class ContextualRetrievalParams(_Strict):
    """Server defaults of chunking_strategy {type: contextual} (Llama Stack's contextual retrieval)."""

    model: str | None = Field(default=None, description="Chat model used when a request names none, e.g. "
                              "llama-cpp/SmolLM2-135M-Instruct; without one, a contextual request must name it.")
    default_timeout_seconds: float = Field(default=120, gt=0, description="Per model call.")
    default_max_concurrency: int = Field(default=3, ge=1, description="Model calls at once, per file.")
    max_document_tokens: int = Field(
        default=100_000, ge=1, description="Longest document (about 4 characters a token) whose chunks are "
        "situated: each call carries the whole document; a longer one fails alone.")


class VectorStoresConfig(_Strict):
    """Defaults for POST /v1/vector_stores and the ingestion pipeline."""

    default_provider_id: str | None = Field(default=None, description="Default: the first vector_io provider.")
    default_embedding_model: str | None = Field(default=None, description="e.g. onnx/all-MiniLM-L6-v2")
    ingestion_concurrency: int = Field(default=2, ge=1, description="Files parsed and embedded at once.")
    embedding_batch_size: int = Field(default=32, ge=1)
    max_file_bytes: int | None = Field(
        default=None, ge=1,
        description="Largest file ingested into a vector store, checked from the file's recorded size before a "
        "byte is read; a bigger file fails alone (last_error invalid_file). Default: the files provider's "
        "max_upload_bytes (512 MiB), so every file the server accepts can be ingested.")
    default_query_expansion_model: str | None = Field(
        default=None, description="Chat model that rewrites queries of searches with rewrite_query=true.")
    query_expansion_prompt: str | None = Field(default=None, description="Its system prompt (default: built in).")
    query_expansion_max_tokens: int = Field(default=100, ge=1)
    query_expansion_temperature: float = Field(default=0.3, ge=0, le=2)
    contextual_retrieval_params: ContextualRetrievalParams = Field(default_factory=ContextualRetrievalParams)


class GuardrailShields(_Strict):
    """Shields run on the input (the conversation, before the model is called) and on the output."""

    input_shields: list[str] = Field(default_factory=list, description="Shield ids run on the request's "
                                     "messages; a violation answers a refusal without calling the model.")
    output_shields: list[str] = Field(default_factory=list, description="Shield ids run on the answer (a stream "
                                      "in batches of text); a violation ends it with a refusal.")


class GuardrailsConfig(GuardrailShields):
    """Guardrails on chat completions and responses: these shields for every model, plus those of `models`."""

    models: dict[str, GuardrailShields] = Field(
        default_factory=dict, description="Per model id (as served, e.g. llama-cpp/SmolLM2-135M-Instruct): more "
        "input and output shields for that model only.")


class SafetyConfig(_Strict):
    """The Safety API's server settings: the default moderation shield and guardrails on chat completions."""

    default_moderation_shield: str | None = Field(
        default=None, description="Shield used by POST /v1/moderations when the request names no `model`.")
    fail_open: bool = Field(
        default=False, description="When a shield cannot judge (its guard is down): false (default) fails the "
        "request with 502 naming the shield; true lets the text through and logs a warning.")
    output_check_chars: int = Field(
        default=200, ge=1, description="A streamed answer is held back and checked by the output shields every "
        "this many characters (and at its end), not per token.")
    guardrails: GuardrailsConfig = Field(default_factory=GuardrailsConfig)


class InferenceHookConfig(_Strict):
    """One hook of the chain run around every inference call (see polystack/core/routing/hooks.py)."""

    factory: str = Field(pattern=r"^[A-Za-z_][\w.]*(:[A-Za-z_]\w*)?$",
                         description="'package.module:function': an async (config, impls) -> hook.")
    config: dict[str, Any] = Field(default_factory=dict, description="Passed to the factory as is.")


class RunConfig(_Strict):
    version: int = 2
    distro_name: str
    description: str = ""
    apis: list[str] = Field(default_factory=list, description="APIs to serve (default: those with providers).")
    providers: dict[str, list[ProviderConfig]] = Field(default_factory=dict)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    registered_resources: RegisteredResources = Field(default_factory=RegisteredResources)
    server: ServerConfig = Field(default_factory=ServerConfig)
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig)
    response_cache: ResponseCacheConfig = Field(default_factory=ResponseCacheConfig)
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    vector_stores: VectorStoresConfig = Field(default_factory=VectorStoresConfig)
    safety: SafetyConfig = Field(default_factory=SafetyConfig, description="Moderations default and guardrails.")
    inference_hooks: list[InferenceHookConfig] = Field(
        default_factory=list, description="Run in this order around every inference call: guardrails, "
        "quotas, metering, tracing. Empty: no cost.")
    logging: dict[str, str] | None = None
    external_providers_dir: Any = not_implemented("A folder of external provider specs (use `module:` instead).")

    _unimplemented = refuse_unimplemented("external_providers_dir")

    @model_validator(mode="after")
    def _one_store_dir(self, info: ValidationInfo) -> RunConfig:
        """storage.store_dir as configured, else $POLYSTACK_STORE_DIR, else the distribution's own folder."""
        if self.storage.store_dir is None:
            import os

            env = (info.context or {}).get("env", os.environ)
            self.storage.store_dir = env.get(STORE_DIR_ENV) or f"~/.polystack/distributions/{self.distro_name}"
        return self

    @field_validator("apis")
    @classmethod
    def _known_apis(cls, apis: list[str]) -> list[str]:
        from polystack.apis.catalog import CATALOG

        for api in apis:
            if api not in CATALOG:
                raise ValueError(f"unknown API '{api}' (known: {', '.join(sorted(CATALOG))})")
        return apis

    def served_apis(self) -> list[str]:
        return list(self.apis) if self.apis else list(self.providers)


def location(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as a key path: providers.inference[0].config.url."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def problem_of(error: Any) -> str:
    """A pydantic error as a user reads it: an unknown key says so; "Value error, " prefixes are dropped."""
    if error["type"] == "extra_forbidden":
        return "unknown setting: no such key here (check its spelling and its indentation)"
    message: str = error["msg"]
    return message.removeprefix("Value error, ")


def _drop_disabled_providers(raw: dict[str, Any], env: Mapping[str, str]) -> None:
    """Remove provider entries whose provider_id resolves empty, before their config is expanded."""
    providers = raw.get("providers")
    if not isinstance(providers, dict):
        return
    for api, entries in providers.items():
        if not isinstance(entries, list):
            continue
        kept = []
        for index, entry in enumerate(entries):
            if isinstance(entry, dict) and "provider_id" in entry:
                provider_id = substitute_env(entry["provider_id"], env, f"providers.{api}[{index}].provider_id")
                if provider_id in (None, "", DISABLED):
                    continue
                entry = {**entry, "provider_id": provider_id}
            kept.append(entry)
        providers[api] = kept


def _drop_disabled_resources(resources: Any) -> None:
    if not isinstance(resources, dict):
        return
    for kind, entries in resources.items():
        if isinstance(entries, list):
            resources[kind] = [e for e in entries if not (isinstance(e, dict) and "provider_id" in e
                                                           and e["provider_id"] in (None, "", DISABLED))]


def parse_run_config(raw: Any, *, file: str | None = None, env: Mapping[str, str] | None = None) -> RunConfig:
    """Validate a raw config mapping after env substitution; errors name the file and key path."""
    import os

    env = os.environ if env is None else env
    if not isinstance(raw, dict):
        raise ConfigError("the config must be a YAML mapping", file=file)
    raw = dict(raw)
    try:
        _drop_disabled_providers(raw, env)
        expanded = substitute_env(raw, env)
    except ConfigError as exc:
        raise ConfigError(exc.problem, path=exc.path, file=file) from None
    _drop_disabled_resources(expanded.get("registered_resources"))
    try:
        return RunConfig.model_validate(expanded, context={"env": env})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(problem_of(first), path=location(first["loc"]), file=file) from None


def load_run_config(path: Path, env: Mapping[str, str] | None = None) -> RunConfig:
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read the config: {exc.strerror}", file=str(path)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file=str(path)) from None
    server = raw.get("server") if isinstance(raw, dict) else None
    if isinstance(server, dict) and "auth" in server and server["auth"] is None:
        # `auth:` written with nothing under it: never read as "no authentication"
        raise ConfigError("auth is empty: give it a provider_config (or remove the auth key for no authentication)",
                          path="server.auth", file=str(path))
    return parse_run_config(raw, file=str(path), env=env)


DISTRIBUTIONS_DIR = Path(__file__).resolve().parent.parent / "distributions"


def available_distributions() -> list[str]:
    return sorted(p.parent.name for p in DISTRIBUTIONS_DIR.glob("*/config.yaml"))


def resolve_config_path(name_or_path: str) -> Path:
    """A YAML path as given, or the config of a bundled distribution."""
    candidate = Path(name_or_path).expanduser()
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        if not candidate.is_file():
            raise ConfigError(f"config file '{name_or_path}' does not exist")
        return candidate
    bundled = DISTRIBUTIONS_DIR / name_or_path / "config.yaml"
    if bundled.is_file():
        return bundled
    import difflib

    names = available_distributions()
    close = difflib.get_close_matches(name_or_path, names, n=3)
    hint = f" Did you mean: {', '.join(close)}?" if close else f" Available: {', '.join(names)}."
    raise ConfigError(f"'{name_or_path}' is neither a config file nor a distribution.{hint}")


def with_defaults(config: RunConfig) -> dict[str, Any]:
    """The config as the server uses it: every key with its default, provider configs included (`config show`).

    A provider config its class rejects is shown as written: `polystack run` reports the problem.
    """
    from polystack.providers.registry import all_specs

    specs = all_specs()
    shown = config.model_dump(mode="json")
    for api, entries in config.providers.items():
        for entry, dumped in zip(entries, shown["providers"][api], strict=True):
            spec = specs.get((api, entry.provider_type))
            if spec is None:
                continue
            try:
                dumped["config"] = spec.load_config_class().model_validate(entry.config).model_dump(mode="json")
            except (ValidationError, ImportError):
                pass
    return shown


def redact(value: Any) -> Any:
    """A JSON-able copy of a config with every secret masked.

    Masked: SecretStr values, values under secret-named keys (api_key, password, secret_access_key, ...),
    header values (extra_headers), passwords inside URLs, and those values wherever else they appear.
    """
    from polystack.core import secrets

    known = sorted(set(secrets.collect(value)), key=len, reverse=True)
    return _redact(value, known, secret=False)


def _redact(value: Any, known: list[str], *, secret: bool) -> Any:
    from polystack.core import secrets

    if isinstance(value, BaseModel):
        return _redact(value.model_dump(mode="python"), known, secret=secret)
    if isinstance(value, SecretStr):
        return secrets.MASK if value.get_secret_value() else ""
    if isinstance(value, dict):
        return {k: _redact(v, known, secret=secret or secrets.is_secret_name(str(k)) or secrets.is_headers_name(str(k)))
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v, known, secret=secret) for v in value]
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str):
        if secret and value:
            return secrets.MASK
        for item in known:
            value = value.replace(item, secrets.MASK)
        return secrets.scrub(value)
    return value


StoreKind = Literal["kv", "sql"]
