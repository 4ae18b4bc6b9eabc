"""A server that a test runs as a child process: its output kept in a log file that every start error shows,
polled over HTTP until it answers, stopped with a signal (killed if it lingers)."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Self

import httpx


class ChildProcess:
    """`command` as a child process, ready once `ready_url` answers 200, stopped by `stop_signal`."""

    def __init__(self, name: str, command: list[str], *, ready_url: str, log_path: Path,
                 stop_signal: signal.Signals = signal.SIGTERM, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> None:
        self.name = name
        self.ready_url = ready_url
        self.log_path = log_path
        self._stop_signal = stop_signal
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=cwd)

    def wait_ready(self, timeout: float = 120) -> Self:
        """Returns once it answers; raises with its log if it exits first, or stops it and raises after `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.ready_url, timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        log = self.log()
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {timeout}s:\n{log}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Idempotent: signals it, waits up to 15 s, then kills it."""
        if self.process.poll() is None:
            self.process.send_signal(self._stop_signal)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
