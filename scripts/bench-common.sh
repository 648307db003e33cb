# The opening the per-feature benchmarks share (bench-usage.sh, bench-rules.sh,
# bench-resources.sh): sourced, never run. Each script sets, before sourcing it:
#
#   BENCH_NAME  its log tag and file prefix (`usage`: [bench-usage], target/bench/usage-server.log)
#   DB          its database (tenantry_bench_<name>)
#   ADDR        where its server listens
#
# and gets: PG_BASE, DB_URL, ADMIN_DB_URL, BIN_DIR, OUT (created), the helpers log,
# die, load, sql, start_server [ENV=value…] / stop_server (stopped on exit: a script
# with more to clean up sets its own trap and calls stop_server there), and
# bench_prepare [message] — PostgreSQL up, the release build of `tenantry` and
# `bench-run` (BENCH_SKIP_BUILD=1 to skip), then the database migrated and seeded by
# `bench-run seed --tenants $TENANTS --depth 12` (reused with BENCH_KEEP_DB=1);
# DATABASE_URL is exported.

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PG_BASE="${BENCH_PG_BASE:-postgres://tenantry:tenantry@127.0.0.1:5432}"
DB_URL="$PG_BASE/$DB"
ADMIN_DB_URL="$PG_BASE/postgres"
BIN_DIR="${BENCH_BIN_DIR:-target/release}"
OUT="target/bench"
mkdir -p "$OUT"

log() { printf '[bench-%s] %s\n' "$BENCH_NAME" "$*"; }
die() { printf '[bench-%s] ERROR: %s\n' "$BENCH_NAME" "$*" >&2; exit 1; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
sql() { psql -X -q -tA -v ON_ERROR_STOP=1 "$DB_URL" "$@"; }

SERVER_PID=""
stop_server() {
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}
trap stop_server EXIT
# Sessions live in PostgreSQL and are signed with this key: a cookie outlives a restart.
SECRET="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
# `tenantry serve` on $ADDR (production mode, quiet log, appended to
# $OUT/$BENCH_NAME-server.log), once it answers /readyz; $@: extra environment
# (TENANTRY_DEV=1 for statement counts).
start_server() {
    env "$@" TENANTRY_LISTEN="$ADDR" TENANTRY_PUBLIC_URL="http://$ADDR" TENANTRY_SECRET_KEY="$SECRET" \
        RUST_LOG=warn "$BIN_DIR/tenantry" serve >>"$OUT/$BENCH_NAME-server.log" 2>&1 </dev/null &
    SERVER_PID=$!
    for _ in $(seq 1 120); do
        curl -s -o /dev/null "http://$ADDR/readyz" && return 0
        sleep 0.5
    done
    die "the server did not start (see $OUT/$BENCH_NAME-server.log)"
}

# $1: what the log says when the database is made anew.
bench_prepare() {
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
        log "${1:-creating $DB and seeding $TENANTS tenants}"
        psql -X -q "$ADMIN_DB_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
        "$BIN_DIR/tenantry" migrate >/dev/null
        "$BIN_DIR/bench-run" seed --tenants "$TENANTS" --depth 12
    fi
}
