# Convenience targets; the README's commands work without make.
GO ?= go

.PHONY: build test verify bench fuzz run

build:
	$(GO) build -o bin/kplane ./cmd/kplane

test:
	$(GO) test ./...

verify:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./internal/...

fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzDecodeBody -fuzztime=60s ./internal/apiserver/

run:
	$(GO) run ./cmd/kplane up
