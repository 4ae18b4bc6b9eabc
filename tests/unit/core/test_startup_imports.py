"""Start-up leaves the heavy imports that most requests never need for later: the MCP SDK (about a second)
until an MCP tool is used, scikit-learn (the offline moderation model, 1-2 s) and Bandit (the code scanner's
plugins) until after ready.

A fresh interpreter, so that no other test has imported them already.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src"

SCRIPT = """
import asyncio, sys
from polystack.core.config import parse_run_config
from polystack.core.stack import Stack

config = parse_run_config({"distro_name": "imports", "apis": ["inference", "tool_runtime", "responses", "safety"],
    "providers": {
        "inference": [{"provider_id": "scripted", "provider_type": "inline::scripted", "config": {}}],
        "tool_runtime": [{"provider_id": "model-context-protocol",
                          "provider_type": "remote::model-context-protocol", "config": {}}],
        "safety": [{"provider_id": "offline-classifier", "provider_type": "inline::offline-classifier"},
                   {"provider_id": "code-scanner", "provider_type": "inline::code-scanner"}]}},
    env={})

async def main():
    stack = Stack(config)
    await stack.start()
    try:
        print("at ready:", sorted(m for m in ("mcp.client.session", "sklearn", "bandit") if m in sys.modules))
    finally:
        await stack.stop()

asyncio.run(main())
"""


def test_a_started_stack_has_not_imported_the_mcp_sdk_scikit_learn_nor_bandit(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(SRC), "POLYSTACK_STORE_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(SCRIPT)], env=env, text=True,
                            capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "at ready: []" in result.stdout, result.stdout
