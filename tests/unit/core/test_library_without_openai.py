"""Without the openai SDK (`pip install polystack`, no `client` extra) the server imports and serves.

The run check uses a fresh interpreter in which `import openai` fails, as on a core-only install; the static
check covers every module (importing all of them would take half a minute on this machine).
"""

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src"

BLOCK_OPENAI = """
import sys
class _NoOpenAI:
    def find_spec(self, name, path=None, target=None):
        if name == "openai" or name.startswith("openai."):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
        return None
sys.meta_path.insert(0, _NoOpenAI())
for _name in [n for n in sys.modules if n == "openai" or n.startswith("openai.")]:
    del sys.modules[_name]
"""


def run_without_openai(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC), "POLYSTACK_STORE_DIR": str(tmp_path / "store")}
    return subprocess.run([sys.executable, "-c", BLOCK_OPENAI + textwrap.dedent(code)], env=env, text=True,
                          capture_output=True, timeout=300)


def module_level_openai_imports(tree: ast.Module) -> list[int]:
    """Lines importing openai at import time: at module level, outside `if TYPE_CHECKING:`."""
    lines = []
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            pending += node.orelse
        elif isinstance(node, ast.If | ast.Try | ast.With):
            pending += [child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt)]
        elif isinstance(node, ast.Import) and any(a.name.split(".")[0] == "openai" for a in node.names):
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "openai" and not node.level:
            lines.append(node.lineno)
    return lines


def test_no_module_imports_the_openai_sdk_when_it_is_imported():
    found = {f"{path.relative_to(SRC)}:{line}" for path in SRC.rglob("*.py")
             for line in module_level_openai_imports(ast.parse(path.read_text()))}
    assert not found, f"import openai inside the function that needs it (it is the `client` extra): {found}"


def test_the_check_finds_a_module_level_import():
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import openai\n"
                     "try:\n    from openai import AsyncOpenAI\nexcept ImportError:\n    pass\n"
                     "def f():\n    import openai\n")
    assert module_level_openai_imports(tree) == [5]


def test_the_stack_serves_http_without_the_openai_sdk_and_stack_openai_says_what_to_install(tmp_path):
    result = run_without_openai("""
        import asyncio
        import polystack
        import polystack.cli.main
        import polystack.core.server.run
        from polystack.core.config import parse_run_config

        config = parse_run_config({"distro_name": "scripted", "providers": {"inference": [
            {"provider_id": "scripted", "provider_type": "inline::scripted", "config": {}}]}}, env={})

        async def main():
            async with polystack.connect(config) as stack:
                assert (await stack.http.get("/v1/health")).json()["status"] == "OK"
                reply = await stack.http.post("/v1/chat/completions", json={
                    "model": "scripted/scripted-model", "messages": [{"role": "user", "content": "echo me"}]})
                assert reply.status_code == 200, reply.text
                assert reply.json()["choices"][0]["message"]["content"] == "echo me"
                try:
                    stack.openai
                except ImportError as exc:
                    assert "pip install 'polystack[client]'" in str(exc), exc
                else:
                    raise AssertionError("stack.openai worked without the SDK")
            assert "openai" not in sys.modules

        asyncio.run(main())
        print("served")
    """, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "served" in result.stdout
