# Rampart — every target installs what it needs. `make help` lists them.
export GOTOOLCHAIN := go1.27.3
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export GOFLAGS := -buildvcs=false

GO        ?= go
GOARCH    ?= arm64
FUNCTIONS := $(notdir $(wildcard functions/*))
# The same flags everywhere (build, rampart, demo, lambdatest.BuildFlags), so
# that the targets share Go's build cache: the AWS SDK compiles once.
BUILD     := CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) $(GO) build -trimpath -ldflags "-s -w" -tags lambda.norpc

.PHONY: help build rampart test unit race lint synth cfn-lint deploy demo bench fuzz generate clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

build: ## Lambda binaries: dist/<function>/bootstrap (GOARCH=arm64 by default)
	@for fn in $(FUNCTIONS); do \
		$(BUILD) -o dist/$$fn/bootstrap ./functions/$$fn || exit 1; \
		printf '%-16s %s bytes\n' $$fn $$(stat -c %s dist/$$fn/bootstrap); \
	done

rampart: ## the CLI, for this machine: ./rampart
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -tags lambda.norpc -o rampart ./cmd/rampart

test: ## unit, integration (moto) and end-to-end (RIE) tests, and the infra tests
	$(GO) test -count=1 ./...
	$(GO) test -count=1 ./infra/...

unit: ## the fast tests only (no moto)
	RAMPART_SKIP_MOTO=1 $(GO) test -count=1 ./...
	$(GO) test -count=1 ./infra/...

race: ## the library's tests under the race detector (not in CI: a cold race build of the SDK takes minutes)
	$(GO) test -count=1 -race ./internal/... ./cmd/...

lint: cfn-lint ## gofmt, go vet, golangci-lint (pinned in tools/go.mod), cfn-lint on the synthesized templates
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet ./infra/...
	GOWORK=off $(GO) tool -modfile=tools/go.mod golangci-lint run ./...
	cd infra && GOWORK=off $(GO) tool -modfile=../tools/go.mod golangci-lint run --config ../.golangci.yml ./...
	# Build, synthesize afresh (cdk-nag errors fail it), then cfn-lint. The assets are built for
	# this machine: lint checks the templates, not the binaries, and the build then reuses the
	# tests' compiled packages (make synth and make deploy build arm64, and deploy checks it).
	GOARCH=$$($(GO) env GOHOSTARCH) bash infra/scripts/synth.sh

synth: cfn-lint ## synthesize the CDK app offline into cdk.out/
	bash infra/scripts/synth.sh

# cfn-lint checks the synthesized templates; installed as .ci/run does.
cfn-lint:
	@command -v cfn-lint >/dev/null || python3 -m pip install --quiet 'cfn-lint==1.51.0'

deploy: cfn-lint ## cdk deploy (needs AWS credentials)
	bash infra/scripts/deploy.sh

demo: ## run Rampart locally: moto + the real Lambda binaries under the Runtime Interface Emulator
	CGO_ENABLED=0 $(GO) run -trimpath ./cmd/demo

bench: ## Go benchmarks (handler time against moto)
	$(GO) test -run '^$$' -bench . -benchmem ./...

fuzz: ## fuzz the decoders (FUZZTIME=30s each by default)
	@grep -rlE '^func Fuzz[A-Za-z0-9_]+\(' --include='*_test.go' internal | while read -r file; do \
		for target in $$(grep -oE '^func Fuzz[A-Za-z0-9_]+' "$$file" | sed 's/func //'); do \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $${FUZZTIME:-30s} ./$$(dirname "$$file") || exit 1; \
		done; \
	done

generate: ## regenerate functions/*/main.go, docs/rules/*.md and the README catalog from the rule catalog
	$(GO) generate ./internal/catalog

clean: ## remove build output
	rm -rf dist cdk.out rampart
