# tenantry — developer entry points.
#
#   make run     build and start a local instance with demo data
#   make test    Rust tests + browser tests + API schema test (needs PostgreSQL; installs what is missing)
#   make lint    rustfmt check, clippy with warnings as errors, schema.rs is generated, imports run downwards
#   make bench   throughput/latency benchmark (see scripts/bench.sh, scripts/bench-usage.sh, scripts/bench-rules.sh, scripts/bench-resources.sh, scripts/bench-policies.sh)
#   make mutants mutation testing of src/auth/authz.rs against its unit tests (slow; not in CI)
#
# Every variable below can be overridden: `make run DATABASE_URL=postgres://...`
# or through the environment.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

DATABASE_URL            ?= postgres://tenantry:tenantry@127.0.0.1:5432/tenantry
TEST_DATABASE_URL       ?= postgres://tenantry:tenantry@127.0.0.1:5432/postgres
TENANTRY_LISTEN         ?= 127.0.0.1:8080
TENANTRY_ADMIN_USERNAME ?= admin
TENANTRY_ADMIN_PASSWORD ?= admin-password-123

BIN_RELEASE := target/release/tenantry
PYTHON      := .venv/bin/python
# Test builds carry the failpoints of the migration crash tests (src/failpoints.rs);
# lint checks the same feature set, so CI compiles one set. `make run`'s release
# binary never has them.
TEST_FEATURES := --features failpoints

# Environment for the development instance started by `make run`.
RUN_ENV := DATABASE_URL='$(DATABASE_URL)' \
           TENANTRY_DEV=1 \
           TENANTRY_LISTEN='$(TENANTRY_LISTEN)' \
           TENANTRY_ADMIN_USERNAME='$(TENANTRY_ADMIN_USERNAME)' \
           TENANTRY_ADMIN_PASSWORD='$(TENANTRY_ADMIN_PASSWORD)'

.PHONY: help run test test-rust test-browser test-api lint bench mutants clean-db

help:
	@echo 'make run       build (release), migrate, bootstrap, seed demo data, serve on http://$(TENANTRY_LISTEN)'
	@echo 'make test      cargo test --all-targets --features failpoints, the browser tests (tests/browser/run.py), schemathesis on the API (tests/api/schemathesis_run.py)'
	@echo 'make lint      cargo fmt --check, cargo clippy -D warnings, src/db/schema.rs = diesel print-schema (scripts/check-schema.sh), layer imports (scripts/check-layers.sh)'
	@echo 'make bench     benchmark against a 100k-tenant database (scripts/bench.sh, then bench-usage, bench-rules, bench-resources and bench-policies)'
	@echo 'make mutants   cargo mutants on src/auth/authz.rs against its unit and property tests'
	@echo 'make clean-db  drop and recreate the development database, drop leftover test databases'

run:
	scripts/ensure-postgres.sh
	cargo build --release --bin tenantry
	$(RUN_ENV) $(BIN_RELEASE) migrate
	$(RUN_ENV) $(BIN_RELEASE) bootstrap
	$(RUN_ENV) $(BIN_RELEASE) seed-demo
	@echo
	@echo 'tenantry is running on http://$(TENANTRY_LISTEN) — log in as $(TENANTRY_ADMIN_USERNAME) / $(TENANTRY_ADMIN_PASSWORD) (root tenant) or e.g. acme\alice / demo-password-123 (a tenant user)'
	@echo
	$(RUN_ENV) exec $(BIN_RELEASE) serve

# Both suites always run; the target fails if either failed.
test:
	scripts/ensure-postgres.sh
	scripts/ensure-test-tools.sh
	@passed=0; failed=0; \
	for suite in test-rust test-browser test-api; do \
	  if $(MAKE) --no-print-directory $$suite; then passed=$$((passed + 1)); else failed=$$((failed + 1)); fi; \
	done; \
	if [[ $$failed -ne 0 ]]; then echo 'make test: FAILED (see above)' >&2; fi; \
	echo "suites: $$passed passed, $$failed failed"; \
	[[ $$failed -eq 0 ]]

# Each test drops its database when it ends; what a run still leaves (its template,
# databases of tests cut short) goes afterwards, pass or fail.
test-rust:
	@status=0; TEST_DATABASE_URL='$(TEST_DATABASE_URL)' cargo test --all-targets $(TEST_FEATURES) || status=$$?; \
	TEST_DATABASE_URL='$(TEST_DATABASE_URL)' scripts/drop-test-databases.sh; \
	exit $$status

test-browser:
	TEST_DATABASE_URL='$(TEST_DATABASE_URL)' $(PYTHON) tests/browser/run.py

# schemathesis against /api/v1/openapi.json of a real server with a valid token.
test-api:
	TEST_DATABASE_URL='$(TEST_DATABASE_URL)' $(PYTHON) tests/api/schemathesis_run.py

lint:
	cargo fmt --all -- --check
	scripts/check-layers.sh
	cargo clippy --all-targets $(TEST_FEATURES) -- -D warnings
	scripts/ensure-postgres.sh
	TEST_DATABASE_URL='$(TEST_DATABASE_URL)' scripts/check-schema.sh

# Then the usage statistics benchmark (issue #12; BENCH_USAGE=0 skips it), the
# rule-set migration benchmark (issue #13; BENCH_RULES=0 skips it), instance creation
# under limits (issue #14; BENCH_RESOURCES=0 skips it) and the effective policies at
# depth 12 (issue #15; BENCH_POLICIES=0 skips it).
bench:
	scripts/bench.sh
	if [[ $${BENCH_USAGE:-1} != 0 ]]; then BENCH_SKIP_BUILD=1 scripts/bench-usage.sh; fi
	if [[ $${BENCH_RULES:-1} != 0 ]]; then BENCH_SKIP_BUILD=1 scripts/bench-rules.sh; fi
	if [[ $${BENCH_RESOURCES:-1} != 0 ]]; then BENCH_SKIP_BUILD=1 scripts/bench-resources.sh; fi
	if [[ $${BENCH_POLICIES:-1} != 0 ]]; then BENCH_SKIP_BUILD=1 scripts/bench-policies.sh; fi

# Every mutant of the rules in authz must fail a unit or property test of authz;
# survivors are explained in docs/ARCHITECTURE.md ("Mutation testing of authz").
# The two database loaders (visible_tenant, Subject::load) are left to the
# integration tests. One build per mutant: slow, so not in CI.
MUTANTS_SKIP := visible_tenant|Subject::load
mutants:
	command -v cargo-mutants >/dev/null || cargo install --locked cargo-mutants
	cargo mutants --file src/auth/authz.rs --exclude-re '$(MUTANTS_SKIP)' --jobs 1 \
	  --cargo-test-arg=--lib -- auth::authz

# Drops the development database (demo data included) and the databases of
# interrupted browser-test runs, then recreates an empty development database.
clean-db:
	scripts/ensure-postgres.sh
	psql -X -q -v ON_ERROR_STOP=1 '$(TEST_DATABASE_URL)' -Atc \
	  "SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE);', datname) FROM pg_database \
	   WHERE datname = 'tenantry' OR datname LIKE 'browser\_%' OR datname LIKE 'apischema\_%' \
	   OR datname LIKE 'tenantry\_t%' OR datname LIKE 'schemacheck\_%'" \
	  | psql -X -q -v ON_ERROR_STOP=1 '$(TEST_DATABASE_URL)'
	scripts/ensure-postgres.sh
