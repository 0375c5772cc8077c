# policybot — two commands:
#   make demo   set up .venv, sync the official texts (mirror or EUR-Lex), index, answer a sample question
#   make test   set up .venv with the dev extra and run the tests
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
# The offline mirror of the official texts, if it lies beside the checkout.
MIRROR ?= $(wildcard ../shared/corpus)
QUESTION ?= Is AI credit scoring of consumers high-risk under the AI Act?

.PHONY: setup demo test bench eval clean

$(BIN)/policybot: pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

setup: $(BIN)/policybot

demo: setup
	$(BIN)/policybot sync $(if $(MIRROR),--mirror $(MIRROR),)
	$(BIN)/policybot index
	$(BIN)/policybot sources
	$(BIN)/policybot ask "$(QUESTION)"

test: setup
	$(BIN)/ruff check bot tests bench
	$(BIN)/python -m pytest

eval: setup
	$(BIN)/policybot eval ../shared/eval/dev.jsonl -k 5
	$(BIN)/policybot eval ../shared/eval/ai-act-qa-external.jsonl -k 5

bench: setup
	$(BIN)/python bench/index_bench.py

clean:
	rm -rf $(VENV) data .pytest_cache
