# The course in two commands: `make lab` and `make test`.
# ARGS is passed to JupyterLab, e.g. `make lab ARGS=--no-browser`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=
PYTEST_ARGS ?=
# Jupyter refuses to run as root unless told; containers and CI often run as root.
ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

.PHONY: lab test test-fast bench strip install clean-venv labs grade

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@# PESQ/STOI are optional (pesq compiles C code); without them their cells and tests skip.
	$(BIN)/python -m pip install --quiet -e ".[dev,quality]" \
	  || echo "note: the optional speech-quality metrics (pesq, pystoi) did not install; PESQ cells will be skipped"
	@touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/00_start_here.ipynb $(ROOT_FLAG) $(ARGS)

# Unit, property, interop and notebook tests (notebooks run headless, one timeout each).
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Everything but the notebooks: a quick loop while editing the library.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not notebook" $(PYTEST_ARGS)

# Benchmarks run on demand, never in CI; results are printed as one table.
bench: $(STAMP)
	$(BIN)/python -m benchmarks

# Graded labs (notebooks/labs/README.md): student versions and autograder zips into
# build/labs/ (git-ignored); then grade a folder of submitted notebooks, e.g.
# `make grade LAB=rtp_jitter SUBMISSIONS=~/inbox` (GRADE_ARGS="--timeout-s 60" and so on).
LAB ?=
SUBMISSIONS ?=
GRADE_ARGS ?=
labs: $(STAMP)
	$(BIN)/python -m rtlib.labs build

grade: $(STAMP)
	@test -n "$(LAB)" && test -n "$(SUBMISSIONS)" \
	  || { echo "usage: make grade LAB=<lab> SUBMISSIONS=<folder of .ipynb>; labs: $$($(BIN)/python -m rtlib.labs list | tr '\n' ' ')"; exit 2; }
	@test -f build/labs/$(LAB)/autograder.zip || $(BIN)/python -m rtlib.labs build $(LAB)
	$(BIN)/python -m rtlib.labs grade $(LAB) $(SUBMISSIONS) $(GRADE_ARGS)

# Strip outputs and execution counts before committing notebooks.
strip: $(STAMP)
	$(BIN)/jupyter nbconvert --clear-output --inplace notebooks/*.ipynb notebooks/*/*.ipynb

clean-venv:
	rm -rf $(VENV)
