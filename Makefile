# Two commands on a fresh clone: `make run` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Running needs the product alone; the tests add their tools (browser driver, fuzzers, linters).
INSTALLED := $(VENV)/.installed
TEST_INSTALLED := $(VENV)/.installed-test
# The translations, compiled from their catalogues (the .mo files are not committed).
CATALOGUES := $(wildcard newsletter/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)
# axe-core for the browser tests' accessibility checks (skipped, with a reason, without npm).
NODE_TOOLS := node_modules/.installed

.PHONY: run test bench soak mutants lint format clean translations screenshots

run: $(INSTALLED) $(COMPILED)
	NEWSLETTER_DEMO=true $(BIN)/newsletter serve

test: $(TEST_INSTALLED) $(NODE_TOOLS) $(COMPILED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit --quiet --recursive newsletter
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2

# Benchmarks against baselines measured in the same run; writes benchmarks/RESULTS.md.
# BENCH_SCALE=small for a quick run; NEWSLETTER_BENCH_POSTGRES_URL adds PostgreSQL.
bench: $(TEST_INSTALLED) $(COMPILED)
	$(BIN)/python -m benchmarks

# Signups and confirmations under load while the SMTP sink, a mail worker, PostgreSQL and
# Redis fail on a schedule; checks nothing was lost. Restarts this machine's PostgreSQL and
# Redis. SOAK_SECONDS=600 for a longer run (default 60).
soak: $(TEST_INSTALLED) $(COMPILED)
	$(BIN)/python -m benchmarks.soak

# One-line deliberate bugs, one promise each, run against the tests that should catch them
# (SQLite, in a scratch copy; PostgreSQL too for a few if NEWSLETTER_TEST_DATABASE_URL is
# set); fails if a mutant survives or no longer applies. ~5 minutes.
mutants: $(TEST_INSTALLED) $(COMPILED)
	$(BIN)/python -m tests.mutants

# Every reader's page and email, in English and Ukrainian, at 390 and 1280 px: PNGs in
# screenshots/ (not committed), to look at.
screenshots: $(TEST_INSTALLED) $(NODE_TOOLS) $(COMPILED)
	$(BIN)/pytest tests/screenshots.py -q -p no:randomly -n 0

lint: $(TEST_INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit --quiet --recursive newsletter
	$(BIN)/mypy

format: $(TEST_INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Every word a reader sees, extracted again into the template; then each language's
# catalogue is brought up to date with it, for translators (see README, "Languages").
translations: $(INSTALLED)
	$(BIN)/pybabel extract -F babel.cfg -k _l --no-location --sort-output --project newsletter \
		-o newsletter/translations/messages.pot .
	$(BIN)/pybabel update -i newsletter/translations/messages.pot -d newsletter/translations \
		--width 100 --ignore-obsolete

%.mo: %.po $(INSTALLED)
	$(BIN)/pybabel compile --statistics -i $< -o $@

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --editable .
	touch $@

$(TEST_INSTALLED): $(INSTALLED)
	$(BIN)/python -m pip install --quiet --editable ".[test]"
	touch $@

$(NODE_TOOLS): package.json package-lock.json
	if command -v npm >/dev/null; then npm ci --no-audit --no-fund --silent && touch $@; \
	else echo "npm not found: accessibility checks in browser tests will be skipped"; fi

clean:
	rm -rf $(VENV) node_modules build dist *.egg-info .pytest_cache .ruff_cache
