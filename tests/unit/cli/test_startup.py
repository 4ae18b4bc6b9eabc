"""The start-up spinner shows on an interactive terminal only, and lets log lines through unwrapped."""

import io
import sys

from rich.console import Console

from polystack.cli.startup import startup_status


def test_no_spinner_when_stderr_is_not_a_terminal():
    assert startup_status("starter", Console(file=io.StringIO(), soft_wrap=True)) is None


def test_no_spinner_with_json_logs(monkeypatch):
    monkeypatch.setenv("POLYSTACK_LOG_FORMAT", "json")
    assert startup_status("starter", Console(file=io.StringIO(), force_terminal=True)) is None


def test_log_lines_written_while_it_spins_are_not_rewrapped():
    out = io.StringIO()
    status = startup_status("starter", Console(file=out, force_terminal=True, width=40))
    assert status is not None
    line = "loaded SmolLM2-135M-Instruct from /a/very/long/path/to/the/model/file.gguf in 1.2 s"
    try:
        print(line, file=sys.stderr)  # where core.logging's handler writes; the spinner redirects it
    finally:
        status.stop()
    assert line in out.getvalue()
