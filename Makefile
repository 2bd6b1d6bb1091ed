# The two set-up commands (see README): `make run` and `make test`.
SWIFT ?= swift
CONFIG ?= config/liaison.example.yaml

.PHONY: run build test unit-test peers-start peers-stop bench-ingest bench-crm-to-im bench-identity bench-lookup clean

run: build
	$$($(SWIFT) build -c release --show-bin-path)/liaison serve --config $(CONFIG)

build:
	scripts/install-deps.sh build
	$(SWIFT) build -c release --product liaison

# Everything: unit tests, store and HTTP tests, and the integration tests against real
# Matrix Synapse and BottleCRM, which this target installs and starts (and stops after).
test:
	scripts/install-deps.sh test
	scripts/test.sh

# Without the peers: what runs in seconds.
unit-test:
	scripts/install-deps.sh build
	$(SWIFT) test --skip IntegrationTests

peers-start:
	scripts/peers/all.sh start

peers-stop:
	scripts/peers/all.sh stop

bench-ingest:
	scripts/install-deps.sh bench
	scripts/bench/bench-ingest.sh

bench-crm-to-im:
	scripts/install-deps.sh build
	scripts/bench/bench-crm-to-im.sh

# liaison link vs Splink on the same generated data (SCALE=1: 1M × 1M, liaison alone).
bench-identity:
	scripts/install-deps.sh test
	scripts/bench/bench-identity.sh

# Online identity lookup with 1M customers indexed (latency percentiles, peak memory).
bench-lookup:
	scripts/install-deps.sh build
	$(SWIFT) build -c release --product liaison
	$$($(SWIFT) build -c release --show-bin-path)/liaison bench lookup --people $${PEOPLE:-1000000}

# The build only: `data/` is the store (the event log and the hub's state), never removed here.
clean:
	rm -rf .build
