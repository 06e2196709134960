# Two commands for a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Tests never use a real key; production refuses to start without SECRET_KEY.
TEST_ENV := SECRET_KEY=test-only-secret-key-not-for-production-$(shell echo 0123456789abcdef)

.PHONY: install demo test api-fuzz lint format serve clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	mkdir -p var
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py seed_demo | tee var/demo-logins.txt
	@echo "Serving http://127.0.0.1:8000 (logins above, also in var/demo-logins.txt)"
	DEBUG=1 $(BIN)/python manage.py runserver 127.0.0.1:8000

test: install lint
	mkdir -p var
	$(TEST_ENV) $(BIN)/python -m pytest

# schemathesis over every operation of the API schema, against a freshly seeded portal
api-fuzz: install
	$(TEST_ENV) $(BIN)/python tests/schemathesis_run.py

lint: install
	$(BIN)/ruff check .
	$(TEST_ENV) $(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var staticfiles
