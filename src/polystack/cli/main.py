"""`polystack` commands: run a distribution, list APIs/providers/distributions, print deps and configs."""

from __future__ import annotations

import os
from typing import Annotated

import typer
import yaml
from rich.console import Console
from rich.table import Column, Table

from polystack import __version__

app = typer.Typer(help="Polystack: one OpenAI-compatible API over many providers.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False, rich_markup_mode=None)
config_app = typer.Typer(help="Inspect run configs.", no_args_is_help=True)
app.add_typer(config_app, name="config")
db_app = typer.Typer(help="Storage backends: reachability and schema migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console()
errors = Console(stderr=True)


def _table(*headers: str) -> Table:
    """A table whose cells wrap, folding a long path or version onto the next line, never cut with an ellipsis."""
    return Table(*(Column(header, overflow="fold") for header in headers))


def _fail(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}", highlight=False, markup=True, soft_wrap=True)
    return typer.Exit(code=1)


def _apply_env(pairs: list[str]) -> None:
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise _fail(f"--env takes KEY=VALUE, got '{pair}'")
        os.environ[key] = value


def _load(name_or_path: str):  # type: ignore[no-untyped-def]
    from polystack.core.config import load_run_config, resolve_config_path
    from polystack.core.errors import ConfigError

    try:
        return load_run_config(resolve_config_path(name_or_path))
    except ConfigError as exc:
        raise _fail(str(exc)) from None


def _version(value: bool) -> None:
    if value:
        console.print(f"polystack {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                               help="Print the version.")] = False) -> None:
    """Polystack command line."""


@app.command()
def run(
    config: Annotated[str, typer.Argument(help="A distribution name (e.g. starter) or a path to a config YAML.")]
    = "starter",
    port: Annotated[int | None, typer.Option(help="Port to listen on (default: the config's, 8321).")] = None,
    host: Annotated[str | None, typer.Option(help="Address to bind (default: the config's, 127.0.0.1).")] = None,
    env: Annotated[list[str], typer.Option("--env", help="KEY=VALUE set before the config is read.")] = [],  # noqa: B006
    workers: Annotated[int | None, typer.Option(
        min=1, max=64, help="Worker processes on the one port (default: the config's server.workers, 1).")] = None,
) -> None:
    """Start the server."""
    from polystack.cli.startup import startup_status
    from polystack.core.errors import StackError
    from polystack.core.logging import setup_logging
    from polystack.core.server.run import run as run_server

    _apply_env(env)
    run_config = _load(config)
    if port is not None:  # 0 too: any free port
        run_config.server.port = port
    elif os.environ.get("POLYSTACK_PORT"):
        run_config.server.port = int(os.environ["POLYSTACK_PORT"])
    if host is not None:
        run_config.server.host = host
    if workers is not None:
        run_config.server.workers = workers
    setup_logging(run_config.logging)
    spinner = startup_status(run_config.distro_name)
    try:
        run_server(run_config, status=spinner)
    except StackError as exc:
        if spinner is not None:
            spinner.stop()
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:  # while starting: the stack has stopped what it started
        if spinner is not None:
            spinner.stop()


@app.command()
def status(
    url: Annotated[str | None, typer.Argument(help="The server (default: http://127.0.0.1:$POLYSTACK_PORT or 8321).")]
    = None,
    api_key: Annotated[str | None, typer.Option(envvar="POLYSTACK_API_KEY", show_envvar=False,
                                                help="Bearer token, if the server requires one.")] = None,
) -> None:
    """Check a running server: health, version, providers and their health, models. Exit 1 if not all OK."""
    from polystack.cli.status import check_server, render

    report = check_server(url or f"http://127.0.0.1:{os.environ.get('POLYSTACK_PORT') or 8321}", api_key=api_key)
    if report.error and not report.healthy and report.version is None:
        raise _fail(report.error)
    render(report, console)
    if report.error:
        errors.print(report.error, highlight=False, markup=False, soft_wrap=True)
    if not report.ok:
        raise typer.Exit(code=1)


@app.command("list-apis")
def list_apis() -> None:
    """List the APIs and their routes."""
    from polystack.apis.catalog import CATALOG

    table = _table("API", "Method", "Route")
    for api, entry in CATALOG.items():
        if entry.routes is None:
            continue
        for route in entry.router().routes:
            for method in sorted(getattr(route, "methods", ())):
                table.add_row(str(api), method, entry.prefixes[0] + getattr(route, "path", ""))
    console.print(table)


@app.command("list-providers")
def list_providers(api: Annotated[str | None, typer.Argument(help="Only this API, e.g. inference.")] = None) -> None:
    """List the provider types (imports no provider code)."""
    from polystack.providers.registry import all_specs

    table = _table("API", "Provider type", "Description", "Packages")
    for spec in sorted(all_specs().values(), key=lambda s: (str(s.api), s.provider_type)):
        if api and str(spec.api) != api:
            continue
        table.add_row(str(spec.api), spec.provider_type, spec.description,
                      "\n".join(spec.pip_packages) or "-")
    if api and not table.rows:
        raise _fail(f"no providers for API '{api}'")
    console.print(table)


@app.command("list")
def list_distributions() -> None:
    """List the bundled distributions."""
    from polystack.core.config import DISTRIBUTIONS_DIR, available_distributions

    table = _table("Distribution", "Description", "Config")
    for name in available_distributions():
        path = DISTRIBUTIONS_DIR / name / "config.yaml"
        description = (yaml.safe_load(path.read_text()) or {}).get("description", "")
        table.add_row(name, description, str(path))
    console.print(table)


@app.command("list-deps")
def list_deps(config: Annotated[str, typer.Argument(help="A distribution name or a config path.")]) -> None:
    """Print a distribution's pip requirements, one per line.

    The output pipes into pip: `polystack list-deps starter | xargs pip install`.
    """
    from polystack.core.storage.config import BACKEND_PACKAGES
    from polystack.providers.registry import all_specs

    run_config = _load(config)
    specs = all_specs()
    packages: dict[str, None] = {}
    for api, entries in run_config.providers.items():
        for entry in entries:
            spec = specs.get((api, entry.provider_type))
            if spec is None:
                raise _fail(f"unknown provider type '{entry.provider_type}' for API '{api}'")
            packages.update(dict.fromkeys(spec.pip_packages))
    for backend in run_config.storage.backends.values():
        packages.update(dict.fromkeys(BACKEND_PACKAGES.get(backend.type, ())))
    for package in packages:
        print(package)


def _storage_table(config: str, *, migrate: bool) -> None:
    import asyncio

    from polystack.core.storage.admin import inspect_storage

    run_config = _load(config)
    if not run_config.storage.backends:
        console.print(f"{run_config.distro_name} configures no storage backends: everything stays in memory.")
        return
    reports = asyncio.run(inspect_storage(run_config, migrate=migrate))
    table = _table("Backend", "Type", "Address", "Stores", "Status", "Migrations")
    for report in reports:
        if not report.reachable:
            status = f"[red]unreachable[/]: {report.error}"
        elif not report.exists:
            status = "[yellow]not created yet[/] (the server or `db migrate` creates it)"
        else:
            status = "[green]ok[/]"
        applied = ", ".join(f"{component} v{version}" for component, version in sorted(report.migrations.items()))
        if migrate and report.ran:
            applied = f"{applied} ([bold]{report.ran} applied now[/])"
        table.add_row(report.name, report.type, report.address, ", ".join(report.stores) or "-", status,
                      applied or "-")
    console.print(table)
    if not all(report.reachable for report in reports):
        raise typer.Exit(code=1)


@db_app.command("migrate")
def db_migrate(config: Annotated[str, typer.Argument(help="A distribution name or a config path.")]) -> None:
    """Create or upgrade the tables of every store (also done at server start)."""
    _storage_table(config, migrate=True)


@db_app.command("status")
def db_status(config: Annotated[str, typer.Argument(help="A distribution name or a config path.")]) -> None:
    """Check that every backend is reachable and show the applied migrations."""
    _storage_table(config, migrate=False)


@config_app.command("show")
def config_show(config: Annotated[str, typer.Argument(help="A distribution name or a config path.")]) -> None:
    """Print the resolved config: env substituted, disabled providers dropped, every default filled in, secrets
    redacted. docs/configuration.md describes each key."""
    from polystack.core.config import redact, with_defaults

    run_config = _load(config)
    print(yaml.safe_dump(redact(with_defaults(run_config)), sort_keys=False, width=1000), end="")


if __name__ == "__main__":
    app()

