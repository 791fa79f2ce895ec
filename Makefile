# Two commands matter: `make run` and `make test`. Both create .venv and install on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: catalogs messages run test install migrate demo lint format e2e bench-routing bench-aggregation bench-redundancy bench-models bench-import bench-archive clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) catalogs

# Django reads compiled catalogs; Babel compiles them (no GNU gettext needed), only those whose .po changed.
catalogs: $(STAMP)
	$(BIN)/python -m config.catalogs

migrate: $(STAMP) catalogs
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo

run: demo
	@$(BIN)/python manage.py demo_banner --url http://$(HOST):$(PORT)/
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(STAMP) catalogs
	@$(BIN)/python -c "import os; u=os.environ.get('DATABASE_URL',''); print('make test: database =', u.split('@')[-1] if u else 'SQLite (set DATABASE_URL=postgres://... for PostgreSQL)'); print('make test: redis =', os.environ.get('REDIS_URL') or 'none (Celery tasks run in process)')"
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run --settings=config.settings.test
	@# The browser tests need Debian's Chromium: installed here when missing and possible (one script, shared with
	@# .ci/run); where it cannot be, one line says why and pytest reports the browser tests as skipped with it.
	@missing=$$(scripts/ensure-chromium) || echo "make test: browser tests will be skipped: $$missing"; \
	CROWDLOOP_BROWSER_MISSING="$$missing" $(BIN)/pytest -q $(PYTEST_ARGS)

e2e: $(STAMP)
	scripts/ensure-chromium
	$(BIN)/pytest -q -m e2e tests/e2e

bench-aggregation: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/aggregation.py

bench-redundancy: $(STAMP)
	$(BIN)/python bench/dynamic_redundancy.py

bench-models: $(STAMP)
	$(BIN)/python bench/models_in_the_loop.py

bench-routing: $(STAMP)
	$(BIN)/python bench/routing.py

bench-import: $(STAMP)
	$(BIN)/python bench/import.py

bench-archive: $(STAMP)
	$(BIN)/python bench/archive.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .ruff_cache

# Refresh the message catalogs from the code and templates (needs GNU gettext: apt-get install gettext).
# Locations name the file only, so that moving code does not rewrite every catalog.
LOCALES := fr es pt sw ha ar hi
messages: $(STAMP)
	$(BIN)/python manage.py makemessages --add-location=file --no-obsolete --no-wrap \
		$(addprefix -l ,$(LOCALES)) -i '.venv/*' -i 'tests/*' -i 'bench/*' -i 'docs/*' -i 'scripts/*'
