# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DIST   := miniapp/dist/index.html

.PHONY: run test lint bench drill miniapp venv clean

venv: $(STAMP)
$(STAMP): pyproject.toml
	@echo "installing into $(VENV) (pip install -e '.[dev]')"
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@# setuptools warns on every editable install that a folder named like the package
	@# may shadow it: the folder is the package (sql/ and migrations/ are mapped in).
	@PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# The MiniApp's bundle; rebuilt when its sources or lock file change. Quiet: npm's and
# Vite's errors only (their progress reports would bury `make run`'s start-up lines).
miniapp: $(DIST)
$(DIST): $(shell find miniapp -type f -not -path 'miniapp/node_modules/*' -not -path 'miniapp/dist/*' 2>/dev/null)
	@if [ -f miniapp/package.json ]; then \
		echo "building the MiniApp (npm ci, vite build)"; \
		cd miniapp && npm ci --no-audit --no-fund --loglevel=error >/dev/null \
			&& npm run --silent build -- --logLevel error; \
	else echo "no miniapp/ yet: serving the API only"; fi

# The commands' own log lines say what happens; LOG_LEVEL=debug shows everything.
run: venv miniapp
	@$(BIN)/clinic migrate
	@$(BIN)/clinic seed
	@exec $(BIN)/clinic serve

test: venv miniapp
	$(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff check clinic tests bench
	$(BIN)/ruff format --check clinic tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: venv miniapp
	$(BIN)/python -m bench

drill: venv
	$(BIN)/python -m pytest -m drill -p no:randomly

clean:
	rm -rf $(VENV) miniapp/node_modules miniapp/dist
