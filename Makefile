# Two commands on a fresh machine:
#   make run   - set up, migrate, load demo data, start web + Celery worker + beat
#   make test  - run the whole test suite
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test install bench messages clean db-stop

$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	touch $@

# Front-end libraries (chart.js; axe-core for the browser tests) from the npm registry,
# served locally by Django from node_modules/ (never committed, never a CDN).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(BIN)/.installed node_modules/.installed

# Without DATABASE_URL both run on the embedded PostgreSQL in var/postgres (config/embedded_db.py):
# `make run` starts it and stops it when it ends; `make test` uses a test database in the same
# cluster and stops the cluster afterwards if it started it.
run: install
	DEBUG=1 VENV=$(VENV) bash scripts/run-local.sh

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Stop the embedded PostgreSQL if something left it running (a `manage.py` command run by hand).
db-stop:
	$(BIN)/python -m config.embedded_db stop

bench: $(BIN)/.installed
	$(BIN)/python bench/run.py $(BENCH_ARGS)

messages: $(BIN)/.installed
	cd . && $(BIN)/python manage.py makemessages -l zh_Hans --ignore=.venv --ignore=bench --ignore=tests --ignore=node_modules --ignore=staticfiles --ignore=var
	$(BIN)/python manage.py compilemessages --ignore=.venv --ignore=node_modules

clean:
	-test -x $(BIN)/python && $(BIN)/python -m config.embedded_db stop
	rm -rf var $(VENV)
