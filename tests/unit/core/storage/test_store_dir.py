"""One store directory per run config, holding every file the server writes; tests only write to temp folders."""

import tempfile
from pathlib import Path

import polystack
from polystack.core.config import parse_run_config


def test_store_dir_is_the_distribution_folder_unless_env_or_config_say_otherwise():
    assert parse_run_config({"distro_name": "d"}, env={}).storage.store_dir == "~/.polystack/distributions/d"
    from_env = parse_run_config({"distro_name": "d"}, env={"POLYSTACK_STORE_DIR": "/srv/d"})
    assert from_env.storage.store_dir == "/srv/d"
    configured = parse_run_config({"distro_name": "d", "storage": {"store_dir": "/data/d"}},
                                  env={"POLYSTACK_STORE_DIR": "/srv/d"})
    assert configured.storage.store_path() == Path("/data/d")


async def test_the_journal_is_written_under_the_store_dir(tmp_path):
    config = parse_run_config({
        "distro_name": "journaled",
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}]},
        "storage": {
            "store_dir": str(tmp_path / "store"),
            "backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "db" / "sql.db")}},
            "stores": {"inference": {"backend": "sql", "durability": "journal"}},
        },
        "models": {"refresh_interval_seconds": 0},
    }, env={})
    async with polystack.connect(config) as stack:
        await stack.openai.chat.completions.create(
            model="scripted/scripted-model", messages=[{"role": "user", "content": "x"}])
        segments = list((tmp_path / "store" / "journal").glob("*/segment-*.jsonl"))
        assert len(segments) == 1
    assert sorted(p.name for p in (tmp_path / "db").iterdir() if "journal" in p.name) == []


def test_tests_write_only_to_temporary_folders():
    temporary = Path(tempfile.gettempdir()).resolve()
    assert Path.home().resolve().is_relative_to(temporary)
    default = parse_run_config({"distro_name": "any"})
    assert default.storage.store_path().resolve().is_relative_to(temporary)
    assert parse_run_config({"distro_name": "any"}, env={}).storage.store_path().resolve().is_relative_to(temporary)
