#!/usr/bin/env bash
# Instance creation under limits (issue #14), part of `make bench` (BENCH_RESOURCES=0
# skips it; also runs alone):
#
#   1. release build of `tenantry` and `bench-run` (BENCH_SKIP_BUILD=1 to skip)
#   2. database tenantry_bench_resources, migrated and seeded by `bench-run seed
#      --tenants $BENCH_RESOURCES_TENANTS --depth 12` (reused with BENCH_KEEP_DB=1)
#   3. `bench-run seed-resources` before every run (the same start each time): the
#      instances of earlier runs removed; 100 enabled tenants picked at every depth
#      (1 to the deepest), each with an owner user of its own, a public cloud of the
#      root they all see; limits (storage, memory, instances) on every tenant of
#      their paths, root included, at current use plus a wide margin, except every
#      40th picked tenant, which has room for 2 more instances only (its further
#      creates are refused: reported apart)
#   4. `tenantry serve` on 127.0.0.1:18092 (production mode, quiet log), an API token
#      of the root administrator (`bench-run token`)
#   5. $BENCH_RESOURCES_RUNS runs of `bench-run create-instances`: 200 creates to warm
#      up, then $BENCH_RESOURCES_REQUESTS creates (`POST /api/v1/tenants/{id}/instances`,
#      every depth as often, a random picked tenant of that depth each time) from
#      $BENCH_RESOURCES_CONNECTIONS keep-alive connections at once; p50/p95/p99 of the
#      creates and of the refusals, and by depth (target: p99 < 5 ms, and no growth
#      with depth: the limit check is O(depth))
#   6. statements per create by depth: the server restarted in development mode
#      (`X-Db-Statements`), 20 creates per depth from one connection
#   7. afterwards every subtree-totals row of the limited tenants is checked against a
#      recount, and no limited tenant may be above a limit
#   8. a Markdown summary to stdout and target/bench/resources.md, with the load
#      average of each run (the machine is shared: medians over the runs are the result)
#
# Knobs: BENCH_RESOURCES_TENANTS (100000), BENCH_RESOURCES_REQUESTS (10000),
# BENCH_RESOURCES_CONNECTIONS (4), BENCH_RESOURCES_RUNS (3), BENCH_KEEP_DB=1,
# BENCH_SKIP_BUILD=1, BENCH_BIN_DIR (target/release), BENCH_PG_BASE.
set -euo pipefail

BENCH_NAME="resources"
DB="tenantry_bench_resources"
ADDR="127.0.0.1:18092"
TENANTS="${BENCH_RESOURCES_TENANTS:-100000}"
REQUESTS="${BENCH_RESOURCES_REQUESTS:-10000}"
CONNECTIONS="${BENCH_RESOURCES_CONNECTIONS:-4}"
RUNS="${BENCH_RESOURCES_RUNS:-3}"
source "$(dirname "${BASH_SOURCE[0]}")/bench-common.sh"
SUMMARY="$OUT/resources.md"

# The median of the numbers on stdin.
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) printf "%.2f", v[int((NR + 1) / 2)]; else print "n/a" }'; }
# A field of a run's RESULT line.
field() { grep '^RESULT' "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'; }

bench_prepare
# What autovacuum would have done by now (it is off on this machine's PostgreSQL).
sql -c 'SET client_min_messages = error' -c 'VACUUM ANALYZE' >/dev/null
# Before every run: the same start, and fresh statistics for what the last run changed.
prepare() {
    "$BIN_DIR/bench-run" seed-resources
    sql -c 'VACUUM ANALYZE instances, tenant_subtree_totals, tenants, users, audit_events' >/dev/null
}

: >"$OUT/resources-server.log"
start_server
token=$("$BIN_DIR/bench-run" token) || die "no API token"
export BENCH_ADDR="$ADDR" BENCH_TOKEN="$token"

# ---------------------------------------------------------------- 5. timed runs
loads=()
for run in $(seq 1 "$RUNS"); do
    seeded=$(prepare)
    log "run $run of $RUNS: $REQUESTS creates from $CONNECTIONS connections (load $(load))"
    before=$(load)
    "$BIN_DIR/bench-run" create-instances --requests "$REQUESTS" --connections "$CONNECTIONS" \
        --warmup 200 >"$OUT/resources-run-$run.md" || die "run $run failed: $(tail -n 20 "$OUT/resources-run-$run.md")"
    loads+=("$before → $(load)")
    grep '^RESULT' "$OUT/resources-run-$run.md"
done

# ---------------------------------------------------------------- 6. statements by depth
stop_server
start_server TENANTRY_DEV=1
prepare >/dev/null
depths=$(sql -c "SELECT count(DISTINCT cardinality(p.path)) FROM users u JOIN tenant_paths p ON p.tenant_id = u.tenant_id WHERE u.username LIKE 'bench-owner-%'")
log "statements per create: 20 per depth ($depths depths), one connection, development mode"
"$BIN_DIR/bench-run" create-instances --requests $((20 * depths)) --connections 1 --warmup 20 \
    >"$OUT/resources-statements.md" || die "statement run failed: $(tail -n 20 "$OUT/resources-statements.md")"
stop_server

# ---------------------------------------------------------------- 7. exact and within limits
log "checking the subtree totals of the limited tenants against a recount"
wrong=$(sql <<'SQL'
WITH limited AS (SELECT id FROM tenants WHERE max_instances IS NOT NULL),
recount AS (
    SELECT a.id, count(*) AS n, sum(i.storage_gb) AS storage, sum(i.memory_gb) AS memory
    FROM instances i JOIN tenant_paths p ON p.tenant_id = i.tenant_id
    CROSS JOIN LATERAL unnest(p.path) AS a(id)
    WHERE a.id IN (SELECT id FROM limited)
    GROUP BY a.id
)
SELECT count(*) FROM limited l
JOIN tenant_subtree_totals s ON s.tenant_id = l.id
LEFT JOIN recount r ON r.id = l.id
WHERE s.instance_count <> coalesce(r.n, 0) OR s.storage_gb <> coalesce(r.storage, 0)
   OR s.memory_gb <> coalesce(r.memory, 0)
SQL
)
over=$(sql -c "SELECT count(*) FROM tenants t JOIN tenant_subtree_totals s ON s.tenant_id = t.id
    WHERE s.instance_count > t.max_instances OR s.storage_gb > t.storage_limit_gb OR s.memory_gb > t.memory_limit_gb")
[[ $wrong == 0 ]] || die "$wrong subtree-totals rows differ from a recount"
[[ $over == 0 ]] || die "$over tenants are above a limit"

# ---------------------------------------------------------------- 8. summary
tenants=$(sql -c 'SELECT count(*) FROM tenants')
limited=$(sql -c 'SELECT count(*) FROM tenants WHERE max_instances IS NOT NULL')
# The run whose p99 is the median one: its table by depth is shown.
median_p99=$(for run in $(seq 1 "$RUNS"); do field "$OUT/resources-run-$run.md" p99; done | median)
shown=1
for run in $(seq 1 "$RUNS"); do
    [[ $(field "$OUT/resources-run-$run.md" p99) == "$median_p99" ]] && shown=$run
done
{
    echo "### Instance creation under limits $(date -u +%Y-%m-%d) (commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
    echo
    echo "Machine: $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), PostgreSQL $(sql -c 'SHOW server_version') on the same machine (shared with other builds: see the load averages); $tenants tenants (\`bench-run seed --depth 12\`)."
    echo
    echo "$seeded"
    echo
    echo "\`BENCH_KEEP_DB=1 scripts/bench-resources.sh\`: $RUNS runs of $REQUESTS creates from $CONNECTIONS connections (target p99 < 5 ms at every depth):"
    echo
    echo "| run | created | refused | req/s | p50 | p95 | p99 | p99 depth 1 | p99 depth 12 | load average before → after |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    for run in $(seq 1 "$RUNS"); do
        f="$OUT/resources-run-$run.md"
        echo "| $run | $(field "$f" created) | $(field "$f" refused) | $(field "$f" rps) | $(field "$f" p50) ms | $(field "$f" p95) ms | $(field "$f" p99) ms | $(field "$f" p99_depth1) ms | $(field "$f" p99_depth12) ms | ${loads[$((run - 1))]} |"
    done
    med() { for run in $(seq 1 "$RUNS"); do field "$OUT/resources-run-$run.md" "$1"; done | median; }
    echo "| **median** | | | $(med rps) | $(med p50) ms | $(med p95) ms | **$(med p99) ms** | $(med p99_depth1) ms | $(med p99_depth12) ms | |"
    echo
    echo "Run $shown (the median p99):"
    echo
    grep -v '^RESULT' "$OUT/resources-run-$shown.md"
    echo
    echo "Statements per create by depth (development mode, one connection, 20 creates per depth; latencies of this pass are not the result):"
    echo
    grep -v '^RESULT' "$OUT/resources-statements.md" | awk '/^By depth/ { on = 1 } on'
    echo
    echo "After the runs: the subtree totals of all $limited limited tenants equal a recount of their instances, and none is above a limit."
    echo
} >"$SUMMARY"

log "summary: $SUMMARY"
cat "$SUMMARY"
