# Spindle: `make run` runs the example job on generated data in local mode;
# `make test` runs every test, including the ones against a real Hadoop minicluster.

GO        ?= go
BIN       := build/bin
DATA      := build/data
SALES_MB  ?= 200MB
MASTER    ?= local[*]
export PATH := $(shell $(GO) env GOPATH)/bin:$(PATH)

.PHONY: all build run test unit bench bench-compare proto fmt vet clean minicluster-up minicluster-down minicluster-secure-up minicluster-secure-down

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/... ./examples/...

$(DATA)/sales.csv:
	$(GO) run ./examples/gen -kind sales -size $(SALES_MB) -out $@

# run: build, generate ~200 MB of sales data once, and print revenue by region.
run: build $(DATA)/sales.csv
	$(BIN)/spindle submit --master '$(MASTER)' $(BIN)/revenue $(DATA)/sales.csv

# test: unit tests and end-to-end tests on a real MiniYARNCluster + MiniDFSCluster,
# started once for the whole run and stopped at the end. The YARN end-to-end suite
# runs a second time with Spindle's own connections encrypted. The Kerberized
# minicluster (MIT KDC, RPC and data transfer privacy) runs beside it, also once, for
# integration/secure.
test:
	@set -e; \
	trap 'scripts/minicluster down; scripts/minicluster down --secure' EXIT; \
	eval "$$(scripts/minicluster up)"; \
	eval "$$(scripts/minicluster up --secure)"; \
	echo "minicluster: HADOOP_CONF_DIR=$$HADOOP_CONF_DIR"; \
	echo "minicluster: SPINDLE_SECURE_CONF_DIR=$$SPINDLE_SECURE_CONF_DIR"; \
	$(GO) test -count=1 -timeout 30m ./...; \
	SPINDLE_E2E_CRYPTO=true $(GO) test -count=1 -timeout 20m ./integration/e2e/

# unit: the tests that need no cluster (end-to-end tests skip themselves, saying so).
unit:
	$(GO) test -count=1 ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./shuffle/ ./shuffle/external/ ./codec/ ./scheduler/

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
	scripts/minicluster up

minicluster-down:
	scripts/minicluster down

minicluster-secure-up:
	scripts/minicluster up --secure

minicluster-secure-down:
	scripts/minicluster down --secure

clean:
	rm -rf build
