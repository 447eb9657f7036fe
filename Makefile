PYTHON ?= python3

.PHONY: build test demo bench clean lint

build:
	./build.sh

test:
	$(PYTHON) -m unittest discover -s tests -p 'test_*.py'

demo: build
	./dist/mminions.pyz demo

bench: build
	$(PYTHON) tests/bench.py

clean:
	rm -rf dist build __pycache__ tests/__pycache__
