# Two user-facing commands (see README): `make demo` runs the main job, `make test` runs the test suite.
# Each one sets up its own virtual environment first, pinned by constraints.txt.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-slow wheel-check bench lint setup clean wheelhouse gpu-check

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/cdc/run.py --overwrite

# pytest exits 5 when it collects no test; that is a failure here too, so it is not masked.
test: $(STAMP)
	$(PY) -m pytest -q

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

# Build the wheel, install it into a fresh environment and use it from outside the checkout (CI runs this too).
wheel-check:
	.ci/wheel_check.sh

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(PY) $$f || exit 1; done

# The wheels a GPU machine without a package index needs (everything pinned but torch and its CUDA libraries,
# and the lint tools), for this Python, plus causalvlm's own wheel, into .whl/ (git-ignored; carry it along).
wheelhouse: $(STAMP)
	$(PY) benchmarks/gpu_check.py --build-wheelhouse .whl

# On the GPU machine: install from .whl/ offline, run the gpu/slow tests and the ViT-B/16 benchmarks of
# docs/performance.md; every figure goes into gpu_check/gpu_check.md (about 8 minutes on one H200).
gpu-check:
	$(PYTHON) benchmarks/gpu_check.py --wheelhouse .whl --out gpu_check

# ruff, then the type checker (mypy, configured in pyproject.toml: the causalvlm package).
lint: $(STAMP)
	$(PY) -m ruff check causalvlm examples tests benchmarks
	$(PY) -m mypy

clean:
	rm -rf $(VENV) .pytest_cache
