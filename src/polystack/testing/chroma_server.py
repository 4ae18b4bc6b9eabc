"""A throwaway `chroma run` server on loopback, for remote::chromadb's tests and benchmarks.

The server (chromadb 1.5.9) lives in a venv of its own, since it needs a newer pydantic than ours:
`scripts/chroma-server-venv` makes it (default /work/chroma-venv; POLYSTACK_CHROMA_VENV overrides).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from polystack.testing.child_process import ChildProcess
from polystack.testing.tcp_proxy import unused_port

STARTUP_SECONDS = 30


def chroma_binary() -> str | None:
    venv = os.environ.get("POLYSTACK_CHROMA_VENV", "/work/chroma-venv")
    candidate = os.path.join(venv, "bin", "chroma")
    return candidate if os.access(candidate, os.X_OK) else shutil.which("chroma")


class ChromaServer(ChildProcess):
    """`chroma run` on a free loopback port, its data and log in `folder`, ready when this returns."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.port = unused_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # No telemetry and no network: the server only listens on loopback, and we always send embeddings.
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "CHROMA_ANONYMIZED_TELEMETRY": "False",
               "CHROMA_TELEMETRY_ENABLED": "False", "NO_COLOR": "1"}
        command = [binary, "run", "--path", str(folder / "data"), "--host", "127.0.0.1", "--port", str(self.port)]
        super().__init__("chroma run", command, ready_url=f"{self.url}/api/v2/heartbeat",
                         log_path=folder / "server.log", env=env)
        self.wait_ready(STARTUP_SECONDS)
