"""The `polystack` command line, run in-process with Typer's CliRunner."""

import yaml
from typer.testing import CliRunner

from polystack.cli.main import app

runner = CliRunner()


def test_list_deps_prints_one_installable_requirement_per_line():
    result = runner.invoke(app, ["list-deps", "starter"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "xllamacpp==2026.10.11549" in lines and "onnxruntime==1.31.1" in lines
    assert not any(line.startswith("llama-cpp-python") for line in lines)  # starter needs no compiler
    assert all(" " not in line for line in lines)  # `| xargs pip install` takes them as they are


def test_config_show_redacts_secrets(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-appear")
    result = runner.invoke(app, ["config", "show", "starter"])
    assert result.exit_code == 0 and "sk-should-not-appear" not in result.stdout
    config = yaml.safe_load(result.stdout)
    openai = next(p for p in config["providers"]["inference"] if p["provider_id"] == "openai")
    assert openai["config"]["api_key"] == "********"


def test_config_show_leaves_out_providers_without_keys(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    config = yaml.safe_load(runner.invoke(app, ["config", "show", "starter"]).stdout)
    assert "anthropic" not in [p["provider_id"] for p in config["providers"]["inference"]]


def test_list_providers_filters_by_api():
    result = runner.invoke(app, ["list-providers", "inference"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "remote::anthropic" in result.stdout and "inline::llama-cpp" in result.stdout
    assert runner.invoke(app, ["list-providers", "nope"]).exit_code == 1


def test_list_apis_and_distributions():
    apis = runner.invoke(app, ["list-apis"], env={"COLUMNS": "200"})
    assert apis.exit_code == 0 and "/v1/chat/completions" in apis.stdout
    assert "starter" in runner.invoke(app, ["list"], env={"COLUMNS": "200"}).stdout


def test_run_with_a_bad_config_fails_with_the_location(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("distro_name: x\nproviders:\n  inference:\n  - provider_id: a\n    provider_type: remote::nope\n")
    result = runner.invoke(app, ["run", str(config)])
    assert result.exit_code == 1
    assert "providers.inference[0].provider_type" in result.output and "unknown provider type" in result.output


def test_run_with_an_unknown_distribution_suggests_names():
    result = runner.invoke(app, ["run", "startr"])
    assert result.exit_code == 1 and "starter" in result.output


def test_help_shows_flags_without_a_value_placeholder():
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0 and "--version" in result.stdout
    assert "<bool>" not in result.stdout
    assert "<bool>" not in runner.invoke(app, ["run", "--help"], env={"COLUMNS": "80"}).stdout


def test_tables_at_80_columns_keep_paths_and_versions_whole():
    for command in (["list"], ["list-providers", "inference"]):
        result = runner.invoke(app, command, env={"COLUMNS": "80"})
        assert result.exit_code == 0 and "…" not in result.stdout


def test_db_status_on_a_fresh_folder_says_not_created_and_creates_nothing(tmp_path):
    folder = tmp_path / "stores"
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"distro_name": "fresh", "storage": {
        "backends": {"kv": {"type": "kv_sqlite", "db_path": str(folder / "kv.db")}},
        "stores": {"metadata": {"backend": "kv"}}}}))
    result = runner.invoke(app, ["db", "status", str(config)], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "not created yet" in result.stdout
    assert not folder.exists()


def test_config_show_prints_the_defaults_of_provider_configs_too(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-appear")
    result = runner.invoke(app, ["config", "show", "starter"])
    assert result.exit_code == 0 and "sk-should-not-appear" not in result.stdout
    config = yaml.safe_load(result.stdout)
    localfs = config["providers"]["files"][0]["config"]
    assert localfs["max_upload_bytes"] > 0 and "min_expiry_seconds" in localfs  # not in the YAML: defaults
    assert config["server"]["host"] == "127.0.0.1" and config["models"]["registry_cache_seconds"] == 5
    openai = next(p for p in config["providers"]["inference"] if p["provider_id"] == "openai")
    assert openai["config"]["api_key"] == "********"
