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

install: $(BIN)/.installed

run: $(BIN)/.installed
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py seed_demo --work-orders 300 --if-empty
	DEBUG=1 VENV=$(VENV) bash scripts/run-local.sh

test: $(BIN)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(BIN)/.installed
	$(BIN)/python bench/run.py $(BENCH_ARGS)

messages: $(BIN)/.installed
	cd . && $(BIN)/python manage.py makemessages -l zh_Hans -l en --ignore=.venv --ignore=bench --ignore=tests
	$(BIN)/python manage.py compilemessages --ignore=.venv

clean:
	rm -rf var $(VENV)
