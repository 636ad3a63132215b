# The two set-up commands (see README.md):
#   make demo   installs everything and serves the demo site on http://127.0.0.1:8000
#   make test   installs everything and runs the whole test suite on PostgreSQL + Redis
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/lms
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# A pinned evening in the provider's zone: 03:30 UTC is 22:30 the day before in New York,
# when the machine's UTC date is already "tomorrow" for the provider.
PROVIDER_EVENING_UTC ?= 03:30:00
TEST_ENV := DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL)

.PHONY: demo test install system-packages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

demo: install
	./scripts/system-packages.sh
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	@echo "Serving the demo on http://127.0.0.1:8000 (Ctrl-C to stop)"
	$(BIN)/python manage.py runserver 127.0.0.1:8000

test: install
	./scripts/system-packages.sh --tests
	./scripts/services.sh
	@echo "Unit and page tests, one process per core:"
	$(TEST_ENV) $(BIN)/python -m pytest -n auto -m "not browser and not worker"
	@echo "Browser and real-worker tests, one at a time (they play video and start processes):"
	$(TEST_ENV) $(BIN)/python -m pytest -m "browser or worker"
	@echo "Unit and page tests again at $(PROVIDER_EVENING_UTC) UTC, evening in New York:"
	$(TEST_ENV) faketime "$$(date -u +%F) $(PROVIDER_EVENING_UTC)" \
	  $(BIN)/python -m pytest -q -n auto -m "not browser and not worker"
