"""GBNF grammars that constrain sampling: JSON (any object or a JSON schema), tool calls, and the reply kind."""

from __future__ import annotations

import re
from typing import Any

from polystack.apis.errors import InvalidRequestError
from polystack.apis.inference.types import Tool
from polystack.providers.inline.inference.llama_cpp.tool_protocol import CALL_PREFIX, MESSAGE_PREFIX

# llama.cpp's converter lets raw control characters (newlines...) into strings; JSON forbids them,
# and the tool-call reader relies on newlines never appearing inside arguments.
_CHAR_RULE = re.compile(r'^char ::= \[\^"\\\\\]', re.MULTILINE)
_STRICT_CHAR = r'char ::= [^"\\\x7F\x00-\x1F]'

REPLY_KIND_GRAMMAR = f'root ::= "{MESSAGE_PREFIX.strip()}" | "{CALL_PREFIX}"'


def _converter() -> Any:
    from polystack.providers.inline.inference.llama_cpp.schema_gbnf import SchemaConverter

    return SchemaConverter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)


def _visit(converter: Any, schema: dict[str, Any], name: str, param: str) -> str:
    try:
        resolved = converter.resolve_refs(schema, name or "schema")
        return str(converter.visit(resolved, name))
    except Exception as exc:  # noqa: BLE001 - the converter raises bare exceptions for what it cannot do
        raise InvalidRequestError(f"cannot constrain output to this JSON schema: {exc}", param=param) from None


def _finish(converter: Any, root: str | None = None) -> str:
    text = converter.format_grammar()
    if root is not None:
        text = f"root ::= {root}\n{text}"
    return _CHAR_RULE.sub(lambda _: _STRICT_CHAR, text)


def json_grammar(schema: dict[str, Any] | None, *, param: str = "response_format") -> str:
    """Output that is one JSON value matching `schema` (any JSON object when None)."""
    converter = _converter()
    _visit(converter, schema if schema is not None else {"type": "object"}, "", param)
    return _finish(converter)


def tool_calls_grammar(tools: list[Tool], *, max_calls: int) -> str:
    """One to `max_calls` calls, each `functions.<name>:` and a newline, then arguments valid for that tool."""
    converter = _converter()
    alternatives = []
    for index, tool in enumerate(tools):
        schema = tool.function.parameters or {"type": "object", "properties": {}}
        rule = _visit(converter, schema, f"tool{index}-args", f"tools[{index}].function.parameters")
        alternatives.append(f'"{tool.function.name}:\\n" {rule}')
    call = f'"{CALL_PREFIX}" ( {" | ".join(alternatives)} )'
    root = "call" if max_calls == 1 else f'call ( "\\n" call ){{0,{max_calls - 1}}}'
    return _finish(converter, root) + f"\ncall ::= {call}"
