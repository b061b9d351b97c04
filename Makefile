.PHONY: setup demo test lint

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/wideseek demo

test: setup
	.venv/bin/python -m pytest -q -ra

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy agent tools retriever memory tui wideseek finetune
