# mesos-operator: the two commands a new machine needs are `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: all deps build test lint unit bench demo demo-down schema clean

all: build

deps:
	@scripts/deps.sh

build: deps
	$(CARGO) build --workspace --all-targets

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Every test: unit, property and simulation tests of the core, integration tests against
# a real etcd (started by the tests themselves on free loopback ports).
test: deps lint
	$(CARGO) test --workspace --all-targets
	$(CARGO) test --workspace --doc

bench: deps
	$(CARGO) bench --workspace

schema: build
	$(CARGO) run -q -- schema > crds/mesoscluster.schema.json

demo: deps build
	@scripts/demo.sh up

demo-down:
	@scripts/demo.sh down

clean: demo-down
	$(CARGO) clean
