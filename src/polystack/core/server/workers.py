"""Several worker processes on one port (`server.workers`): the parent supervises, the workers serve.

The parent binds the port (so a port in use is reported before any model loads), then spawns N
workers that each start a full stack and serve on that one listening socket: the kernel hands each new
connection to whichever worker accepts it first, and a connection waiting in the backlog is not lost
when a worker dies. The parent restarts a worker that dies (at once if it had served a while, with a
growing delay if it keeps dying), and on SIGINT/SIGTERM sends each worker SIGTERM, so each drains and
flushes its stores as a single server does, and exits 0 once all have. Workers ignore SIGINT (a
terminal's Ctrl-C reaches the whole process group), so the supervisor alone decides; a second Ctrl-C is
passed on as a second SIGTERM, which makes the workers stop at once, as it does a single server. A worker
that sees its parent gone (killed with SIGKILL) shuts itself down.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from polystack.core.config import RunConfig
from polystack.core.errors import StackError
from polystack.core.server.shutdown import GRACEFUL_SECONDS
from polystack.core.server.worker_checks import embedded_model_providers, shared_state_problems

logger = logging.getLogger("polystack.server")

SPAWN = multiprocessing.get_context("spawn")  # a fresh interpreter: no event loop, thread or lock copied from us
STOP_WAIT_SECONDS = GRACEFUL_SECONDS + 15 + 10  # a worker's drain, its stores' flush (run.STOP_SECONDS), margin
QUICK_DEATH_SECONDS = 10.0  # a worker that dies sooner than this after its start is restarted after a delay
MAX_RESTART_DELAY_SECONDS = 30.0


def supervise(config: RunConfig, *, status: object | None = None) -> None:
    """Serve `config` with `config.server.workers` processes until SIGINT/SIGTERM; StackError if they cannot."""
    problems = shared_state_problems(config)
    if problems:
        raise StackError(f"server.workers: {config.server.workers} needs every worker to see the same state, but:"
                         + "".join(f"\n  - {problem}" for problem in problems))
    models = embedded_model_providers(config)
    if models:
        logger.warning("each of the %d workers loads its own copy of the embedded models of %s: their memory is "
                       "taken %d times", config.server.workers, ", ".join(models), config.server.workers)
    from polystack.core.server.run import claim_port

    sock = claim_port(config.server.host, config.server.port)
    config.server.port = int(sock.getsockname()[1])  # the port asked for, or the one picked for port 0
    try:
        Supervisor(config, sock, status).run()
    finally:
        sock.close()


@dataclass
class _Worker:
    slot: int
    process: BaseProcess
    messages: Connection  # the parent's end: ("ready", pid) or ("error", message)
    started_at: float = field(default_factory=time.monotonic)
    ready: bool = False
    error: str | None = None


class Supervisor:
    """Keeps `config.server.workers` workers serving on `sock` until a signal asks it to stop."""

    def __init__(self, config: RunConfig, sock: socket.socket, status: object | None = None) -> None:
        self.config = config
        self.sock = sock
        self.status = status
        self.count = config.server.workers
        self.workers: dict[int, _Worker] = {}
        self.stopping = False
        self.serving = False  # every worker was ready once: from then on a dead one is restarted
        self._restart_at: dict[int, float] = {}
        self._quick_deaths: dict[int, int] = {}
        self._signals: list[int] = []
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)

    def run(self) -> None:
        started = time.perf_counter()
        with self._signals_handled():
            try:
                for slot in range(self.count):
                    self._spawn(slot)
                while not self.stopping:
                    self._step()
                    if not self.serving and len(self.workers) == self.count and all(
                            w.ready for w in self.workers.values()):
                        self.serving = True
                        self._stop_status()
                        scheme = "https" if self.config.server.tls_certfile else "http"
                        logger.info("Polystack %s ready on %s://%s:%d with %d workers in %.2fs",
                                    self.config.distro_name, scheme, self.config.server.host,
                                    self.config.server.port, self.count, time.perf_counter() - started)
            finally:
                self._stop_status()
                self._stop_all()
        logger.info("Polystack %s stopped", self.config.distro_name)

    # ---- one round of supervision ------------------------------------------------------------------

    def _step(self) -> None:
        waitables: list[object] = [self._wake_read]
        for worker in self.workers.values():
            waitables.append(worker.process.sentinel)
            if not worker.ready:
                waitables.append(worker.messages)
        ended = wait(waitables, timeout=self._next_timeout())  # type: ignore[arg-type]
        if self._take_signals():
            self.stopping = True
            return
        _reap(self.workers.values(), ended)
        for worker in list(self.workers.values()):
            self._read_messages(worker)
            if not worker.process.is_alive():
                self._exited(worker)
        now = time.monotonic()
        for slot, at in list(self._restart_at.items()):
            if now >= at:
                del self._restart_at[slot]
                self._spawn(slot)

    def _next_timeout(self) -> float:
        if not self._restart_at:
            return 5.0
        return max(0.0, min(self._restart_at.values()) - time.monotonic())

    def _read_messages(self, worker: _Worker) -> None:
        try:
            while worker.messages.poll():
                kind, value = worker.messages.recv()
                if kind == "ready":
                    worker.ready = True
                elif kind == "error":
                    worker.error = str(value)
        except (EOFError, OSError):
            pass  # the worker is gone; its sentinel says so

    def _exited(self, worker: _Worker) -> None:
        del self.workers[worker.slot]
        worker.process.join()
        worker.messages.close()
        how = _exit_description(worker.process.exitcode)
        if not self.serving:  # still starting: the server cannot start, as a single process could not
            raise StackError(worker.error or f"worker {worker.process.pid} {how} while starting; see its log above")
        quick = not worker.ready or not _served_long(worker)
        deaths = self._quick_deaths[worker.slot] = self._quick_deaths.get(worker.slot, 0) + 1 if quick else 0
        delay = min(MAX_RESTART_DELAY_SECONDS, 2.0 ** (deaths - 1)) if deaths else 0.0
        logger.warning("worker %d (pid %d) %s%s; starting another%s", worker.slot, worker.process.pid, how,
                       f": {worker.error}" if worker.error else "", f" in {delay:g}s" if delay else "")
        self._restart_at[worker.slot] = time.monotonic() + delay

    def _spawn(self, slot: int) -> None:
        receive, send = SPAWN.Pipe(duplex=False)
        process = SPAWN.Process(target=worker_main, name=f"polystack-worker-{slot}",
                                args=(self.config, self.sock, send, os.getpid()), daemon=False)
        process.start()
        send.close()  # the worker holds the only writer: its death closes the pipe
        self.workers[slot] = _Worker(slot, process, receive)
        logger.debug("worker %d started (pid %d)", slot, process.pid)

    # ---- stopping -------------------------------------------------------------------------------------

    def _stop_all(self) -> None:
        """SIGTERM to every worker, then wait for all to drain and flush; kill what outlives the wait."""
        self._restart_at.clear()
        for worker in self.workers.values():
            _signal(worker.process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_WAIT_SECONDS
        while any(w.process.is_alive() for w in self.workers.values()) and time.monotonic() < deadline:
            sentinels = [w.process.sentinel for w in self.workers.values() if w.process.is_alive()]
            ended = wait([self._wake_read, *sentinels], timeout=max(0.0, deadline - time.monotonic()))
            _reap(self.workers.values(), ended)
            if signal.SIGINT in self._take_signals():  # Ctrl-C again: stop now, as a single server would
                for worker in self.workers.values():
                    _signal(worker.process, signal.SIGTERM)  # a worker's second SIGTERM
        for worker in self.workers.values():
            if worker.process.is_alive():
                logger.warning("worker %d (pid %d) did not stop within %ds; killing it", worker.slot,
                               worker.process.pid, STOP_WAIT_SECONDS)
                worker.process.kill()
            worker.process.join()
            worker.messages.close()
        self.workers.clear()

    def _stop_status(self) -> None:
        if self.status is not None:
            self.status.stop()  # type: ignore[attr-defined]
            self.status = None

    # ---- signals --------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _signals_handled(self) -> Iterator[None]:
        def remember(signum: int, frame: object) -> None:
            self._signals.append(signum)
            with contextlib.suppress(BlockingIOError):
                os.write(self._wake_write, b"!")

        previous = {sig: signal.signal(sig, remember) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            os.close(self._wake_read)
            os.close(self._wake_write)

    def _take_signals(self) -> list[int]:
        os.set_blocking(self._wake_read, False)
        with contextlib.suppress(BlockingIOError):
            os.read(self._wake_read, 1024)
        taken, self._signals = self._signals, []
        return taken


def _reap(workers: Iterable[_Worker], ended: Sequence[object]) -> None:
    """Collect the workers whose sentinel fired: the pipe closes a moment before the process can be reaped."""
    for worker in workers:
        if worker.process.sentinel in ended:
            worker.process.join(1)


def _served_long(worker: _Worker) -> bool:
    return time.monotonic() - worker.started_at >= QUICK_DEATH_SECONDS


def _signal(process: BaseProcess, sig: signal.Signals) -> None:
    if process.pid is not None and process.is_alive():
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, sig)


def _exit_description(code: int | None) -> str:
    if code is not None and code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


# ---- the worker process -------------------------------------------------------------------------------

def worker_main(config: RunConfig, sock: socket.socket, messages: Connection, parent_pid: int) -> None:
    """A worker: serve `config` on the parent's socket until SIGTERM/SIGINT or the parent's death."""
    from polystack.core.logging import setup_logging
    from polystack.core.server.run import WorkerRole, run_loop, serve

    setup_logging(config.logging)
    _tag_log_lines(os.getpid())
    # The supervisor decides: a terminal's Ctrl-C reaches it too, and it sends SIGTERM. Until uvicorn takes
    # over the signals, that SIGTERM unwinds the start-up as Ctrl-C unwinds a single server's.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    def ready() -> None:
        messages.send(("ready", os.getpid()))

    try:
        run_loop(serve(config, worker=WorkerRole(sock, ready, parent_pid)))
    except StackError as exc:
        messages.send(("error", str(exc)))
        sys.exit(1)
    except KeyboardInterrupt:  # stopped while starting: the stack has stopped what it started
        sys.exit(0)
    # The stack has flushed and closed every store. Tearing the interpreter down (freeing every module and
    # object) takes seconds of CPU on a busy machine and writes nothing: skip it, so the supervisor is done.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _tag_log_lines(pid: int) -> None:
    """Every line this worker logs carries `worker=<pid>` (a field in JSON), since the workers share one log."""

    def tag(record: logging.LogRecord) -> bool:
        record.worker = pid
        return True

    for handler in logging.getLogger("polystack").handlers:
        handler.addFilter(tag)
