"""The Makefile's install says what takes long and shows pip's progress; `make run` takes a port."""

import re
from pathlib import Path

MAKEFILE = (Path(__file__).resolve().parents[2] / "Makefile").read_text()


def recipe(target: str) -> str:
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", MAKEFILE, re.MULTILINE)
    assert match, target
    return match.group(1)


def test_install_says_the_first_run_compiles_for_minutes_and_lets_pip_show_progress():
    install = recipe("$(VENV)/.installed")
    assert re.search(r"echo .*llama-cpp-python.*\d+-\d+ minutes", install)
    project_install = next(line for line in install.splitlines() if "-e '.[dev]'" in line)
    assert "--quiet" not in project_install and "-q " not in project_install


def test_make_run_takes_a_port():
    assert "$(if $(PORT),--port $(PORT))" in recipe("run")
