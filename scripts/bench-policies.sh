#!/usr/bin/env bash
# Effective policies at depth 12 (issue #15), part of `make bench` (BENCH_POLICIES=0
# skips it; also runs alone):
#
#   1. release build of `tenantry` and `bench-run` (BENCH_SKIP_BUILD=1 to skip)
#   2. database tenantry_bench_policies, migrated and seeded by `bench-run seed
#      --tenants $BENCH_POLICIES_TENANTS --depth 12` (reused with BENCH_KEEP_DB=1)
#   3. `bench-run seed-policies --policies $BENCH_POLICIES_COUNT` (the same start each
#      time): two inheritable policies on every tenant of the paths of 200 tenants at
#      depth 12 (the root's first one locked), an override and an own policy on each of
#      those 200, the rest one per tenant elsewhere, half of them inheritable
#   4. $BENCH_POLICIES_RUNS runs of `bench-run effective-policies`: 10,000 calls of
#      `services::policies::effective` in process (the effective view's work: one query
#      over the tenant's path, then the decision per kind), half on the 200 tenants,
#      half on any tenant at depth 12; p50/p99 (target: p99 < 2 ms)
#   5. the query plan of that one query for one of the 200 (EXPLAIN ANALYZE)
#   6. a Markdown summary to stdout and target/bench/policies.md, with the load
#      average of each run (the machine is shared: the median over the runs is the
#      result)
#
# Knobs: BENCH_POLICIES_TENANTS (100000), BENCH_POLICIES_COUNT (10000),
# BENCH_POLICIES_RUNS (3), BENCH_KEEP_DB=1, BENCH_SKIP_BUILD=1, BENCH_BIN_DIR
# (target/release), BENCH_PG_BASE.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PG_BASE="${BENCH_PG_BASE:-postgres://tenantry:tenantry@127.0.0.1:5432}"
DB="tenantry_bench_policies"
DB_URL="$PG_BASE/$DB"
ADMIN_DB_URL="$PG_BASE/postgres"
TENANTS="${BENCH_POLICIES_TENANTS:-100000}"
COUNT="${BENCH_POLICIES_COUNT:-10000}"
RUNS="${BENCH_POLICIES_RUNS:-3}"
BIN_DIR="${BENCH_BIN_DIR:-target/release}"
OUT="target/bench"
mkdir -p "$OUT"
SUMMARY="$OUT/policies.md"

log() { printf '[bench-policies] %s\n' "$*"; }
die() { printf '[bench-policies] ERROR: %s\n' "$*" >&2; exit 1; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
sql() { psql -X -q -tA -v ON_ERROR_STOP=1 "$DB_URL" "$@"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) printf "%.3f", v[int((NR + 1) / 2)]; else print "n/a" }'; }
# p50 or p99 (ms) of a report line of a run's output: $1 file, $2 line prefix, $3 p50|p99.
stat() { grep "^$2" "$1" | tr ' ' '\n' | awk -F= -v k="$3" '$1 == k { sub(/ms$/, "", $2); print $2 }'; }

scripts/ensure-postgres.sh >/dev/null
if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
    log "cargo build --release (tenantry, bench-run)"
    cargo build --release --quiet --bin tenantry --bin bench-run
fi

export DATABASE_URL="$DB_URL"
if [[ ${BENCH_KEEP_DB:-0} == 1 ]] && sql -c 'SELECT 1' >/dev/null 2>&1; then
    log "reusing $DB"
    "$BIN_DIR/tenantry" migrate >/dev/null
else
    log "creating $DB and seeding $TENANTS tenants"
    psql -X -q "$ADMIN_DB_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
    "$BIN_DIR/tenantry" migrate >/dev/null
    "$BIN_DIR/bench-run" seed --tenants "$TENANTS" --depth 12
fi
log "seeding $COUNT policies"
seeded=$("$BIN_DIR/bench-run" seed-policies --policies "$COUNT") || die "seed-policies failed: $seeded"
echo "$seeded"
# What autovacuum would have done by now (it may be off on this machine's PostgreSQL).
sql -c 'SET client_min_messages = error' -c 'VACUUM ANALYZE' >/dev/null

loads=()
for run in $(seq 1 "$RUNS"); do
    log "run $run of $RUNS (load $(load))"
    before=$(load)
    "$BIN_DIR/bench-run" effective-policies >"$OUT/policies-run-$run.txt" \
        || die "run $run failed: $(tail -n 20 "$OUT/policies-run-$run.txt")"
    loads+=("$before → $(load)")
    cat "$OUT/policies-run-$run.txt"
done

# The plan of `Policy::visible` (the one query) for a tenant with policies all along its path.
target=$(sql -c "SELECT tenant_id FROM policies WHERE overrides_id IS NOT NULL ORDER BY tenant_id LIMIT 1")
path=$(sql -c "SELECT path FROM tenant_paths WHERE tenant_id = $target")
above=$(sql -c "SELECT (path)[1:cardinality(path) - 1] FROM tenant_paths WHERE tenant_id = $target")
plan=$(sql -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
    SELECT p.*, t.name, tp.path FROM policies p
    JOIN tenants t ON t.id = p.tenant_id JOIN tenant_paths tp ON tp.tenant_id = t.id
    WHERE p.tenant_id = $target OR (p.tenant_id = ANY ('$above'::bigint[]) AND p.inheritable)")
visible=$(sql -c "SELECT count(*) FROM policies WHERE tenant_id = $target OR (tenant_id = ANY ('$above'::bigint[]) AND inheritable)")

ALL="effective policies at depth 12, all samples"
ON="effective policies at depth 12, tenants with policies all along their path"
ANY="effective policies at depth 12, any tenant at that depth"
med() { for run in $(seq 1 "$RUNS"); do stat "$OUT/policies-run-$run.txt" "$1" "$2"; done | median; }
{
    echo "### Effective policies at depth 12 $(date -u +%Y-%m-%d) (commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
    echo
    echo "Machine: $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), PostgreSQL $(sql -c 'SHOW server_version') on the same machine (shared with other builds: see the load averages); $(sql -c 'SELECT count(*) FROM tenants') tenants (\`bench-run seed --depth 12\`)."
    echo
    echo "\`$seeded\`"
    echo
    echo "\`BENCH_KEEP_DB=1 scripts/bench-policies.sh\`: $RUNS runs of \`bench-run effective-policies\` (10,000 calls of \`services::policies::effective\` in process, after 200 to warm up; target p99 < 2 ms):"
    echo
    echo "| run | p50 all | p99 all | p99, policies all along the path | p99, any tenant at depth 12 | load average before → after |"
    echo "| --- | ---: | ---: | ---: | ---: | --- |"
    for run in $(seq 1 "$RUNS"); do
        f="$OUT/policies-run-$run.txt"
        echo "| $run | $(stat "$f" "$ALL" p50) ms | $(stat "$f" "$ALL" p99) ms | $(stat "$f" "$ON" p99) ms | $(stat "$f" "$ANY" p99) ms | ${loads[$((run - 1))]} |"
    done
    echo "| **median** | $(med "$ALL" p50) ms | **$(med "$ALL" p99) ms** | $(med "$ON" p99) ms | $(med "$ANY" p99) ms | |"
    echo
    echo "Run 1's output:"
    echo
    echo '```'
    cat "$OUT/policies-run-1.txt"
    echo '```'
    echo
    echo "The one query for tenant $target (path $path, $visible policies visible):"
    echo
    echo '```'
    echo "$plan"
    echo '```'
} >"$SUMMARY"

log "summary: $SUMMARY"
cat "$SUMMARY"
