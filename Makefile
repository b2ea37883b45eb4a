# Surge build and test entry points. `make test` is what CI runs.

GO ?= go
FUZZTIME ?= 20s

.PHONY: test fmt-check vet build fuzz bench explore-e2e

test: fmt-check vet
	scripts/test.sh

fmt-check:
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt needed on:"; echo "$$unformatted"; exit 1; \
	fi

vet:
	$(GO) vet ./...

build:
	$(GO) build -buildvcs=auto -o bin/surge ./cmd/surge

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

bench:
	$(GO) test -run '^$$' -bench . ./bench/...

# explore-e2e runs SEEDS seeded end-to-end schedules per engine against the
# surge binary (about 15 s a seed) and fails on any breach; FIRST picks the
# first seed.
SEEDS ?= 3
FIRST ?= 1
explore-e2e:
	scripts/test.sh -timeout $$(( $(SEEDS) * 2 + 10 ))m -run TestExploreE2E ./internal/explore/e2e -args -seeds=$(SEEDS) -first=$(FIRST)
