# Spindle: `make run` runs the example job on generated data in local mode;
# `make test` runs every test, including the ones against a real Hadoop minicluster.

GO        ?= go
BIN       := build/bin
DATA      := build/data
SALES_MB  ?= 200MB
MASTER    ?= local[*]
# HADOOP_VERSION=3.3.6 runs `make test` and the minicluster targets against that Hadoop
# release (a harness build of its own); empty means the harness pom's default.
HADOOP_VERSION ?=
MINICLUSTER := scripts/minicluster$(if $(HADOOP_VERSION), --hadoop $(HADOOP_VERSION))
ifneq ($(HADOOP_VERSION),)
# Tests call `scripts/minicluster java` themselves: they use the same release.
export SPINDLE_HADOOP_VERSION := $(HADOOP_VERSION)
endif
export PATH := $(shell $(GO) env GOPATH)/bin:$(PATH)

.PHONY: all build run test unit bench bench-compare proto fmt vet clean minicluster-up minicluster-down minicluster-secure-up minicluster-secure-down

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/... ./examples/...

$(DATA)/sales.csv:
	$(GO) run ./examples/gen -kind sales -size $(SALES_MB) -out $@

$(DATA)/sales.parquet:
	$(GO) run ./examples/gen -kind sales -format parquet -size $(SALES_MB) -out $@

# run: build, generate ~200 MB of sales data once (CSV and Parquet), and print revenue
# by region: the row job on the CSV, then the frames example (Spark's three lines) on
# the Parquet.
run: build $(DATA)/sales.csv $(DATA)/sales.parquet
	$(BIN)/spindle submit --master '$(MASTER)' $(BIN)/revenue $(DATA)/sales.csv
	$(BIN)/spindle submit --master '$(MASTER)' $(BIN)/frames $(DATA)/sales.parquet

# test: unit tests and end-to-end tests on a real MiniYARNCluster + MiniDFSCluster
# (of Hadoop $(HADOOP_VERSION) when set, e.g. make test HADOOP_VERSION=3.3.6),
# started once for the whole run and stopped at the end. The YARN end-to-end suite
# runs a second time with Spindle's own connections encrypted. The Kerberized
# minicluster (MIT KDC, RPC and data transfer privacy) runs beside it, also once, for
# integration/secure. Then both stop and the fault-injection cluster (two RMs in HA,
# three DataNodes, YARN's memory checks on) starts alone for integration/faults,
# which kills, corrupts and overloads things and needs the machine to itself.
test:
	@set -e; \
	trap '$(MINICLUSTER) down; $(MINICLUSTER) down --secure' EXIT; \
	eval "$$($(MINICLUSTER) up)"; \
	eval "$$($(MINICLUSTER) up --secure)"; \
	echo "minicluster: HADOOP_CONF_DIR=$$HADOOP_CONF_DIR"; \
	echo "minicluster: SPINDLE_SECURE_CONF_DIR=$$SPINDLE_SECURE_CONF_DIR"; \
	$(GO) test -count=1 -timeout 30m ./...; \
	SPINDLE_E2E_CRYPTO=true $(GO) test -count=1 -timeout 20m ./integration/e2e/; \
	$(MINICLUSTER) down; $(MINICLUSTER) down --secure; \
	trap '$(MINICLUSTER) down --faults' EXIT; \
	eval "$$($(MINICLUSTER) up --faults)"; \
	echo "minicluster: SPINDLE_FAULTS_CONF_DIR=$$SPINDLE_FAULTS_CONF_DIR"; \
	$(GO) test -count=1 -timeout 50m ./integration/faults/

# unit: the tests that need no cluster (end-to-end tests skip themselves, saying so).
unit:
	$(GO) test -count=1 ./...

# bench: the engine's Go benchmarks: shuffle writer (its arena) and merge, codecs, the
# scheduler, the map-side combiner (package spindle) and the CSV decoder.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./shuffle/ ./shuffle/external/ ./codec/ ./scheduler/ . ./internal/csvrow/

# bench-compare: Spindle against Apache Spark (PySpark, installed under build/bench) on
# the same machine; writes BENCHMARKS.md and docs/bench-ratios.png. BENCH_ARGS="--scale 8"
# runs the nominal sizes.
bench-compare:
	python3 scripts/bench/compare.py $(BENCH_ARGS)

proto:
	$(GO) generate ./ipc/... ./yarn/... ./hdfs/... ./am/... ./executor/... ./shuffle/...

fmt:
	gofmt -l -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...

minicluster-up:
	$(MINICLUSTER) up

minicluster-down:
	$(MINICLUSTER) down

minicluster-secure-up:
	$(MINICLUSTER) up --secure

minicluster-secure-down:
	$(MINICLUSTER) down --secure

clean:
	rm -rf build
