"""`${env.X}`, `${env.X:=default}` and `${env.X:+value}` in run configs."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from polystack.core.errors import ConfigError

_PATTERN = re.compile(r"\$\{env\.([A-Za-z0-9_]+)(?:(:=|:\+)([^}]*))?\}")


def _substitute_string(text: str, env: Mapping[str, str], path: str) -> str | None:
    def replace(match: re.Match[str]) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3) or ""
        value = env.get(name, "")
        if operator == ":=":
            return value if value else argument
        if operator == ":+":
            return argument if value else ""
        if not value:
            raise ConfigError(
                f"environment variable {name} is not set; set it, or write "
                f"${{env.{name}:=default}} for a default or ${{env.{name}:+value}} to make it optional",
                path=path,
            )
        return value

    result = _PATTERN.sub(replace, text)
    if result == "" and _PATTERN.fullmatch(text):
        return None  # a value made only of an empty substitution means "not set"
    return os.path.expanduser(result) if result.startswith("~") else result


def substitute_env(value: Any, env: Mapping[str, str] | None = None, path: str = "") -> Any:
    """Return a copy of `value` with every env reference replaced; errors carry the key path."""
    env = os.environ if env is None else env
    if isinstance(value, dict):
        return {key: substitute_env(item, env, f"{path}.{key}" if path else str(key)) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute_env(item, env, f"{path}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, str) and "${env." in value:
        return _substitute_string(value, env, path)
    return value
