# Two commands do all set-up on a fresh machine:
#   make run    installs everything and starts `polystack run starter` on 127.0.0.1:8321
#   make test   installs everything, makes sure PostgreSQL and Redis are up, runs the whole suite
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# llama-cpp-python has no wheel on PyPI: it compiles once (4-13 min on 2 cores); pip caches the wheel.
export CMAKE_ARGS ?= -DLLAVA_BUILD=OFF
# Chroma's server needs a pydantic our pins exclude, so it gets a venv of its own (tests start it)
export POLYSTACK_CHROMA_VENV ?= $(CURDIR)/.venv-chroma

.PHONY: install run test services bench lint

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

run: install
	$(BIN)/polystack run starter

services:
	bash scripts/ensure-services
	bash scripts/chroma-server-venv

test: install services
	$(BIN)/pytest -q

bench: install
	$(BIN)/python bench/proxy_overhead.py

lint: install
	$(BIN)/ruff check src tests bench
