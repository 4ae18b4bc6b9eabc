"""The start-up indicator of `polystack run`: a spinner on an interactive terminal only.

Redirected output (a log file, a service manager, several replicas sharing one log) gets plain log lines
and no spinner frames. Log lines written while the spinner turns pass through unwrapped (soft wrap).
"""

from __future__ import annotations

import os

from rich.console import Console
from rich.status import Status


def startup_status(distro_name: str, console: Console | None = None) -> Status | None:
    """A started spinner on stderr, or None when stderr is not an interactive terminal (or logs are JSON)."""
    console = console or Console(stderr=True)
    if not console.is_terminal or console.is_dumb_terminal or os.environ.get("POLYSTACK_LOG_FORMAT") == "json":
        return None
    console.soft_wrap = True  # log lines printed above the spinner keep their length: the terminal wraps them
    status = console.status(f"Starting [bold]{distro_name}[/] (the first run assembles and loads models)…",
                            spinner="dots")
    status.start()
    return status
