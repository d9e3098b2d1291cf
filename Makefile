# Two commands on a fresh machine:
#   make run   - set up, migrate, load demo data, start web + Celery worker + beat
#   make test  - run the whole test suite
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test install bench messages clean

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

run: install
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py seed_demo --work-orders 300 --if-empty
	DEBUG=1 VENV=$(VENV) bash scripts/run-local.sh

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(BIN)/.installed
	$(BIN)/python bench/run.py $(BENCH_ARGS)

messages: $(BIN)/.installed
	cd . && $(BIN)/python manage.py makemessages -l zh_Hans --ignore=.venv --ignore=bench --ignore=tests --ignore=node_modules --ignore=staticfiles --ignore=var
	$(BIN)/python manage.py compilemessages --ignore=.venv --ignore=node_modules

clean:
	rm -rf var $(VENV)
