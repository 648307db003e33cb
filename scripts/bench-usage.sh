#!/usr/bin/env bash
# Usage ingestion benchmark (issue #12: >= 50,000 events/s in batches of 10,000).
# Standalone; scripts/bench.sh may call it as one of its steps.
#
#   1. release build of `tenantry` and `bench-run` (BENCH_SKIP_BUILD=1 to skip)
#   2. database tenantry_bench_usage, migrated and seeded by
#      `bench-run seed --tenants $BENCH_USAGE_TENANTS --depth 12` (reused with
#      BENCH_KEEP_DB=1), and an ingestion key inserted as its hash
#   3. `tenantry serve` on 127.0.0.1:18090
#   4. $BENCH_USAGE_BATCHES batches of 10,000 events (random tenants of the tree, by id
#      and a tenth by subdomain, random times in one month) posted to POST /api/v1/usage,
#      first by one client (one batch at a time), then by $BENCH_USAGE_CLIENTS at once;
#      each batch's answer must count all 10,000 events
#   5. events/s and batch latencies (p50, p99) to stdout and target/bench/usage.md
#
# Knobs: BENCH_USAGE_TENANTS (100000), BENCH_USAGE_BATCHES (30), BENCH_USAGE_CLIENTS (2),
# BENCH_KEEP_DB=1, BENCH_SKIP_BUILD=1, BENCH_BIN_DIR (target/release), BENCH_PG_BASE.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PG_BASE="${BENCH_PG_BASE:-postgres://tenantry:tenantry@127.0.0.1:5432}"
DB="tenantry_bench_usage"
DB_URL="$PG_BASE/$DB"
ADMIN_DB_URL="$PG_BASE/postgres"
TENANTS="${BENCH_USAGE_TENANTS:-100000}"
BATCHES="${BENCH_USAGE_BATCHES:-30}"
CLIENTS="${BENCH_USAGE_CLIENTS:-2}"
BIN_DIR="${BENCH_BIN_DIR:-target/release}"
ADDR="127.0.0.1:18090"
OUT="target/bench"
mkdir -p "$OUT"

log() { printf '[bench-usage] %s\n' "$*"; }
die() { printf '[bench-usage] ERROR: %s\n' "$*" >&2; exit 1; }

SERVER_PID=""
cleanup() {
    if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT

scripts/ensure-postgres.sh >/dev/null
if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
    log "cargo build --release (tenantry, bench-run)"
    cargo build --release --quiet --bin tenantry --bin bench-run
fi

export DATABASE_URL="$DB_URL"
if [[ ${BENCH_KEEP_DB:-0} == 1 ]] && psql -X -q -tA "$DB_URL" -c 'SELECT 1' >/dev/null 2>&1; then
    log "reusing $DB"
    "$BIN_DIR/tenantry" migrate >/dev/null
else
    log "creating $DB and seeding $TENANTS tenants"
    psql -X -q "$ADMIN_DB_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
    "$BIN_DIR/tenantry" migrate >/dev/null
    "$BIN_DIR/bench-run" seed --tenants "$TENANTS" --depth 12
fi
# Each run starts from no usage, so runs compare.
psql -X -q "$DB_URL" -c 'TRUNCATE usage_daily, usage_monthly, usage_batches' >/dev/null

KEY="tni_bench$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
HASH=$(printf '%s' "$KEY" | sha256sum | cut -d' ' -f1)
psql -X -q "$DB_URL" -c "INSERT INTO ingestion_keys (name, key_hash, prefix) VALUES ('bench', '$HASH', '${KEY:0:10}')" >/dev/null

log "tenantry serve on $ADDR"
TENANTRY_LISTEN="$ADDR" TENANTRY_DEV=1 RUST_LOG=warn "$BIN_DIR/tenantry" serve >"$OUT/usage-server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 120); do
    curl -s -o /dev/null "http://$ADDR/readyz" && break
    sleep 0.5
done
curl -s -o /dev/null "http://$ADDR/readyz" || die "the server did not start (see $OUT/usage-server.log)"

psql -X -q -tA "$DB_URL" -c 'SELECT id, subdomain FROM tenants' >"$OUT/usage-tenants.txt"

python3 - "$ADDR" "$KEY" "$BATCHES" "$CLIENTS" "$OUT/usage-tenants.txt" "$OUT/usage.md" <<'PY'
import json, random, sys, threading, time, urllib.request

addr, key, batches, clients, tenants_file, out = sys.argv[1:7]
batches, clients = int(batches), int(clients)
tenants = [line.split("|") for line in open(tenants_file) if line.strip()]
rng = random.Random(12)

def body(n):
    events = []
    for _ in range(10_000):
        tid, sub = rng.choice(tenants)
        events.append({
            "tenant": sub if rng.random() < 0.1 else int(tid),
            "at": f"2026-01-{rng.randint(1, 31):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z",
            "queries": rng.randint(0, 5000),
            "blocked": rng.randint(0, 50),
        })
    return json.dumps({"batch_id": f"bench-{n}-{time.time_ns()}", "events": events}).encode()

def post(data):
    req = urllib.request.Request(f"http://{addr}/api/v1/usage", data=data, method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=120) as r:
        answer = json.load(r)
    if answer["accepted"] != 10_000:
        raise SystemExit(f"batch not fully counted: {answer['accepted']} {answer['rejected'][:3]}")
    return time.perf_counter() - t

def run(label, parallel):
    bodies = [body(i) for i in range(batches)]
    latencies, lock = [], threading.Lock()
    queue = list(bodies)
    def worker():
        while True:
            with lock:
                if not queue:
                    return
                data = queue.pop()
            d = post(data)
            with lock:
                latencies.append(d)
    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(parallel)]
    for t in threads: t.start()
    for t in threads: t.join()
    wall = time.perf_counter() - start
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
    line = (f"| {label} | {batches} × 10,000 | {batches * 10_000 / wall:,.0f} | "
            f"{p(0.5):.0f} ms | {p(0.99):.0f} ms |")
    print(line, flush=True)
    return line

post(body(-1))  # warm-up: connections, prepared statements
lines = ["| clients | batches | events/s | batch p50 | batch p99 |", "|---|---|---|---|---|"]
lines.append(run("1", 1))
lines.append(run(str(clients), clients))
open(out, "w").write(f"Usage ingestion, {len(tenants):,} tenants:\n\n" + "\n".join(lines) + "\n")
PY
log "summary: $OUT/usage.md"
