# The two commands in the README: `make run` and `make test`. Both install first.
PYTHON ?= python3
VENV := .venv
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed

.PHONY: install run test lint clean

install: $(STAMP)

# uv is pinned and installed into the project venv so a fresh machine needs only python3.
$(STAMP): pyproject.toml uv.lock
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --inexact --quiet
	touch $(STAMP)

# make run PORT=8080 SANDBOX_PORT=8766 when the default ports are taken
PORT ?= 8000
SANDBOX_PORT ?= 8765

run: install
	$(VENV)/bin/connectus up --port $(PORT) --sandbox-port $(SANDBOX_PORT)

# make test PYTEST_ARGS="-n 2" spreads the tests over two processes (docs/testing.md)
PYTEST_ARGS ?=

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .data
