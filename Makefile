# reserver — make help lists the targets.
GO       ?= go
PKGS     ?= ./...
# The race detector roughly doubles the time; the tests are sized for 2 cores.
TESTFLAGS ?= -race -count=1 -timeout 20m

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## Book a court end to end on embedded defaults: simulated site, API and daemon on SQLite
	$(GO) run ./cmd/reserver demo

.PHONY: run-cart
run-cart: ## The same on the second simulated site: a JSON API with a cart and checkout (cartsim)
	$(GO) run ./cmd/reserver demo --flavor cart

.PHONY: api
api: ## Serve the REST API on embedded defaults (SQLite)
	$(GO) run ./cmd/api

.PHONY: daemon
daemon: ## Run the booking daemon on embedded defaults (SQLite)
	$(GO) run ./cmd/reserver run

.PHONY: courtsim
courtsim: ## Serve the simulated booking site on 127.0.0.1:9090, opening in 90 s
	$(GO) run ./cmd/courtsim -open-in 90s

.PHONY: build
build: ## Build static binaries into bin/
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/ ./cmd/...

.PHONY: test
test: ## Run every test with the race detector (MySQL too when RESERVER_TEST_MYSQL_DSN is set)
	gofmt_out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$gofmt_out" ]; then echo "gofmt would change:"; echo "$$gofmt_out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) test $(TESTFLAGS) $(PKGS)

.PHONY: test-race
test-race: test ## Same as test: the race detector is always on

.PHONY: test-short
test-short: ## Run the tests without the race detector
	$(GO) test -count=1 $(PKGS)

.PHONY: bench
bench: ## Run the benchmarks; each prints a BENCH line with its figures
	@# One package at a time: benchmarks that measure timing must not share the 2 cores.
	@out=$$(mktemp); status=0; \
	  $(GO) test -p 1 -run '^$$' -bench . -benchtime 1x -timeout 40m $(PKGS) > $$out 2>&1 || status=$$?; \
	  grep -E '^(BENCH|ok|FAIL|---|panic)|^ +[a-z_]+_test\.go:[0-9]+:' $$out; rm -f $$out; exit $$status

.PHONY: fuzz
fuzz: ## Fuzz each target in turn for FUZZTIME (default 5m); make test runs their seed corpora
	set -e; for t in internal/api:FuzzDecodeBooking internal/api:FuzzDecodePatch internal/profile:FuzzParse internal/profile:FuzzRender internal/profile:FuzzClassify internal/profile:FuzzClassifyCart; do \
	  echo "fuzz $${t#*:}"; \
	  $(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $${FUZZTIME:-5m} ./$${t%%:*}/; \
	done

.PHONY: chaos
chaos: ## Crash, fault and outage scenarios on real processes and the local MariaDB (minutes; stops MariaDB for 20 s)
	$(GO) run ./cmd/chaos $(CHAOSFLAGS)

.PHONY: lint
lint: ## gofmt and go vet (and golangci-lint when installed)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet $(PKGS)
	@if command -v golangci-lint >/dev/null; then golangci-lint run; else echo "golangci-lint not installed; gofmt and go vet passed"; fi

.PHONY: migrate
migrate: ## Apply database migrations (RESERVER_DB_DSN, default sqlite:var/reserver.db)
	$(GO) run ./cmd/reserver migrate

.PHONY: clean
clean: ## Remove built binaries and the local database
	rm -rf bin var
