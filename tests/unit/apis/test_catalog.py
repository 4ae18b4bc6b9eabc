"""An API is its spec: a new one is served, listed and ordered with no runtime change."""

import asyncio
import os
import subprocess
import sys

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner

import polystack
from polystack.apis.catalog import CATALOG, ApiSpec, register_api
from polystack.cli.main import app as cli
from polystack.core.config import parse_run_config
from polystack.core.errors import ConfigError
from polystack.core.resolver import plan
from polystack.core.server.app import create_app
from polystack.core.stack import Stack
from polystack.providers.registry import all_specs
from polystack.testing import echo_api
from polystack.testing.child_process import ChildProcess
from polystack.testing.tcp_proxy import unused_port


@pytest.fixture
def echo():
    with echo_api.registered() as spec:
        yield spec


def echo_config():
    return parse_run_config({
        "distro_name": "echo",
        "providers": {  # echo first: the resolver must still start inference before it
            "echo": [{"provider_id": "shouter", "provider_type": "inline::echo", "config": {"prefix": "> "}}],
            "inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}],
        },
    }, env={})


def test_new_api_is_resolved_after_the_apis_it_depends_on(echo):
    assert [p.api for p in plan(echo_config(), all_specs())] == ["inference", "echo"]


async def test_new_api_is_served_in_process_and_listed_by_inspect(echo):
    async with polystack.connect(echo_config()) as library:
        reply = await library.http.post("/v1/echo", json={"text": "hi"})
        assert reply.status_code == 200
        body = reply.json()
        assert body["text"] == "> hi" and body["provider_id"] == "shouter" and body["models_served"] > 0
        routes = (await library.http.get("/v1/inspect/routes")).json()["data"]
        assert {"route": "/v1/echo", "method": "POST", "provider_types": ["inline::echo"]} in routes
        providers = (await library.http.get("/v1/providers")).json()["data"]
        assert {"api": "echo", "provider_id": "shouter"} in [
            {"api": p["api"], "provider_id": p["provider_id"]} for p in providers]
        bad = await library.http.post("/v1/echo", json={"text": ""})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "text"


async def test_new_api_is_served_over_http(echo):
    stack = Stack(echo_config())
    port = unused_port()
    server = uvicorn.Server(uvicorn.Config(create_app(stack), host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            reply = await client.post("/v1/echo", json={"text": "over the wire"})
        assert reply.status_code == 200 and reply.json()["text"] == "> over the wire"
    finally:
        server.should_exit = True
        await task


def test_new_api_is_listed_by_list_apis(echo):
    listing = CliRunner().invoke(cli, ["list-apis"], env={"COLUMNS": "200"}).stdout
    assert "echo" in listing and "/v1/echo" in listing
    providers = CliRunner().invoke(cli, ["list-providers", "echo"], env={"COLUMNS": "200"}).stdout
    assert "inline::echo" in providers


def test_without_its_spec_the_api_is_unknown():
    assert "echo" not in CATALOG
    with pytest.raises(ConfigError) as info:
        plan(echo_config(), all_specs())
    assert info.value.path == "providers.echo" and "unknown API" in info.value.problem


def test_apis_served_by_the_stack_take_no_providers():
    config = parse_run_config({"distro_name": "x", "providers": {
        "inspect": [{"provider_id": "i", "provider_type": "inline::scripted"}]}}, env={})
    with pytest.raises(ConfigError, match="served by the stack itself"):
        plan(config, all_specs())


def test_registering_a_name_twice_with_another_spec_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        register_api(ApiSpec("inference"))


def test_unknown_api_in_apis_list_names_it():
    with pytest.raises(ConfigError) as info:
        parse_run_config({"distro_name": "x", "apis": ["inference", "post_training"]}, env={})
    assert info.value.path == "apis" and "post_training" in info.value.problem


def test_runtime_has_no_branch_on_an_api_name():
    """The seam holds: no `if api == ...` (or `api in (...)`) is left in the runtime."""
    import re
    from pathlib import Path

    core = Path(polystack.__file__).parent / "core"
    offenders = [f"{path.name}:{number}" for path in core.rglob("*.py")
                 for number, line in enumerate(path.read_text().splitlines(), 1)
                 if re.search(r"\bif\b.*\bapi\b\s*(==|in)\s*(Api\.|\()", line)]
    assert offenders == []




def test_an_installed_api_package_is_served_by_polystack_run(tmp_path):
    """A package declaring its ApiSpec under the `polystack.apis` entry point is served by a real server."""
    dist = tmp_path / "site" / "echo_plugin-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[polystack.apis]\necho = polystack.testing.echo_api:SPEC\n")
    config = tmp_path / "run.yaml"
    port = unused_port()
    config.write_text(
        "distro_name: echo-plugin\n"
        "providers:\n"
        "  echo: [{provider_id: shouter, provider_type: 'inline::echo', config: {prefix: '! '}}]\n"
        "  inference: [{provider_id: scripted, provider_type: 'inline::scripted'}]\n"
        f"server: {{port: {port}}}\n"
        f"storage: {{store_dir: {tmp_path / 'store'}}}\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")])}
    listing = subprocess.run([sys.executable, "-m", "polystack.cli", "list-apis"], env={**env, "COLUMNS": "200"},
                             capture_output=True, text=True, check=True).stdout
    assert "/v1/echo" in listing
    server = ChildProcess("echo-plugin", [sys.executable, "-m", "polystack.cli", "run", str(config)],
                          ready_url=f"http://127.0.0.1:{port}/v1/health", log_path=tmp_path / "server.log", env=env)
    try:
        server.wait_ready(60)
        reply = httpx.post(f"http://127.0.0.1:{port}/v1/echo", json={"text": "plugged in"})
        assert reply.status_code == 200
        assert reply.json()["text"] == "! plugged in" and reply.json()["provider_id"] == "shouter"
    finally:
        server.stop()
