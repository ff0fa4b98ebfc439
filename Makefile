# rolevault — see README.md. Every target works on a fresh clone with Go 1.26.
GO      ?= go
BIN     ?= bin/rolevault
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

# On Linux nothing needs cgo (the keyring backends there are pure Go), and a
# static binary starts faster: no dynamic loader, no libc, no NSS look-ups
# (docs/performance.md). macOS keeps cgo for the Keychain. CGO_ENABLED set in
# the environment wins. Only the build gets it: `make bench` builds its floor
# program as Go builds it by default.
BUILD_CGO := $(if $(filter linux,$(shell $(GO) env GOOS)),$(or $(CGO_ENABLED),0),$(CGO_ENABLED))

.PHONY: build test demo bench lint tools fuzz clean

build:
	$(if $(BUILD_CGO),CGO_ENABLED=$(BUILD_CGO) )$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) .

# Unit tests plus the end-to-end suite. Real-component tests (keyring backends,
# AWS CLI, boto3, tmux) run when their tools are installed and skip otherwise;
# each skip is noted in the file named by ROLEVAULT_SKIP_FILE, and one summary
# at the end lists them with the Debian packages that would run them.
# ROLEVAULT_E2E=require makes a missing tool a failure (CI sets it). The exit
# code is go test's.
test:
	@skips=$$(mktemp "$${TMPDIR:-/tmp}/rolevault-skips.XXXXXX") || exit 1; \
	trap 'rm -f "$$skips"' EXIT; trap 'exit 130' INT TERM; \
	echo "$(GO) test -count=1 -timeout 20m ./..."; \
	rc=0; ROLEVAULT_SKIP_FILE=$$skips $(GO) test -count=1 -timeout 20m ./... || rc=$$?; \
	scripts/skip-summary.sh "$$skips"; exit $$rc

# The full flow against the bundled STS emulator, with a file keyring in a
# temporary directory. Touches nothing in your home directory.
demo: build
	@scripts/demo.sh $(BIN)

bench:
	@scripts/bench.sh

# Lint tools, pinned. `make tools` installs them into $(go env GOPATH)/bin
# (or GOBIN); `make lint` does so first when the pinned version is missing.
STATICCHECK_VERSION := 0.8.2
GOBINDIR = $(or $(shell $(GO) env GOBIN),$(firstword $(subst :, ,$(shell $(GO) env GOPATH)))/bin)
STATICCHECK = $(GOBINDIR)/staticcheck

tools:
	@if "$(STATICCHECK)" -version 2>/dev/null | grep -qF '($(STATICCHECK_VERSION))'; then :; else \
	  echo "installing staticcheck v$(STATICCHECK_VERSION) into $(GOBINDIR)"; \
	  $(GO) install honnef.co/go/tools/cmd/staticcheck@v$(STATICCHECK_VERSION); fi

lint: tools
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

fuzz:
	$(GO) test ./config -run '^$$' -fuzz FuzzLoadConfig -fuzztime 2m

clean:
	rm -rf bin
