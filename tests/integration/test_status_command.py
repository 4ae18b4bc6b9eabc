"""`polystack status` against a real server: healthy with its providers and models; unreachable fails."""

from __future__ import annotations

from typer.testing import CliRunner

from polystack.cli.main import app
from polystack.testing.tcp_proxy import unused_port
from tests.integration.conftest import RunningServer
from tests.integration.test_lifecycle import scripted_config

runner = CliRunner()


def test_status_of_a_running_server_lists_health_version_providers_and_models(tmp_path):
    server = RunningServer(scripted_config(tmp_path), log_dir=tmp_path).wait_ready(60)
    try:
        result = runner.invoke(app, ["status", server.base_url], env={"COLUMNS": "200"})
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    assert "healthy" in result.stdout and "unhealthy" not in result.stdout
    assert "inline::scripted" in result.stdout and "Not Implemented" in result.stdout, result.stdout
    assert "scripted/scripted-model" in result.stdout


def test_status_of_nothing_listening_fails_in_one_line():
    result = runner.invoke(app, ["status", f"http://127.0.0.1:{unused_port()}"])
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1 and "cannot reach" in result.output
