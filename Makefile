# Pave: `make run` starts everything in one process, `make test` runs every test.
SHELL    := /bin/bash
GO       ?= go
SERVICES := access cost gateway lifecycle provisioning scheduler
MODULES  := pkg schemas $(addprefix services/,$(SERVICES)) cmd/pave bench deploy/deploytest
PKGS     := $(foreach m,$(MODULES),./$(m)/...)
# cmd/pave's tests run whole platforms and take longest: listed first, they
# start first and the other packages share the second core beside them.
TESTPKGS := ./cmd/pave/... $(filter-out ./cmd/pave/...,$(PKGS))
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
HELM_VERSION := v3.22.0
GOBIN := $(shell $(GO) env GOPATH)/bin
export PATH := $(GOBIN):$(PATH)

# In CI a missing redis-server or postgres fails the tests instead of skipping them.
ifeq ($(CI),true)
export PAVE_REQUIRE_SERVERS := 1
endif

.PHONY: run test bench lint build servers browser test-tools go-required tidy

go-required:
	@command -v $(GO) >/dev/null || { echo "Go is required: install Go 1.26 from https://go.dev/dl"; exit 1; }

build: go-required ## every binary into ./bin
	$(GO) build -o bin/ ./cmd/pave $(foreach s,$(SERVICES),./services/$(s)/cmd/$(s))

# run builds and installs only what it runs: the pave binary (every
# service in one process) and the servers pave dev starts when none are
# configured. helm and the browser are the tests' alone.
run: go-required servers ## all of Pave in one process, API on :8080, data in ./.pave
	$(GO) build -o bin/pave ./cmd/pave
	./bin/pave dev

# -timeout is per test binary: cmd/pave's took 819 s of a 968 s loaded run
# (two CPU-bound processes beside it); 30m keeps a hang caught well inside
# CI's limit without failing a slow but healthy run at 15m.
test: servers browser test-tools ## every test, against real servers
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 30m $(TESTPKGS)

bench: ## figures as RESULT lines
	$(GO) run ./bench/busbench
	$(GO) run ./cmd/pave bench-environments
	$(GO) run ./cmd/pave bench-api
	$(GO) run ./services/scheduler/cmd/schedbench
	$(GO) run ./bench/kueuebench
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/schema/...
	$(GO) test -run '^$$' -bench . -benchtime 5x ./services/cost/internal/domain/
	$(GO) run ./bench/accessbench -policies deploy/policies
	$(GO) run ./bench/webhookbench
	$(GO) test -run '^$$' -bench BenchmarkPortal -benchtime 1x ./services/gateway/internal/portal/
	$(GO) run ./bench/soak
	$(GO) test -run '^$$' -bench BenchmarkNotify -benchtime 1x ./services/gateway/internal/notify/

lint: ## gofmt, go vet, staticcheck
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run $(STATICCHECK) $(PKGS)

servers: ## install redis-server and PostgreSQL when missing
	@bash deploy/scripts/ensure-servers.sh

browser: ## install chromium (the portal's browser tests) when missing
	@bash deploy/scripts/ensure-servers.sh --browser

test-tools: go-required ## install what only the tests use (helm) when missing
	@command -v helm >/dev/null || { echo "installing helm $(HELM_VERSION) with go install"; $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION); }

tidy:
	@for m in $(MODULES); do (cd $$m && $(GO) mod tidy) || exit 1; done
