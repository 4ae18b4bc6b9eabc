"""A PostgreSQL 16 + pgvector of its own, from the `pgserver` wheel, for the pgvector tests and benchmark."""

from __future__ import annotations

import ctypes
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from polystack.testing.tcp_proxy import unused_port


class ThrowawayPostgres:
    """initdb, then `postgres` as a child process, from the pgserver wheel's PostgreSQL, in a temp folder,
    with fsync off (test data only). The kernel stops it if this process dies without calling stop()."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="pgvector-test-"))
        self.port = unused_port()
        self._server: subprocess.Popen[bytes] | None = None
        # PostgreSQL refuses to run as root; `nobody` exists everywhere and needs no useradd.
        self._as: dict[str, Any] = {}
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            self._as = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
            os.chown(self.folder, nobody.pw_uid, nobody.pw_gid)

    def start(self) -> None:
        data = str(self.folder / "data")
        initdb = subprocess.run([str(self.bin_dir / "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
                                 "-E", "UTF8", "--no-locale", "--no-sync"], capture_output=True, cwd=self.folder,
                                **self._as)
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed: {initdb.stdout.decode()}{initdb.stderr.decode()}")
        with open(self.folder / "log", "wb") as log:
            self._server = subprocess.Popen(
                [str(self.bin_dir / "postgres"), "-D", data, "-h", "127.0.0.1", "-p", str(self.port),
                 "-k", str(self.folder), "-c", "fsync=off", "-c", "full_page_writes=off"],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.folder, preexec_fn=_quit_with_parent, **self._as)
        for _ in range(300):
            ready = subprocess.run([str(self.bin_dir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)])
            if ready.returncode == 0:
                return
            if self._server.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL did not start: {(self.folder / 'log').read_text()}")

    def stop(self) -> None:
        if self._server is not None:
            self._server.send_signal(signal.SIGINT)  # fast shutdown
            self._server.wait(30)
        shutil.rmtree(self.folder, ignore_errors=True)


def _quit_with_parent() -> None:
    """Runs in the child before exec: SIGQUIT (immediate shutdown) when the test process dies."""
    ctypes.CDLL(None).prctl(1, signal.SIGQUIT)  # PR_SET_PDEATHSIG; kept across exec, set after the setuid


def pgserver_bin_dir() -> Path | None:
    """The bin folder of the PostgreSQL inside the pgserver wheel (found without importing pgserver,
    whose import sets up lock files of its own)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"
