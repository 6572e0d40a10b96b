# pgx-report: the two commands a new machine needs are `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CORES ?= 2

.PHONY: help env system demo demo-release test validate lint format typecheck bench fuzz clean

help:
	@echo "make demo   - set up everything and run the workflow on the bundled demo patients (PDFs in results/)"
	@echo "make test   - set up everything and run the whole test suite"
	@echo "make validate - method verification on the bundled real samples (results/validation/)"
	@echo "make bench  - run the benchmarks in benchmarks/ (against bcftools, same run)"
	@echo "make lint   - ruff check + ruff format --check + mypy"
	@echo "make fuzz   - coverage-guided fuzzing of the input readers, FUZZ_SECONDS (60) per target;"
	@echo "              failing inputs in FUZZ_DIR/crashes (results/fuzz/crashes)"

# System packages (Debian): bcftools/tabix for tests and benchmarks, poppler for PDF
# checks, Pango/HarfBuzz for WeasyPrint, SLURM + munge for the cluster test.
system:
	@bash scripts/install-system-deps.sh

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[workflow,test]'
	@touch $(STAMP)

env: system $(STAMP)

demo: env
	$(VENV)/bin/snakemake --cores $(CORES) --snakefile Snakefile
	$(VENV)/bin/pgx-report form -o results/questionnaire-form.html
	@$(MAKE) --no-print-directory demo-release
	@echo "Reports:"; ls -1 results/*/report.pdf results/released/*.pdf

# The lab's side, on one demo patient (docs/report.md): release the preliminary report,
# then amend it with a corrected questionnaire; the release log is checked at the end.
# The reviewer, times and laboratory (demo/lab.yaml) are fictitious.
DEMO_SIGN := --reviewer "Kari Nordmann, overlege (demo)" --lab demo/lab.yaml
demo-release: $(STAMP)
	@mkdir -p results/released
	$(VENV)/bin/pgx-report release results/demo-carrier/report.pdf $(DEMO_SIGN) \
	  --at 2025-11-21T09:30:00+01:00 -o results/released/demo-carrier.pdf \
	  --fhir results/released/demo-carrier.fhir.json
	$(VENV)/bin/pgx-report assess --call results/demo-carrier/call.json \
	  --questionnaire demo/questionnaires/amended/demo-carrier.json \
	  -o results/released/demo-carrier.v2.assessment.json
	$(VENV)/bin/pgx-report amend results/released/demo-carrier.pdf \
	  --assessment results/released/demo-carrier.v2.assessment.json \
	  --reason "AUDIT score re-entered from the clinic's form (27 -> 25)" $(DEMO_SIGN) \
	  --at 2025-12-01T14:00:00+01:00 -o results/released/demo-carrier.v2.pdf \
	  --fhir results/released/demo-carrier.v2.fhir.json
	$(VENV)/bin/pgx-report history results/released/release-log.jsonl

test: env
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest

# Method verification on the real samples shipped with pgx-report (docs/validation.md).
validate: env
	$(VENV)/bin/pgx-report validate --bundled -o results/validation
	@echo "Validation: results/validation/validation.pdf"

lint: env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: env
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Every benchmarks/bench_*.py script, in name order; each prints its own table.
bench: env
	@set -e; for script in benchmarks/bench_*.py; do \
	  echo "== $$script"; PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) $$script; done

# In-process coverage-guided fuzzing (atheris, the optional extra `fuzz`): every target of
# fuzz/fuzz.py for FUZZ_SECONDS each; corpora kept in FUZZ_DIR/corpus, failing inputs saved
# in FUZZ_DIR/crashes/TARGET/ (exit 1). docs/calling.md, "Fuzzing".
FUZZ_SECONDS ?= 60
FUZZ_DIR ?= results/fuzz
FUZZ_STAMP := $(VENV)/.installed-fuzz

$(FUZZ_STAMP): pyproject.toml $(STAMP)
	$(PY) -m pip install --quiet -e '.[workflow,test,fuzz]'
	@touch $(FUZZ_STAMP)

fuzz: env $(FUZZ_STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) fuzz/fuzz.py --seconds $(FUZZ_SECONDS) --out $(FUZZ_DIR)

clean:
	rm -rf results logs .snakemake build dist .pytest_cache .ruff_cache .mypy_cache
