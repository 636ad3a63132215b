# The two set-up commands (see README.md):
#   make demo   installs the runtime requirements and serves the demo site on http://127.0.0.1:8000
#   make test   installs the development requirements too, checks the apps' import layers and
#               runs the whole test suite on PostgreSQL + Redis
#   make bench  runs bench/run.py, every page and the certificate path against the machine's
#               own ceiling, and writes bench/RESULTS.md
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/lms
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# A pinned evening in the provider's zone: 03:30 UTC is 22:30 the day before in New York,
# when the machine's UTC date is already "tomorrow" for the provider.
PROVIDER_EVENING_UTC ?= 03:30:00
# The files whose tests read the clock and turn on the provider's calendar day: with every
# day in the app computed in UTC instead (provider_today and local_date), tests in exactly
# these files fail at that evening hour. Add a file here when it gains such a test.
EVENING_TESTS := tests/test_accessible_viewing.py tests/test_catalog.py tests/test_claim.py \
  tests/test_credit_window.py tests/test_posttest.py tests/test_provider_time.py tests/test_publishing.py \
  tests/test_live_activity.py tests/test_catalog_performance.py tests/test_extensions.py \
  tests/test_staff_learner.py
TEST_ENV := DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL)
# Where PYTHONDONTWRITEBYTECODE is set (as on this machine kind), every Python process
# compiles what it imports again: each Celery worker, web server and settings case the
# tests start spent about 3.5 s of CPU compiling Django and WeasyPrint. Bytecode is kept
# under .venv instead, out of the source tree.
unexport PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX := $(CURDIR)/$(VENV)/pycache

.PHONY: demo test bench install install-dev system-packages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	# Byte-compiling every installed package costs a fresh clone about 15 s; the suite
	# compiles only the modules it imports.
	$(BIN)/pip install --quiet --no-compile -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

demo: install
	./scripts/system-packages.sh
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	@echo "Serving the demo on http://127.0.0.1:8000 (Ctrl-C to stop)"
	$(BIN)/python manage.py runserver 127.0.0.1:8000

test: install-dev
	./scripts/system-packages.sh --tests
	./scripts/services.sh
	@echo "Import layers: lms > certificates > quizzes > courses"
	$(BIN)/lint-imports --no-cache
	@echo "Unit, page and browser tests, one process per core and one more, so that browser"
	@echo "tests waiting on a page or a video overlap (each process has its own database):"
	$(TEST_ENV) $(BIN)/python -m pytest -n $$(( $$(nproc) + 1 )) -m "not worker"
	@echo "Real-worker tests, one at a time (they share the Redis queues):"
	$(TEST_ENV) $(BIN)/python -m pytest -m worker
	@echo "The tests that turn on the provider's day, again at $(PROVIDER_EVENING_UTC) UTC, evening in New York:"
	$(TEST_ENV) faketime "$$(date -u +%F) $(PROVIDER_EVENING_UTC)" \
	  $(BIN)/python -m pytest -q -n auto -m "not browser and not worker" $(EVENING_TESTS)

# bench/ builds its data with the models (and bench/burst.py with the test factories), and
# drives gunicorn with wrk; PostgreSQL and Redis as for the tests.
bench: install-dev
	./scripts/system-packages.sh --bench
	./scripts/services.sh
	$(BIN)/python bench/run.py
