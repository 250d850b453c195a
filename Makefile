# Spindle: `make run` runs the example job on generated data in local mode;
# `make test` runs every test, including the ones against a real Hadoop minicluster.

GO        ?= go
BIN       := build/bin
DATA      := build/data
SALES_MB  ?= 200MB
MASTER    ?= local[*]
export PATH := $(shell $(GO) env GOPATH)/bin:$(PATH)

.PHONY: all build run test unit bench bench-compare proto fmt vet clean minicluster-up minicluster-down

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
# started once for the whole run and stopped at the end.
test:
	@set -e; \
	eval "$$(scripts/minicluster up)"; \
	trap 'scripts/minicluster down' EXIT; \
	echo "minicluster: HADOOP_CONF_DIR=$$HADOOP_CONF_DIR"; \
	$(GO) test -count=1 -timeout 30m ./...

# unit: the tests that need no cluster (end-to-end tests skip themselves, saying so).
unit:
	$(GO) test -count=1 ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./shuffle/ ./codec/ ./scheduler/

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

clean:
	rm -rf build
