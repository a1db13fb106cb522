# mesos-operator: the two commands a new machine needs are `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: all deps build test test-full fuzz lint unit bench demo demo-down schema cli-files clean images testbed-up testbed-down
HOSTS ?= 3
# The test hooks of src/failpoint.rs (MESOS_OPERATOR_FAILPOINT) exist only in builds with the
# root package's `failpoints` feature: the tests build with it, `build`, `demo` and release
# builds without. By hand: `cargo test --features failpoints --test replicas`; without the
# feature the tests that need it are reported as ignored, with the reason.
FAILPOINTS := --features mesos-operator/failpoints

all: build

deps:
	@scripts/deps.sh mmdebstrap skopeo curl

# The project's images, built here from Debian's packages (no registry needed); each is
# rebuilt only when its build context changed.
images: deps
	@scripts/images.sh

# A fleet of HOSTS Docker hosts with mutual TLS and a TLS registry (TESTBED_ID=demo).
testbed-up: images
	@scripts/testbed.sh up $(HOSTS)

testbed-down:
	@scripts/testbed.sh down

build: deps
	$(CARGO) build --workspace --all-targets

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy --workspace --all-targets $(FAILPOINTS) -- -D warnings

# Every test: unit tests of the core, property and simulation tests on the model of the
# fleet (crates/sim), integration tests against a real etcd (started by the tests on free loopback ports) and a real fleet (each test
# binary that needs one brings up its own test bed and a watchdog takes it down).
# scripts/test.sh builds every test target once, then runs the binaries two at a time
# (TEST_LANES=1: one by one; TEST_ONLY="reconcile replicas": only those), each fleet binary
# on its own test bed, and prints what each took; logs in target/test-logs/. It builds with
# $(FAILPOINTS), and builds the library's unit tests once more without it to run the
# failpoint tests that show such a build ignores MESOS_OPERATOR_FAILPOINT
# (mesos-operator-lib-default in its table).
test: deps lint images
	CARGO=$(CARGO) scripts/test.sh

# The long sweeps: the simulation (crates/sim) with 50,000 random seeds (make test runs
# 2,000; SIM_SEEDS=N for another number, SIM_SEED_FROM=K to start at K, SIM_SEED=S to replay
# one, SIM_SURVEY=1 to list every failing seed, SIM_THREADS=N to use N cores), 2,000 random
# election runs (make test: 200), 1,000 seeds of the real loop against the model fleet
# (tests/model_loop.rs; make test: 60; MODEL_SEEDS=N, MODEL_SEED=S to replay one), and the
# replicas test killing the leader after every single action of its rollout (make test:
# three positions in a step: its start, middle and end). With $(FAILPOINTS), as `make test`.
test-full: deps images
	SIM_SEEDS=$${SIM_SEEDS:-50000} $(CARGO) test -p mesos-operator-sim --test simulation -- --nocapture
	ELECTION_SEEDS=$${ELECTION_SEEDS:-2000} $(CARGO) test $(FAILPOINTS) --lib election::tests -- --nocapture
	MODEL_SEEDS=$${MODEL_SEEDS:-1000} $(CARGO) test $(FAILPOINTS) --test model_loop -- --nocapture
	REPLICAS_FULL=1 $(CARGO) test $(FAILPOINTS) --test replicas -- --nocapture

# Coverage-guided fuzzing (cargo-fuzz, libFuzzer) of the document parser and validation,
# ZooKeeper's text answers and the values read from etcd, FUZZ_SECONDS each (default 60).
# A crash is kept in fuzz/regressions/<target>/, which `make test` replays.
fuzz: deps
	@command -v cargo-fuzz >/dev/null 2>&1 || $(CARGO) install --locked cargo-fuzz
	@scripts/fuzz.sh $${FUZZ_SECONDS:-60}

bench: deps images
	$(CARGO) bench --workspace

schema: build
	$(CARGO) run -q -- schema > crds/mesoscluster.schema.json

# The shell completions (ops/completions/) and man pages (ops/man/), generated from the
# command line's definitions; tests/schema.rs fails until they are rewritten after a change.
cli-files:
	$(CARGO) build -q --bin mesos-operator
	scripts/cli-files.sh

# Only what the demo runs: the operator's debug binary (not every test and benchmark target,
# as `build` does) and the images its fleet runs (not the operator's own image, whose
# release build it does not need).
demo: deps
	$(CARGO) build --bin mesos-operator
	@scripts/images.sh base zookeeper dockerhost registry emulator mesos-dns marathon-lb
	@scripts/demo.sh up

demo-down:
	@scripts/demo.sh down

clean: demo-down
	$(CARGO) clean
