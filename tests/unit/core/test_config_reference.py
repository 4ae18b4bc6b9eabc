"""docs/configuration.md documents every config key, every provider config and every environment variable."""

import re
from pathlib import Path

from polystack.core.config_reference import generate, generated_part

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "configuration.md").read_text()
REGENERATE = "regenerate it: python -m polystack.core.config_reference --write docs/configuration.md"


def test_every_config_key_is_in_the_doc():
    keys = re.findall(r"^\| `([^`]+)` \|", generate(), re.MULTILINE)
    assert "server.port" in keys and "storage.stores.inference.durability" in keys and "config.model_source" in keys
    missing = sorted({key for key in keys if f"`{key}`" not in DOC})
    assert not missing, f"keys missing from docs/configuration.md ({REGENERATE}): {missing}"


def test_the_generated_reference_matches_the_config_models():
    assert generated_part(DOC) == generate(), f"docs/configuration.md is out of date; {REGENERATE}"


def test_every_environment_variable_the_code_reads_is_documented():
    sources = [p for p in (ROOT / "src" / "polystack").rglob("*") if p.suffix in (".py", ".yaml")
               and "testing" not in p.parts]
    names = {name for path in sources for name in re.findall(r"\bPOLYSTACK_[A-Z0-9_]+", path.read_text())}
    assert {"POLYSTACK_LOGGING", "POLYSTACK_LOG_FORMAT", "POLYSTACK_ACCESS_LOG"} <= names
    missing = sorted(name for name in names if f"`{name}`" not in DOC)
    assert not missing, f"environment variables missing from docs/configuration.md: {missing}"
