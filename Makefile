# Pushwire developer entry points. `make run` and `make test` do all set-up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install migrate bench clean lint

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/pushwire db upgrade

## Start everything on the embedded default (SQLite, embedded broker, local
## staging, sandbox providers) and print a curl that pushes a sample video.
run: install
	$(BIN)/python -m sandbox.demo

## Install and run the whole suite on real PostgreSQL, Redis, RabbitMQ and S3 (moto).
test: install
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check app workers sandbox tests bench

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache
