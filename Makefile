# Two commands on a fresh machine: `make demo` and `make test`. Both create the venv if missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# the models of the demo and the tests are small: one intra-op thread per process is faster,
# and on a busy 2-core machine a second thread costs far more than it gives
export OMP_NUM_THREADS ?= 1

.PHONY: setup demo test lint format clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e '.[all,dev]'
	@# spoken QA's speech synthesiser (Debian's espeak-ng), where apt-get can install it
	command -v espeak-ng >/dev/null || ! command -v apt-get >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng; } \
		|| echo "advkt: espeak-ng could not be installed; spoken QA's speech needs it" >&2
	touch $(STAMP)

setup: $(STAMP)

DEMO := $(addprefix recipes/mnist1d/,student_cnn1d32.yaml kd_cnn1d128_cnn1d32.yaml \
	fitnet_cnn1d128_cnn1d32.yaml at_cnn1d128_cnn1d32.yaml fsp_cnn1d128_cnn1d32.yaml \
	dkd_cnn1d128_cnn1d32.yaml hksanc_cnn1d128_cnn1d32.yaml)

# The mnist1d benchmark at one seed, from the committed teacher: the student alone and six
# distillers, two trainings at a time, on a shortened schedule (DEMO_EPOCHS of the cosine
# instead of the benchmark's own, so that it fits in 5 minutes on two cores); then the checks
# of the committed 10-seed run, which trained on the full schedule
DEMO_EPOCHS ?= 60
demo: setup
	$(BIN)/advkt compare $(DEMO) train.epochs=$(DEMO_EPOCHS) --seeds 1 --jobs 2 \
		--out runs/demo-e$(DEMO_EPOCHS) --benchmark benchmarks/specs/mnist1d-demo.yaml
	$(BIN)/python benchmarks/validity_note.py benchmarks/results/mnist1d/results.json

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: setup
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

test: lint
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
