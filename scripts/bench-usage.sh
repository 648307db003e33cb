#!/usr/bin/env bash
# Usage statistics benchmark (issue #12), part of `make bench` (also runs alone):
#
#   1. release build of `tenantry` and `bench-run` (BENCH_SKIP_BUILD=1 to skip)
#   2. database tenantry_bench_usage, migrated and seeded by
#      `bench-run seed --tenants $BENCH_USAGE_TENANTS --depth 12` (reused with
#      BENCH_KEEP_DB=1), and an ingestion key inserted as its hash
#   3. `tenantry serve` on 127.0.0.1:18090 (production mode, quiet log)
#   4. ingestion (target >= 50,000 events/s in batches of 10,000): $BENCH_USAGE_BATCHES
#      batches of 10,000 events (random tenants of the tree, by id and a tenth by
#      subdomain, random times in one month) posted to POST /api/v1/usage, by 1 client
#      (one batch at a time), then by each count in $BENCH_USAGE_CLIENTS at once; every
#      answer must count all 10,000 events; then the subtree totals are checked against
#      a recount from the own rows (exactness, not speed)
#   5. the stats page (target p99 < 100 ms): 12 months of usage for every tenant
#      (seeded in SQL, subtree totals summed set-wise), then, logged in as the root's
#      Owner, `hey -n 400 -c 1` on /tenants/{root}/stats over the 12 months (the root's
#      subtree: every tenant) in each order
#   6. the CSV export (target: within 2x of `COPY (same query) TO STDOUT`, server peak
#      RSS at 1,000,000 rows within 10 % of that at 100,000): 100,000 and 1,000,000
#      tenant-month rows (1 and 10 months of the root's subtree), each against a freshly
#      started server, timed with curl; the server's VmHWM (/proc/<pid>/status) before
#      and after; the same rows by psql `\copy (SELECT ...) TO STDOUT WITH CSV`
#   7. a Markdown summary to stdout and target/bench/usage.md, with `uptime` at each step
#
# Knobs: BENCH_USAGE_TENANTS (100000), BENCH_USAGE_BATCHES (30), BENCH_USAGE_CLIENTS
# ("2 4"), BENCH_KEEP_DB=1, BENCH_SKIP_BUILD=1, BENCH_BIN_DIR (target/release),
# BENCH_PG_BASE, BENCH_USAGE_ONLY (ingest, stats or csv: that step alone; the usage
# seeded for stats/csv is kept in the database).
set -euo pipefail

BENCH_NAME="usage"
DB="tenantry_bench_usage"
ADDR="127.0.0.1:18090"
TENANTS="${BENCH_USAGE_TENANTS:-100000}"
BATCHES="${BENCH_USAGE_BATCHES:-30}"
CLIENTS="${BENCH_USAGE_CLIENTS:-2 4}"
ONLY="${BENCH_USAGE_ONLY:-}"
ADMIN_LOGIN="admin"
ADMIN_PASSWORD="bench-password-123"
source "$(dirname "${BASH_SOURCE[0]}")/bench-common.sh"
SUMMARY="$OUT/usage.md"

step() { [[ -z $ONLY || $ONLY == "$1" ]]; }
peak_rss_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status"; }
# CPU seconds (user + system) the server has used so far: what the export costs the server, beside its wall time.
server_cpu_secs() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$SERVER_PID/stat"; }

bench_prepare
# Statistics for the tree (this machine's PostgreSQL has autovacuum, hence autoanalyze,
# off: without them `path @> ARRAY[root]` is estimated at 1 % of the tenants and the
# stats page's deep pages sorted all 100,000 of them on disk, 0.6 s instead of 0.06).
sql -c 'SET client_min_messages = error' -c 'VACUUM ANALYZE' >/dev/null
root=$(sql -c 'SELECT id FROM tenants WHERE parent_id IS NULL')
tenants=$(sql -c 'SELECT count(*) FROM tenants')
: >"$OUT/usage-server.log"
{
    echo "### Usage statistics benchmark $(date -u +%Y-%m-%d) (commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
    echo
    echo "Machine: $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), PostgreSQL $(sql -c 'SHOW server_version') on the same machine; $tenants tenants (\`bench-run seed --depth 12\`)."
    echo
} >"$SUMMARY"

# ---------------------------------------------------------------- 4. ingestion
if step ingest; then
    # Each run starts from no usage, so runs compare.
    sql -c 'TRUNCATE usage_daily, usage_monthly, usage_batches, usage_pending' >/dev/null
    sql -c 'VACUUM ANALYZE usage_daily, usage_monthly, usage_batches, usage_pending' >/dev/null
    KEY="tni_bench$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
    HASH=$(printf '%s' "$KEY" | sha256sum | cut -d' ' -f1)
    sql -c "INSERT INTO ingestion_keys (name, key_hash, prefix) VALUES ('bench ${KEY:10:8}', '$HASH', '${KEY:0:10}')" >/dev/null
    sql -c 'SELECT id, subdomain FROM tenants' >"$OUT/usage-tenants.txt"
    start_server
    log "ingestion: $BATCHES batches of 10,000, by 1 client, then by $CLIENTS at once"
    {
        echo "Ingestion (\`POST /api/v1/usage\`, batches of 10,000 random events, target ≥ 50,000 events/s):"
        echo
        echo "| clients | batches | events/s | batch p50 | batch p99 | 409 try-again, sent again | folded after the last answer | events/s until all folded | load average at the end |"
        echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    } >>"$SUMMARY"
    python3 - "$ADDR" "$KEY" "$BATCHES" "$OUT/usage-tenants.txt" "$DB_URL" 1 $CLIENTS <<'PY' | tee -a "$SUMMARY"
import json, random, subprocess, sys, threading, time, urllib.error, urllib.request

addr, key, batches, tenants_file, db_url = sys.argv[1:6]
batches, clients = int(batches), [int(c) for c in sys.argv[6:]]
tenants = [line.strip().split("|") for line in open(tenants_file) if line.strip()]
rng = random.Random(12)

def body(n):
    events = []
    for _ in range(10_000):
        tid, sub = rng.choice(tenants)
        queries = rng.randint(0, 5000)
        events.append({
            "tenant": sub if rng.random() < 0.1 else int(tid),
            "at": f"2026-01-{rng.randint(1, 31):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z",
            "queries": queries,
            # Never more blocked than queries (refused per event).
            "blocked": min(queries, rng.randint(0, 50)),
        })
    return json.dumps({"batch_id": f"bench-{n}-{time.time_ns()}", "events": events}).encode()

retries = 0

def post(data):
    # A batch held up by other batches' row locks longer than the lock timeout is
    # answered 409 try-again with nothing counted: sent again, as a client does.
    global retries
    t = time.perf_counter()
    for attempt in range(10):
        req = urllib.request.Request(f"http://{addr}/api/v1/usage", data=data, method="POST", headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {key}"})
        try:
            with urllib.request.urlopen(req, timeout=300) as r:
                answer = json.load(r)
            break
        except urllib.error.HTTPError as e:
            if e.code != 409 or "try-again" not in e.read().decode():
                raise
            retries += 1
    else:
        raise SystemExit("a batch was answered try-again 10 times")
    if answer["accepted"] != 10_000:
        raise SystemExit(f"batch not fully counted: {answer['accepted']} {answer['rejected'][:3]}")
    return time.perf_counter() - t

def pending():
    out = subprocess.run(["psql", "-X", "-q", "-tA", db_url, "-c", "SELECT count(*) FROM usage_pending"],
                         check=True, capture_output=True, text=True).stdout
    return int(out.strip())

def drain():
    # The subtree totals are folded by the server's folder (every
    # TENANTRY_USAGE_FOLD_INTERVAL_MS): how long until nothing is pending.
    t = time.perf_counter()
    while pending() > 0:
        time.sleep(0.05)
    return time.perf_counter() - t

def run(parallel):
    # Bodies are made before the clock starts: the client's JSON is not measured.
    queue = [body(i) for i in range(batches)]
    latencies, lock = [], threading.Lock()
    def worker():
        while True:
            with lock:
                if not queue:
                    return
                data = queue.pop()
            d = post(data)
            with lock:
                latencies.append(d)
    global retries
    retries = 0
    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(parallel)]
    for t in threads: t.start()
    for t in threads: t.join()
    wall = time.perf_counter() - start
    lag = drain()
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    print(f"| {parallel} | {batches} × 10,000 | {batches * 10_000 / wall:,.0f} | "
          f"{p(0.5):.0f} ms | {p(0.99):.0f} ms | {retries} | {lag * 1000:,.0f} ms | "
          f"{batches * 10_000 / (wall + lag):,.0f} | {load} |", flush=True)

def vacuum():
    # This machine's PostgreSQL runs with autovacuum off (conf.d/90-ci.conf): what a
    # server's autovacuum would have done by then, between runs (never during one).
    subprocess.run(["psql", "-X", "-q", db_url, "-c",
                    "VACUUM ANALYZE usage_daily, usage_monthly, usage_batches, usage_pending"],
                   check=True, capture_output=True)

post(body(-1))  # warm-up: connections, prepared statements
drain()
for c in clients:
    vacuum()
    run(c)
PY
    stop_server
    # Exactness after all that concurrency: every monthly row's subtree totals equal the
    # sum of the own rows below it (set-wise recount over tenant_paths).
    wrong=$(sql -c "
        WITH recount AS (
            SELECT a.id AS tenant_id, u.month, sum(u.queries) AS q, sum(u.blocked) AS b
            FROM usage_monthly u JOIN tenant_paths p ON p.tenant_id = u.tenant_id
            CROSS JOIN unnest(p.path) AS a(id)
            WHERE u.queries > 0 OR u.blocked > 0
            GROUP BY 1, 2)
        SELECT count(*) FROM usage_monthly u FULL JOIN recount r USING (tenant_id, month)
        WHERE coalesce(u.subtree_queries, 0) <> coalesce(r.q, 0)
           OR coalesce(u.subtree_blocked, 0) <> coalesce(r.b, 0)")
    left=$(sql -c "SELECT count(*) FROM usage_pending")
    [[ $left == 0 ]] || die "$left usage deltas still pending after the run"
    events=$(sql -c "SELECT coalesce(sum(queries), 0) FROM usage_monthly")
    daily=$(sql -c "SELECT coalesce(sum(queries), 0) FROM usage_daily")
    [[ $wrong == 0 ]] || die "$wrong monthly rows' subtree totals differ from a recount"
    [[ $events == "$daily" ]] || die "monthly own queries ($events) differ from the daily ones ($daily)"
    {
        echo
        echo "Afterwards every monthly row's subtree totals equal a recount from the own rows (0 rows differ), and the months' own queries equal the days' ($events)."
        echo
    } >>"$SUMMARY"
fi

# ---------------------------------------------------------------- 5. stats page
# 12 months of 2025 for every tenant: own counts from the tenant's id, subtree totals
# summed over tenant_paths a month at a time (what ingestion maintains).
seed_year() {
    if [[ $(sql -c "SELECT count(*) FROM usage_monthly WHERE month = '2025-12-01'") -ge $tenants ]]; then
        return
    fi
    log "seeding 12 months of 2025 usage for $tenants tenants"
    sql -c "DELETE FROM usage_monthly WHERE month < '2026-01-01'" >/dev/null
    for m in $(seq 1 12); do
        sql -c "
            INSERT INTO usage_monthly (tenant_id, month, queries, blocked, subtree_queries, subtree_blocked)
            SELECT a.id, make_date(2025, $m, 1),
                   sum(CASE WHEN a.id = p.tenant_id THEN (p.tenant_id * 7919 + $m * 104729) % 100000 ELSE 0 END),
                   sum(CASE WHEN a.id = p.tenant_id THEN (p.tenant_id * 31 + $m) % 1000 ELSE 0 END),
                   sum((p.tenant_id * 7919 + $m * 104729) % 100000),
                   sum((p.tenant_id * 31 + $m) % 1000)
            FROM tenant_paths p CROSS JOIN unnest(p.path) AS a(id)
            GROUP BY a.id" >/dev/null
    done
    sql -c 'VACUUM ANALYZE usage_monthly' >/dev/null
}

login_cookie() { # prints a Cookie header value for the root's Owner
    python3 - "$ADDR" "$ADMIN_LOGIN" "$ADMIN_PASSWORD" <<'PY'
import html, http.cookiejar, re, sys, urllib.parse, urllib.request
addr, name, password = sys.argv[1:4]
jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
page = opener.open(f"http://{addr}/login").read().decode()
csrf = html.unescape(re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]*)"', page).group(1))
form = urllib.parse.urlencode({"username": name, "password": password, "csrf_token": csrf}).encode()
landed = opener.open(f"http://{addr}/login", data=form).geturl()
if landed.rstrip("/").endswith("/login"):
    raise SystemExit("login failed")
print("; ".join(f"{c.name}={c.value}" for c in jar))
PY
}

check_200() { # url cookie
    local code
    code=$(curl -s -m 120 -o /dev/null -w '%{http_code}' -H "Cookie: $2" "$1")
    [[ $code == 200 ]] || die "GET $1 answered $code, expected 200"
}

if step stats || step csv; then
    seed_year
    # Autovacuum is off on this machine (see the ingestion step): what it would have
    # reclaimed of earlier runs' updates and deletes by now.
    sql -c 'SET client_min_messages = error' -c 'VACUUM ANALYZE' >/dev/null
fi

if step stats; then
    command -v hey >/dev/null || die "hey is not installed (make bench installs it; apt-get install -y hey)"
    start_server
    cookie=$(login_cookie) || die "could not log in as $ADMIN_LOGIN"
    base="http://$ADDR/tenants/$root/stats?from=2025-01&to=2025-12"
    {
        echo "Stats page of the root's subtree ($tenants tenants) over 12 months (\`GET /tenants/$root/stats?from=2025-01&to=2025-12\`, $(sql -c "SELECT count(*) FROM usage_monthly WHERE month BETWEEN '2025-01-01' AND '2025-12-01'") tenant-months), logged in as its Owner, one user (\`hey -n 400 -c 1\`); target p99 < 100 ms:"
        echo
        echo "| order | p50 | p99 | load average |"
        echo "| --- | ---: | ---: | --- |"
    } >>"$SUMMARY"
    log "stats page: hey -n 400 -c 1 per order"
    for order in "" "&dir=desc" "&sort=subdomain" "&sort=month&dir=desc" "&sort=queries&dir=desc" "&sort=subtree_queries&dir=desc" "&page=100"; do
        check_200 "$base$order" "$cookie"
        hey -n 400 -c 1 -H "Cookie: $cookie" "$base$order" >"$OUT/hey-usage-stats.txt"
        if grep -q 'Error distribution' "$OUT/hey-usage-stats.txt" || grep -E '^\s+\[[0-9]+\]' "$OUT/hey-usage-stats.txt" | grep -vq '\[200\]'; then
            cat "$OUT/hey-usage-stats.txt" >&2
            die "hey saw error responses on $base$order"
        fi
        p50=$(awk '/50% in/ { printf "%.1f ms", $3 * 1000 }' "$OUT/hey-usage-stats.txt")
        p99=$(awk '/99% in/ { printf "%.1f ms", $3 * 1000 }' "$OUT/hey-usage-stats.txt")
        echo "| \`${order:-(name)}\` | $p50 | $p99 | $(load) |" | tee -a "$SUMMARY"
    done
    echo >>"$SUMMARY"
    stop_server
fi

# ---------------------------------------------------------------- 6. CSV export
if step csv; then
    {
        echo "CSV export of the root's subtree (\`GET /tenants/$root/stats.csv\`, name order) against psql \`\\copy (the same rows, same order) TO STDOUT WITH CSV\`; the server freshly started for each size, its peak RSS (VmHWM) after logging in and after the export; target: time ≤ 2× COPY's, peak RSS at 1,000,000 rows within 10 % of that at 100,000:"
        echo
        echo "| months | rows | bytes | export | COPY | export / COPY | server CPU | server peak RSS before → after | load average |"
        echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"
    } >>"$SUMMARY"
    for to in 2025-01 2025-10; do
        start_server
        cookie=$(login_cookie) || die "could not log in as $ADMIN_LOGIN"
        check_200 "http://$ADDR/tenants/$root/stats?from=2025-01&to=$to" "$cookie"
        before=$(peak_rss_kib)
        cpu_before=$(server_cpu_secs)
        log "export 2025-01..$to"
        read -r code secs bytes < <(curl -s -m 600 -o "$OUT/usage-export.csv" -w '%{http_code} %{time_total} %{size_download}\n' \
            -H "Cookie: $cookie" "http://$ADDR/tenants/$root/stats.csv?from=2025-01&to=$to")
        [[ $code == 200 ]] || die "the export answered $code"
        after=$(peak_rss_kib)
        cpu=$(awk -v a="$cpu_before" -v b="$(server_cpu_secs)" 'BEGIN { printf "%.2f", b - a }')
        rows=$(($(wc -l <"$OUT/usage-export.csv") - 1))
        stop_server
        # The export's statement without its keyset pages: the same rows and cells.
        copy_start=$(date +%s.%N)
        sql -c "\\copy (SELECT t.id, t.subdomain, t.name, t.parent_id, to_char(u.month, 'YYYY-MM'),
                    u.queries, u.blocked, u.subtree_queries, u.subtree_blocked, t.monthly_query_quota
                FROM tenant_paths p JOIN tenants t ON t.id = p.tenant_id
                JOIN usage_monthly u ON u.tenant_id = p.tenant_id AND u.month BETWEEN '2025-01-01' AND '$to-01'
                WHERE p.path @> ARRAY[$root::bigint]
                ORDER BY lower(t.name), t.id, u.month) TO STDOUT WITH CSV HEADER" >"$OUT/usage-copy.csv"
        copy_secs=$(awk -v s="$copy_start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
        copy_rows=$(($(wc -l <"$OUT/usage-copy.csv") - 1))
        [[ $rows == "$copy_rows" ]] || die "the export has $rows rows, COPY $copy_rows"
        months=$(( ${to#2025-} + 0 ))
        echo "| $months | $rows | $bytes | $(printf '%.2f' "$secs") s | $copy_secs s | $(awk -v a="$secs" -v b="$copy_secs" 'BEGIN { printf "%.2f", a / b }') | $cpu s | $((before / 1024)) → $((after / 1024)) MiB | $(load) |" | tee -a "$SUMMARY"
    done
    rm -f "$OUT/usage-export.csv" "$OUT/usage-copy.csv"
    echo >>"$SUMMARY"
fi

log "summary: $SUMMARY"
cat "$SUMMARY"
