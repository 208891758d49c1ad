# Ankara — the two commands that matter: `make run` and `make test`.
GO        ?= go
TEMPL     := $(GO) tool templ
DEMO_EMAIL    ?= demo@ankara.test
DEMO_PASSWORD ?= ankara-demo-2026
export CGO_ENABLED = 1

.PHONY: run test generate check-generated lint bench deps build

## run: serve on http://localhost:8080 with SQLite, the provider sandboxes and a demo merchant
run:
	ANKARA_SANDBOX=$${ANKARA_SANDBOX:-true} ANKARA_DEMO_EMAIL=$(DEMO_EMAIL) ANKARA_DEMO_PASSWORD=$(DEMO_PASSWORD) $(GO) run . serve

## build: a binary in bin/
build: generate
	$(GO) build -trimpath -o bin/ankara .

## test: install what the tests need, check generated code and formatting, run every test with -race
test: deps check-generated lint
	$(GO) test -race -count=1 -timeout 15m ./...

## deps: Debian's Chromium for the browser tests, when missing
deps:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1 || { \
		echo "installing chromium for the browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

## generate: templ components → *_templ.go (committed)
generate:
	$(TEMPL) generate

## check-generated: fail when the committed templ code is stale
check-generated: generate
	@git diff --exit-code --stat -- '*_templ.go' || { echo "generated templ code is stale: run 'make generate' and commit"; exit 1; }
	@test -z "$$(git ls-files --others --exclude-standard -- '*_templ.go')" || { echo "generated templ files are not committed"; exit 1; }

## lint: gofmt, templ fmt and go vet
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(TEMPL) fmt -fail views
	$(GO) vet ./...

## bench: the speed figures (invoice list at 100k, callbacks/s, …) with memory
bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 30m ./...
