# cuprum — every command starts here. `make help` lists the targets.
#
# Each target sets up what it needs from nothing: a local virtual environment
# in .venv with pinned tools from requirements/, the native module built in
# release mode, and the fixture programs the tests use. Builds are file
# targets: they run again only when their sources changed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := $(CURDIR)/.venv
VPY := $(VENV)/bin/python
PIP := $(VPY) -m pip --disable-pip-version-check
BUILD_STAMP := $(VENV)/.build-installed
DEV_STAMP := $(VENV)/.dev-installed
BENCH_STAMP := $(VENV)/.bench-installed
WHEEL_STAMP := $(VENV)/.wheel-installed
export VIRTUAL_ENV := $(VENV)
export PATH := $(VENV)/bin:$(PATH)
export CUPRUM_FIXTURE := $(CURDIR)/target/release/cuprum-fixture

VERSION := $(shell sed -n 's/^version = "\(.*\)"$$/\1/p' Cargo.toml | head -n 1)
ARCH := $(shell uname -m)
NATIVE := python/cuprum/_native.abi3.so
WHEEL := dist/cuprum-$(VERSION)-cp311-abi3-manylinux2014_$(ARCH).manylinux_2_17_$(ARCH).whl
SDIST := dist/cuprum-$(VERSION).tar.gz

# What each product is built from.
NATIVE_SOURCES := Cargo.toml Cargo.lock pyproject.toml \
	crates/cuprum/Cargo.toml $(shell find crates/cuprum/src -name '*.rs') \
	crates/cuprum-py/Cargo.toml $(shell find crates/cuprum-py/src -name '*.rs')
FIXTURE_SOURCES := Cargo.toml Cargo.lock \
	crates/cuprum-testbins/Cargo.toml $(shell find crates/cuprum-testbins/src -name '*.rs')
PACKAGE_SOURCES := README.md LICENSE $(NATIVE_SOURCES) \
	$(shell find python/cuprum -type f \( -name '*.py' -o -name '*.pyi' -o -name py.typed \))

step = @printf '\n\033[1m==> %s\033[0m\n' "$(1)"

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(VPY):
	$(call step,creating the virtual environment .venv with $(PYTHON))
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(BUILD_STAMP): requirements/build.txt | $(VPY)
	$(call step,installing the build tool (maturin))
	$(PIP) install -r requirements/build.txt
	touch $@

$(DEV_STAMP): requirements/dev.txt requirements/build.txt | $(VPY)
	$(call step,installing the pinned development tools)
	$(PIP) install -r requirements/dev.txt
	touch $@

$(BENCH_STAMP): requirements/bench.txt $(DEV_STAMP)
	$(call step,installing the benchmark peers)
	$(PIP) install -r requirements/bench.txt
	touch $@

$(WHEEL_STAMP): requirements/wheel.txt | $(VPY)
	$(call step,installing the wheel tools (zig linker, auditwheel))
	$(PIP) install -r requirements/wheel.txt
	touch $@

# The development build carries the engine's test-only fault points (inert
# unless CUPRUM_FAULT names one); the wheel never does.
$(NATIVE): $(NATIVE_SOURCES) $(BUILD_STAMP)
	$(call step,building the native module cuprum._native (release; the first build takes a few minutes))
	maturin develop --release --features fault-injection
	touch $@

$(CUPRUM_FIXTURE): $(FIXTURE_SOURCES)
	$(call step,building the fixture programs)
	cargo build --release -p cuprum-testbins
	touch $@

# The wheel is built from the source distribution, which proves the sdist
# complete; zig links against glibc 2.17 so the wheel runs on every
# manylinux2014 system, and auditwheel confirms the tag.
$(WHEEL): $(PACKAGE_SOURCES) $(BUILD_STAMP) $(WHEEL_STAMP)
	$(call step,building the sdist and from it the abi3 wheel (manylinux2014, stripped))
	rm -f dist/cuprum-$(VERSION)[-.]*
	maturin build --sdist --release --strip --zig --compatibility manylinux2014 --out dist
	auditwheel show $@

$(SDIST): $(PACKAGE_SOURCES) $(BUILD_STAMP)
	$(call step,building the source distribution)
	rm -f $@
	maturin sdist --out dist

.PHONY: venv
venv: $(DEV_STAMP) ## Create .venv with the pinned development tools

.PHONY: build
build: $(DEV_STAMP) $(NATIVE) $(CUPRUM_FIXTURE) ## Build the native module (release) and the fixture programs, if their sources changed

.PHONY: demo
demo: $(NATIVE) ## Set up only what the demo needs (maturin, the native module) and run examples/demo.py
	$(call step,running examples/demo.py)
	$(VPY) examples/demo.py

.PHONY: wheel
wheel: $(WHEEL) ## Build dist/: the sdist and a stripped cp311-abi3 manylinux2014 wheel built from it

.PHONY: sdist
sdist: $(SDIST) ## Build the source distribution in dist/

.PHONY: test
test: build $(BENCH_STAMP) $(WHEEL) ## Set up from nothing, then run the Rust and Python tests (incl. the docs' examples, the installed wheel, the benchmark smoke run)
	$(call step,Rust tests)
	cargo test --quiet -p cuprum
	$(call step,Python tests)
	CUPRUM_WHEEL=$(CURDIR)/$(WHEEL) $(VPY) -m pytest tests

.PHONY: test-rust
test-rust: ## Run the engine's Rust tests only
	cargo test -p cuprum

.PHONY: docs-examples
docs-examples: build ## Run every Python example of README.md and docs/
	$(VPY) -m pytest tests/test_docs_examples.py

.PHONY: check
check: check-fmt lint typecheck doc test ## Every gate CI runs: formatting, lints, types, rustdoc, then all tests
	$(call step,all checks passed)

.PHONY: lint
lint: $(DEV_STAMP) ## Lint Rust (clippy -D warnings) and Python (ruff)
	$(call step,clippy and ruff)
	cargo clippy --workspace --all-targets --quiet -- -D warnings
	ruff check python tests benchmarks examples

.PHONY: fmt
fmt: $(DEV_STAMP) ## Format Rust and Python sources
	cargo fmt --all
	ruff format python tests benchmarks examples
	ruff check --fix --quiet python tests benchmarks examples || true

.PHONY: check-fmt
check-fmt: $(DEV_STAMP) ## Check formatting without changing files
	$(call step,rustfmt and ruff format)
	cargo fmt --all -- --check
	ruff format --check python tests benchmarks examples

.PHONY: typecheck
typecheck: build ## mypy --strict over the package and typed usage; stubtest of the native module
	$(call step,mypy and stubtest)
	mypy
	$(VPY) -m mypy.stubtest cuprum._native --ignore-missing-stub --allowlist tests/typing/stubtest-allowlist.txt

.PHONY: doc
doc: ## Build the engine's rustdoc (warnings are errors)
	$(call step,rustdoc)
	RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p cuprum

.PHONY: bench
bench: build $(BENCH_STAMP) ## Run the benchmark suite against peers and write docs/benchmarks.md
	$(VPY) -m benchmarks $(BENCH_ARGS)

.PHONY: bench-smoke
bench-smoke: build $(BENCH_STAMP) ## Run every benchmark scenario at tiny sizes (harness check)
	$(VPY) -m benchmarks --smoke

.PHONY: clean
clean: ## Remove build products, dist/ and the virtual environment
	cargo clean
	rm -rf $(VENV) dist python/cuprum/*.so
