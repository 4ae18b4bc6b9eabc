"""Settings the server does not implement stop it at startup, naming the key and the file."""

from pathlib import Path

import pytest

from polystack.core.config import load_run_config, parse_run_config
from polystack.core.errors import ConfigError

REFUSED = [
    ("server:\n  quota:\n    default: 10\n", "server.quota.default"),  # quota is implemented: the key is unknown
    ("server:\n  workers: 0\n", "server.workers"),  # out of range (1..64)
    ("telemetry:\n  enabled: maybe\n", "telemetry.enabled"),
    ("external_providers_dir: /opt/providers\n", "external_providers_dir"),
    ("storage:\n  stores:\n    files: {backend: sql}\n", "storage.stores.files"),
    ("server:\n  limits:\n    max_body_byte: 10\n", "server.limits.max_body_byte"),
]


@pytest.mark.parametrize(("yaml_text", "path"), REFUSED, ids=[path for _, path in REFUSED])
def test_unimplemented_or_unknown_setting_stops_startup_naming_key_and_file(
    tmp_path: Path, yaml_text: str, path: str
) -> None:
    file = tmp_path / "run.yaml"
    file.write_text("distro_name: x\n" + yaml_text)
    with pytest.raises(ConfigError) as info:
        load_run_config(file, env={})
    assert info.value.path == path
    assert str(file) in str(info.value)


def test_unimplemented_setting_says_it_is_not_implemented() -> None:
    with pytest.raises(ConfigError) as info:
        parse_run_config({"distro_name": "x", "external_providers_dir": "/opt/providers"}, env={})
    assert "not implemented" in info.value.problem


def test_unknown_key_says_it_is_unknown() -> None:
    with pytest.raises(ConfigError) as info:
        parse_run_config({"distro_name": "x", "server": {"prot": 1}}, env={})
    assert "unknown setting" in info.value.problem


def test_defaults_and_explicit_default_values_are_accepted() -> None:
    config = parse_run_config({"distro_name": "x", "server": {"workers": "${env.W:=1}", "cors": None},
                               "telemetry": {"enabled": False}}, env={})
    assert config.server.workers == 1 and config.telemetry.enabled is False


def test_polystack_run_refuses_to_start_and_names_the_setting(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from polystack.cli.main import app

    file = tmp_path / "run.yaml"
    file.write_text("distro_name: x\nexternal_providers_dir: /opt/p\nserver:\n  port: 1\n")  # port 1: never reached
    result = CliRunner().invoke(app, ["run", str(file)], env={"COLUMNS": "300"})
    assert result.exit_code == 1
    assert "external_providers_dir" in result.output and "not implemented" in result.output
