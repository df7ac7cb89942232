# ansinh: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

BIN        := bin/ansinh
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS    := -s -w -X github.com/ansinh/ansinh/internal/app.Version=$(VERSION)
# with-db sources .data/database.env (written by scripts/db.sh) into the command's environment.
WITH_DB    := scripts/with-db.sh
GO_PKGS    := ./...

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

.PHONY: build
build: ## build bin/ansinh
	go build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/ansinh

.PHONY: db-up
db-up: ## start (or reuse) PostgreSQL and write .data/database.env
	@scripts/db.sh up

.PHONY: db-stop
db-stop: ## stop the private PostgreSQL cluster
	@scripts/db.sh stop

.PHONY: db-reset
db-reset: ## drop the development database with its attachments and audit witness (make run loads the demo again)
	@scripts/db.sh reset

.PHONY: migrate
migrate: build db-up ## apply pending migrations
	@$(WITH_DB) $(BIN) migrate up

.PHONY: run
run: build db-up ## bring up PostgreSQL, migrate, load the demo province and serve on :8080
	@$(WITH_DB) $(BIN) migrate up
	@$(WITH_DB) $(BIN) seed demo
	@scripts/banner.sh
	@$(WITH_DB) $(BIN) serve

# Packages run side by side, twice as many as there are cores; within a package
# the tests (each on its own database) run TEST_PARALLEL at a time. The suite
# is CPU-bound now that test databases live in memory (scripts/db.sh), and a
# quarter of its CPU is linking the test binaries: on 2 cores, warm, 75-88 s
# at -parallel 4 against 83-87 s at 8 (the machine's speed varies that much).
TEST_P        ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) * 2 )))
TEST_PARALLEL ?= 4

.PHONY: test
test: db-up ## bring up PostgreSQL and run the whole test suite
	@scripts/db.sh clean-tests
	@$(WITH_DB) go test -count=1 -p $(TEST_P) -parallel $(TEST_PARALLEL) $(TESTFLAGS) $(GO_PKGS)

.PHONY: bench-build
bench-build: ## build bin/ansinh-bench, the load harness (never linked into the server)
	go build -ldflags '$(LDFLAGS)' -o bin/ansinh-bench ./cmd/ansinh-bench

.PHONY: bench
bench: build bench-build db-up ## load test a synthetic province (BENCH_HOUSEHOLDS, default 500000) in a database of its own: bench/results/latest.md
	@scripts/bench.sh

.PHONY: bench-reorganize
bench-reorganize: build bench-build db-up ## reorganize a synthetic province (BENCH_HOUSEHOLDS) to the two-tier units under load: bench/results/reorganize.md
	@scripts/bench-reorganize.sh

# The OpenAPI linter: Redocly CLI, pinned, run with npx (Node.js 20.19+ or 22.12+);
# its rules are in redocly.yaml. `make test` does not need Node.js.
REDOCLY    := @redocly/cli@2.77.0

.PHONY: lint
lint: ## the OpenAPI linter on docs/openapi.yaml (needs Node.js), go vet and staticcheck
	@command -v npx >/dev/null && node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>=22&&(a>22||b>=12)||a==20&&b>=19?0:1)' || { \
		echo "make lint: the OpenAPI linter ($(REDOCLY)) runs with npx on Node.js 20.19+ or 22.12+;"; \
		echo "  on Debian 13: sudo apt-get install nodejs npm   (elsewhere: https://nodejs.org/en/download)"; exit 1; }
	npx --yes $(REDOCLY) lint --config redocly.yaml
	go vet $(GO_PKGS)
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(GO_PKGS)

.PHONY: fmt
fmt: ## gofmt the tree
	gofmt -w $$(git ls-files '*.go')

.PHONY: clean
clean: db-stop ## stop the database and remove build output (keeps .data)
	rm -rf bin
