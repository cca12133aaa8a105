# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

.PHONY: install build run test bench openapi access-doc clean help

install: node_modules/.package-lock.json ## install dependencies (npm ci) when the lock file changed

build: install ## compile every workspace to dist/ (tsc -b)
	npx tsc -b

run: build ## run every service in one process on embedded PGlite (data in ./.data)
	NODE_ENV=development node apps/trm/dist/embedded.js

test: install ## unit, integration and end-to-end tests (needs PostgreSQL and NATS; see README)
	npx tsc -b
	node scripts/test.mjs

openapi: build ## regenerate openapi/openapi.json from the code, and the SDK's types from it
	node apps/trm/dist/openapi.js --write
	npm run -s -w @trm/sdk generate

access-doc: build ## regenerate docs/ACCESS.md from the access matrix
	node apps/trm/dist/access-doc.js --write

bench: build ## benchmarks against real PostgreSQL and NATS (BENCH_QUICK=1 for a short run)
	node bench/dist/run.js

clean: ## remove build output (keeps ./.data)
	npx tsc -b --clean

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'
