"""The README's examples stay true: its Python compiles, the library-mode script runs, its links resolve."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.integration.conftest import ROOT

README = (ROOT / "README.md").read_text()
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.DOTALL)


def test_every_python_example_compiles():
    assert PYTHON_BLOCKS
    for block in PYTHON_BLOCKS:
        compile(block, "README.md", "exec")


def test_the_library_mode_script_runs_as_written(tmp_path):
    [script] = [block for block in PYTHON_BLOCKS if "polystack.connect" in block]
    env = {**os.environ, "POLYSTACK_STORE_DIR": str(tmp_path / "stores")}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600,
                            env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip()


def test_links_to_files_point_inside_the_repository():
    for document in (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))):
        for target in re.findall(r"\]\(([^)#]+)\)", document.read_text()):
            if "://" not in target:
                assert (document.parent / target).resolve().is_file(), f"{document.name}: {target}"
        assert "../shared" not in document.read_text()
