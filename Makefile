# paysaga — `make dev` runs everything in one process, `make test` runs every test.
# Pure Go throughout: no C compiler needed, and none of SQLite's C code is built.
export CGO_ENABLED := 0
GO ?= go

.PHONY: dev test build vet clean temporal-cli chaos bench fuzz

# The `temporal` CLI that docs/operations.md uses and its test runs. v1.5.1 is the newest
# that installs from the Go module proxy (later ones carry replace directives); it builds
# its own Temporal server, so the first install takes minutes, later ones come from the
# build cache. It goes to ./bin (gitignored), not to the machine.
TEMPORAL_CLI_VERSION := v1.5.1
TEMPORAL_CLI := $(CURDIR)/bin/temporal

dev:
	$(GO) run ./cmd/paysaga-dev

test: vet fuzz $(TEMPORAL_CLI)
	$(GO) test -count=1 -timeout 25m ./...

# Each fuzz target for FUZZTIME, starting from its seed corpus in testdata/fuzz: the API's
# request decoding and the Toss client's answer decoding must never panic on any input. A
# failing input is written to testdata/fuzz/<target>/ and replays in every later `go test`.
FUZZTIME ?= 10s
FUZZ_TARGETS := ./api:FuzzDecodeConfirmRequest ./api:FuzzDecodeCreateOrderRequest \
	./toss:FuzzDecodePayment ./toss:FuzzDecodeTossError
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

temporal-cli: $(TEMPORAL_CLI)

$(TEMPORAL_CLI):
	GOBIN=$(CURDIR)/bin $(GO) install -ldflags='-s -w' github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

# A chaos run against a running dev stack whose workers it brings itself: start the stack
# first with `go run ./cmd/paysaga-dev -workers=0` (see docs/chaos.md). The workers it kills
# are the production binary's, bin/paysaga, which paysaga-dev finds beside itself.
CHAOS_ARGS ?= -checkouts 1000
chaos: build
	./bin/paysaga-dev chaos $(CHAOS_ARGS)

# A short benchmark (about 1.5 minutes on a quiet machine, after the first build): every
# scenario, paysaga beside the lock-across-calls baseline, on the in-process SQLite stack.
# BENCH_ARGS adds flags, e.g. BENCH_ARGS="-db postgres -scenario hot" (go run ./cmd/paysaga-dev bench -h).
bench:
	$(GO) run ./cmd/paysaga-dev bench -duration 5s -warmup 8 $(BENCH_ARGS)

build:
	$(GO) build -trimpath -o bin/paysaga ./cmd/paysaga
	$(GO) build -trimpath -o bin/paysaga-dev ./cmd/paysaga-dev

clean:
	rm -rf bin .data
