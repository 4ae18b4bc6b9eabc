"""apis/ is the contract: it must not import the runtime or the providers."""

import ast
from pathlib import Path

import polystack.apis

APIS = Path(polystack.apis.__file__).parent


def test_apis_import_nothing_from_core_or_providers():
    offenders = []
    for path in APIS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            offenders += [f"{path.name}: {n}" for n in names if n.startswith(("polystack.core", "polystack.providers"))]
    assert offenders == []
