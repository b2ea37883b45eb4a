# Surge build and test entry points. `make test` is what CI runs.

GO ?= go
FUZZTIME ?= 20s

SEEDS ?= 300
FROM ?= 1

# STATICCHECK is pinned and reviewed in docs/adr/0007-dependencies.md; it
# runs through `go run` so go.mod's require list stays the product's own.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: test lint staticcheck fmt-check vet mod-verify build fuzz explore explore-e2e soak capacity

test: lint mod-verify
	scripts/test.sh

# lint is gofmt, go vet and staticcheck (ADR 0007).
lint: fmt-check vet staticcheck

staticcheck:
	$(GO) run $(STATICCHECK) ./...

fmt-check:
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt needed on:"; echo "$$unformatted"; exit 1; \
	fi

vet:
	$(GO) vet ./...

# mod-verify checks the downloaded modules against the hashes in go.sum.
mod-verify:
	$(GO) mod verify

# VERSION is the release tag on HEAD, if any: a build from a tag reports
# it even where the toolchain cannot stamp version control information.
VERSION ?= $(shell git describe --tags --exact-match 2>/dev/null)

# soak runs the local topology under steady checkout load for SOAKTIME and
# reports whether any Surge process's heap, goroutines, descriptors or
# resident set climbs, at half of what the topology sustains: `make
# capacity` measures it and prints the half (25/s on the project's 2-core
# machine, docs/RELIABILITY.md). CI runs none of it.
SOAKTIME ?= 30m
SOAKRATE ?= 25
soak: build
	bin/surge drill soak --duration $(SOAKTIME) --rate $(SOAKRATE) --out soak-report

# capacity steps checkout load up through the local topology's balancer
# (10/s, then 10/s more every 20 s) until a step fails, and prints the rate
# sustained and half of it.
capacity: build
	bin/surge drill capacity --start 10 --step 10 --hold 20s --out capacity-report

build:
	$(GO) build -buildvcs=auto $(if $(VERSION),-ldflags "-X main.version=$(VERSION)") -o bin/surge ./cmd/surge

# fuzz runs every Fuzz target for FUZZTIME each. go test -list prints a
# package's target names before the "ok <package>" line that names it.
fuzz:
	@set -e; \
	list="$$($(GO) test -list '^Fuzz' ./...)" || { echo "$$list"; exit 1; }; \
	echo "$$list" | awk '/^Fuzz/ { names[n++] = $$1 } /^ok / { for (i = 0; i < n; i++) print $$2, names[i]; n = 0 }' | \
	while read -r pkg target; do \
		echo "fuzz $$pkg $$target for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) "$$pkg" </dev/null; \
	done

# explore runs SEEDS seeded schedules per engine, from seed FROM, with no
# time budget, and fails on any breach; each breach prints its replay
# command (docs/RELIABILITY.md).
# Without the race detector by default (it costs five times the seeds;
# CI's slice of the explorer runs with it): RACE=-race to add it.
RACE ?=
explore:
	RACE=$(RACE) scripts/test.sh -timeout 0 -run TestExplore ./internal/explore -args -seeds=$(SEEDS) -from=$(FROM) -budget=0

# explore-e2e runs SEEDS seeded end-to-end schedules per engine, from seed
# FROM, against the surge binary and a separate surge psp (5-20 s a seed,
# so pass SEEDS: make explore-e2e SEEDS=100), and fails on any breach.
explore-e2e:
	RACE=$(RACE) scripts/test.sh -timeout $$(( $(SEEDS) + 10 ))m -run TestExploreE2E ./internal/explore/e2e -args -seeds=$(SEEDS) -first=$(FROM)

# vendor-web fetches the third-party files of the browser pages from npm
# and checks them against their reviewed checksums (internal/web/static).
.PHONY: vendor-web
vendor-web:
	scripts/vendor-web.sh

# sdk regenerates the TypeScript client's types from the OpenAPI document
# and compiles it; sdk/typescript/dist is committed (and copied for the
# storefront), so the Go build and the tests need no Node toolchain
# beyond running node.
.PHONY: sdk
sdk:
	cd sdk/typescript && npm ci --no-audit --no-fund && npm run build
	sha256sum internal/httpapi/openapi.json | cut -d' ' -f1 > sdk/typescript/openapi.sha256
	cp sdk/typescript/dist/index.js internal/web/static/store/sdk.js
