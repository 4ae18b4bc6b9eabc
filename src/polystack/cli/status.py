"""`polystack status`: ask a running server for its health, version, providers (with theirs) and models."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table


@dataclass
class ServerStatus:
    url: str
    healthy: bool = False
    version: str | None = None
    providers: list[dict[str, Any]] = field(default_factory=list)
    models: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Reachable, healthy, and no provider reporting an error."""
        return self.healthy and self.error is None and not self.failing_providers

    @property
    def failing_providers(self) -> list[str]:
        return [p["provider_id"] for p in self.providers if (p.get("health") or {}).get("status") == "Error"]


def api_base(url: str) -> str:
    """`http://host:port`, `http://host:port/` or `.../v1` all mean the server's /v1."""
    url = url.rstrip("/")
    if "://" not in url:
        url = f"http://{url}"
    return url if url.endswith("/v1") else f"{url}/v1"


def check_server(url: str, *, api_key: str | None = None, timeout: float = 10,
                 transport: httpx.BaseTransport | None = None) -> ServerStatus:
    """Every question asked even when one fails, so the answer says as much as the server can."""
    base = api_base(url)
    status = ServerStatus(url=base)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    with httpx.Client(base_url=base, headers=headers, timeout=timeout, transport=transport) as client:
        try:
            health = client.get("/health")
        except httpx.HTTPError as exc:
            status.error = f"cannot reach {base}: {exc or type(exc).__name__}"
            return status
        status.healthy = health.status_code == 200 and health.json().get("status") == "OK"
        if not status.healthy:
            status.error = f"GET {base}/health answered {health.status_code}"
        for path, apply in (("/version", _version), ("/providers", _providers), ("/models", _models)):
            try:
                response = client.get(path)
                response.raise_for_status()
                apply(status, response.json())
            except (httpx.HTTPError, ValueError) as exc:
                status.error = status.error or f"GET {base}{path} failed: {exc}"
    return status


def _version(status: ServerStatus, body: dict[str, Any]) -> None:
    status.version = body.get("version")


def _providers(status: ServerStatus, body: dict[str, Any]) -> None:
    status.providers = list(body.get("data", []))


def _models(status: ServerStatus, body: dict[str, Any]) -> None:
    status.models = list(body.get("data", []))


def render(status: ServerStatus, console: Console) -> None:
    """The verdict line, then a table of providers and one of models."""
    verdict = "[green]healthy[/]" if status.ok else "[red]unhealthy[/]"
    console.print(f"{escape(status.url)}: {verdict}, Polystack {escape(status.version or '?')}", highlight=False)
    providers = Table(*(Column(h, overflow="fold") for h in ("Provider", "API", "Type", "Health")))
    for provider in status.providers:
        health = provider.get("health") or {}
        state = str(health.get("status", "?"))
        colour = {"OK": "green", "Error": "red"}.get(state, "dim")
        detail = f": {health['message']}" if health.get("message") else ""
        providers.add_row(escape(str(provider.get("provider_id"))), escape(str(provider.get("api"))),
                          escape(str(provider.get("provider_type"))), f"[{colour}]{escape(state)}[/]{escape(detail)}")
    console.print(providers)
    models = Table(*(Column(h, overflow="fold") for h in ("Model", "Type", "Provider")))
    for model in status.models:
        meta = model.get("custom_metadata") or {}
        models.add_row(*(escape(str(v)) for v in (model.get("id"), meta.get("model_type", ""),
                                                   meta.get("provider_id", ""))))
    console.print(models)
