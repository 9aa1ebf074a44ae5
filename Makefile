# failover-harness — see README.md. Every target is safe to re-run.
SHELL := /bin/bash
GO ?= go
SEED ?=
LABELS ?=
PROVIDER ?= auto
IMAGES ?= auto
OUT ?= reports/out
CONFIG ?=
TARGET ?=
# On when their Debian packages are installed (make test installs them): the topology's own
# Alertmanager and Prometheus (README: On-call and metrics).
ALERTMANAGER ?= $(if $(shell command -v prometheus-alertmanager 2>/dev/null),true,false)
PROMETHEUS ?= $(if $(shell command -v prometheus 2>/dev/null),true,false)
RUNS ?= 10
LOAD ?= 0
RETRY_INCONCLUSIVE ?= 0
# Library packages get the race detector. The end-to-end suites (scenarios, the CLI's
# `chaos run` tests) drive real processes against time-compressed bounds: they run
# without it, since instrumenting the harness side skews the timings they measure.
RACE_PKGS := . ./runtime/... ./harness/... ./reports/...
E2E_PKGS := ./cmd/chaos/... ./scenarios/...

.PHONY: help deps test tidy-check vet deadcode-check fmt-check unit scenarios-selftest chaos soak images bench clean

help: ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

test: deps fmt-check tidy-check vet deadcode-check unit ## every test: gofmt, go mod tidy, go vet, deadcode, unit+integration (race), fuzz seed corpora, scenario self-tests

deps: ## install what the tests use: Debian's redis-server and chromium (apt-get, once), Go modules
	@bash scripts/ci-setup.sh

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

tidy-check:
	$(GO) mod tidy -diff

vet:
	$(GO) vet ./...

# Code no program or test reaches (golang.org/x/tools/cmd/deadcode, a go.mod tool).
deadcode-check:
	@out=$$($(GO) tool deadcode -test ./...); \
	if [ -n "$$out" ]; then echo "unreachable code:"; echo "$$out"; exit 1; fi

unit:
	$(GO) test -race -count=1 -timeout 15m $(RACE_PKGS)
	@# one package at a time: each starts whole topologies against time-compressed bounds
	$(GO) test -p 1 -count=1 -timeout 15m $(E2E_PKGS)

chaos: ## run the failover test plan; SEED=N replays, LABELS=plan-3 runs one row, PROVIDER=local|docker|auto, TARGET=file.yaml runs it against your deployment (docs/EXTERNAL.md); exit 0 passed, 1 failed, 3 inconclusive
	@mkdir -p $(OUT)
	@# Images built by 'make images' are refreshed so docker runs today's code (no-op when unchanged).
	@if [ -z "$(TARGET)" ] && [ "$(PROVIDER)" != local ] && [ "$(IMAGES)" != upstream ] && bash scripts/build-images.sh --check >/dev/null 2>&1; then \
		bash scripts/build-images.sh; fi
	@# Ginkgo reports an INCONCLUSIVE spec as skipped; `chaos verdict` turns the record into the documented exit code.
	$(GO) tool ginkgo -v $(if $(SEED),--seed=$(SEED)) --label-filter='$(LABELS)' --timeout=10m ./scenarios -- \
		-chaos.seed='$(SEED)' -chaos.provider='$(if $(TARGET),external,$(PROVIDER))' -chaos.images='$(IMAGES)' -chaos.out='$(abspath $(OUT))' -chaos.config='$(CONFIG)' \
		$(if $(TARGET),-chaos.target='$(abspath $(TARGET))',-chaos.alertmanager=$(ALERTMANAGER) -chaos.prometheus=$(PROMETHEUS)) \
		-chaos.retry-inconclusive=$(RETRY_INCONCLUSIVE)
	@$(GO) run ./cmd/chaos verdict $(OUT)/run.json

soak: ## run the plan RUNS times with fresh seeds and print passed/failed/inconclusive per spec; PROVIDER=, CONFIG=, LOAD=N busy cores
	$(GO) run ./cmd/chaos soak --runs $(RUNS) --provider $(PROVIDER) --images $(IMAGES) --cpu-load $(LOAD) \
		$(if $(CONFIG),--config $(CONFIG)) $(if $(LABELS),--labels $(LABELS))

images: ## build every container image locally (no registry needed)
	bash scripts/build-images.sh

images-release: ## build the runtime and LB release images (needs registry access for golang)
	docker build -f images/release.Dockerfile --target agent-runtime -t agentops/agent-runtime:release .
	docker build -f images/release.Dockerfile --target global-lb -t agentops/global-lb:release .

bench: ## benchmarks: message round trip, failover restore, LB proxy, topology ready
	$(GO) test -run '^$$' -bench . -benchtime 2s ./runtime/... ./harness/...

clean:
	rm -rf $(OUT) reports/soak reports/runs bin .run
