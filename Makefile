# paysaga — `make dev` runs everything in one process, `make test` runs every test.
# Pure Go throughout: no C compiler needed, and none of SQLite's C code is built.
export CGO_ENABLED := 0
GO ?= go

.PHONY: dev test build vet clean

dev:
	$(GO) run ./cmd/paysaga-dev

test: vet
	$(GO) test -count=1 -timeout 25m ./...

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

build:
	$(GO) build -trimpath -o bin/paysaga ./cmd/paysaga
	$(GO) build -trimpath -o bin/paysaga-dev ./cmd/paysaga-dev

clean:
	rm -rf bin .data
