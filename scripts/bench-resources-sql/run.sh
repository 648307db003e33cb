#!/usr/bin/env bash
# The instance-create transaction at SQL level (issue #14, docs/PERFORMANCE.md
# "session 14", "session 17"): pgbench replays the statements a create sends,
# before and after session 17's change (create-before.sql, create-after.sql; each
# with the totals' trigger function of its time, installed before its cells), in a
# scratch database migrated like the app's (every migrations/*/up.sql) and seeded
# by setup.sql, at depth 1 and 12, from 1 and 4 connections, in prepared mode (as
# diesel sends its cached statements; create-after.sql pipelines as the app does).
# With BENCH_SQL_WHATIF=1 also two what-ifs of the "after" create, for the record:
# no subtree totals at all (their trigger disabled: the ceiling of any change to
# how totals are kept) and `synchronous_commit = off` (the commit's WAL flush out
# of the time the root's totals row is held). Prints a Markdown table.
#
# Knobs: BENCH_SQL_SECONDS (15 per cell), BENCH_SQL_ROUNDS (2: the cells are run
# in turn, round after round, so that a change of the machine's load hits all),
# BENCH_PG_BASE.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
PG_BASE="${BENCH_PG_BASE:-postgres://tenantry:tenantry@127.0.0.1:5432}"
DB=tenantry_bench_resources_sql
URL="$PG_BASE/$DB"
SECONDS_PER="${BENCH_SQL_SECONDS:-15}"
ROUNDS="${BENCH_SQL_ROUNDS:-2}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

psql -X -q "$PG_BASE/postgres" -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
for m in ../../migrations/*/up.sql; do
    psql -X -q -v ON_ERROR_STOP=1 -1 "$URL" -f "$m" >/dev/null
done
psql -X -q -v ON_ERROR_STOP=1 "$URL" -f setup.sql >/dev/null
sed "s/^BEGIN;/&\nSET LOCAL synchronous_commit = off;/" create-after.sql >"$WORK/create-async.sql"
# The totals' trigger function before session 17 (down) and since (up).
TRIGGER=../../migrations/2026-12-06-001910_instance_totals_one_path
trigger() { psql -X -q -v ON_ERROR_STOP=1 -1 "$URL" -f "$TRIGGER/$1.sql" >/dev/null; }

# $1 label, $2 script, $3 depth, $4 connections: one pgbench run, its latencies.
cell() {
    local log="$WORK/log"
    rm -f "$log".*
    pgbench -n -M prepared -f "$2" -D depth="$3" -c "$4" -j "$4" -T "$SECONDS_PER" \
        -l --log-prefix="$log" "$URL" >"$WORK/out" 2>&1 || { cat "$WORK/out" >&2; exit 1; }
    local tps
    tps=$(awk '/^tps/ { printf "%.0f", $3 }' "$WORK/out")
    cat "$log".* | awk '{ print $3 / 1000 }' | sort -g | awk -v l="$1" -v d="$3" -v c="$4" -v tps="$tps" \
        -v la="$(cut -d' ' -f1 /proc/loadavg)" '{ v[NR] = $1 }
        END { printf "| %s | %s | %s | %d | %s | %.1f | %.1f | %.1f | %s |\n", l, d, c, NR, tps,
              v[int(NR * 0.50) + 1], v[int(NR * 0.95) + 1], v[int(NR * 0.99) + 1], la }'
}

echo "| create | depth | connections | creates | per s | p50 ms | p95 ms | p99 ms | load |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for round in $(seq 1 "$ROUNDS"); do
    for conns in 1 4; do
        for depth in 1 12; do
            trigger down
            cell before create-before.sql "$depth" "$conns"
            trigger up
            cell after create-after.sql "$depth" "$conns"
        done
    done
    if [[ ${BENCH_SQL_WHATIF:-0} == 1 ]]; then
        cell "after, synchronous_commit off" "$WORK/create-async.sql" 12 4
        psql -X -q "$URL" -c "ALTER TABLE instances DISABLE TRIGGER instances_subtree_totals_added"
        cell "after, no subtree totals" create-after.sql 12 4
        psql -X -q "$URL" -c "ALTER TABLE instances ENABLE TRIGGER instances_subtree_totals_added"
    fi
done
