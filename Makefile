# cuprum — every command starts here. `make help` lists the targets.
#
# Each target sets up what it needs from nothing: a local virtual environment
# in .venv with pinned tools from requirements/, the native module built in
# release mode, and the fixture programs the tests use.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := $(CURDIR)/.venv
VPY := $(VENV)/bin/python
DEV_STAMP := $(VENV)/.dev-installed
BENCH_STAMP := $(VENV)/.bench-installed
export VIRTUAL_ENV := $(VENV)
export PATH := $(VENV)/bin:$(PATH)
export CUPRUM_FIXTURE := $(CURDIR)/target/release/cuprum-fixture

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(VPY):
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip

$(DEV_STAMP): requirements/dev.txt | $(VPY)
	$(VPY) -m pip install --quiet -r requirements/dev.txt
	touch $@

$(BENCH_STAMP): requirements/bench.txt $(DEV_STAMP)
	$(VPY) -m pip install --quiet -r requirements/bench.txt
	touch $@

.PHONY: venv
venv: $(DEV_STAMP) ## Create .venv with the pinned development tools

.PHONY: build
build: $(DEV_STAMP) ## Build the native module (release) and the fixture programs
	cargo build --release --quiet -p cuprum-testbins
	maturin develop --release --quiet --features fault-injection

.PHONY: demo
demo: build ## Set up from nothing and run the demo
	$(VPY) examples/demo.py

.PHONY: test
test: build $(BENCH_STAMP) ## Set up from nothing, then run the Rust and Python tests (incl. the benchmark smoke run)
	cargo test --quiet -p cuprum
	$(VPY) -m pytest tests

.PHONY: test-rust
test-rust: ## Run the engine's Rust tests only
	cargo test -p cuprum

.PHONY: lint
lint: $(DEV_STAMP) ## Lint Rust (clippy -D warnings) and Python (ruff)
	cargo clippy --workspace --all-targets --quiet -- -D warnings
	ruff check python tests benchmarks examples

.PHONY: fmt
fmt: $(DEV_STAMP) ## Format Rust and Python sources
	cargo fmt --all
	ruff format python tests benchmarks examples
	ruff check --fix --quiet python tests benchmarks examples || true

.PHONY: check-fmt
check-fmt: $(DEV_STAMP) ## Check formatting without changing files
	cargo fmt --all -- --check
	ruff format --check python tests benchmarks examples

.PHONY: typecheck
typecheck: build ## mypy --strict over the package and typed usage; stubtest of the native module
	mypy
	$(VPY) -m mypy.stubtest cuprum._native --ignore-missing-stub --allowlist tests/typing/stubtest-allowlist.txt

.PHONY: doc
doc: ## Build the engine's rustdoc (warnings are errors)
	RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p cuprum

.PHONY: bench
bench: build $(BENCH_STAMP) ## Run the benchmark suite against peers and write docs/benchmarks.md
	$(VPY) -m benchmarks $(BENCH_ARGS)

.PHONY: bench-smoke
bench-smoke: build $(BENCH_STAMP) ## Run every benchmark scenario at tiny sizes (harness check)
	$(VPY) -m benchmarks --smoke

.PHONY: clean
clean: ## Remove build products and the virtual environment
	cargo clean
	rm -rf $(VENV) python/cuprum/*.so
