#!/usr/bin/env bash
# tenantry benchmark (`make bench`).
#
#   1. PostgreSQL + release build of all binaries
#   1b. demo scale (`tenantry seed-demo`: about 50 tenants, database tenantry_bench_demo):
#      wrk against the Tenants page, the bare list page and the smallest bare page of the
#      same 50 rows (GET /bare/rows), on their own ports; then stopped
#   2. database tenantry_bench, freshly migrated and seeded by
#      `bench-run seed --tenants 100000 --depth 12` (admin / bench-password-123 in the root)
#   3. `tenantry serve` on 127.0.0.1:18080 and `bench-bare` on 127.0.0.1:18081, same database
#   4. wrk against GET /tenants?per_page=50 (logged in, full stack: session, authorization,
#      templates) and GET /bare/tenants?per_page=50 (the same query without them)
#   5. `bench-run ancestor-check` and `bench-run decision` (authorization costs)
#   6. `bench-run move 3` (10k and 100k subtrees, committed) while hey keeps a steady load of
#      half the page's measured capacity on the Tenants page (page p99 idle vs moving), then
#      again while wrk saturates it (for the record)
#   7. 10,000 tenants created through POST /api/v1/tenants/batch (10 atomic batches of 1,000)
#   8. a Markdown summary to paste into docs/PERFORMANCE.md (also saved under target/bench/)
#   Issue #11's pages: `bench-run seed-audit --events $BENCH_EVENTS` fills the audit trail
#   (once per database); the dashboard, the Tenants list with `within=`, `status=` and
#   `label=`, the plain list of a viewer who cannot see the reseller below them (its
#   hidden sub-tenants counted), the tree and the activity page (root's whole subtree,
#   and a scoped administrator's) are each timed for a single user (hey -c 1, p99 < 50 ms) and under
#   wrk's load (p99 within 2x the unfiltered Tenants page's); then `bench-run
#   create-users` creates users from 8 connections at once with the subtree totals
#   maintained (the root's totals row is a hot row) and with their trigger off
#
# Knobs (environment): BENCH_TENANTS (100000), BENCH_DEPTH (12), BENCH_DURATION (20s),
# BENCH_THREADS (2), BENCH_CONNECTIONS (32), BENCH_KEEP_DB=1 (reuse an already seeded
# tenantry_bench instead of recreating it), BENCH_SKIP_BUILD=1, BENCH_BIN_DIR (target/release),
# BENCH_DEMO=0 (skip the demo-scale phase), BENCH_ONLY_DEMO=1 (only the demo-scale phase),
# BENCH_EVENTS (1000000 audit events for the activity page), BENCH_PAGES_ONLY=1 (stop after
# issue #11's pages and the user creation: no ancestor check, decision, moves or batch).
# Issue #11's targets are for 1,000,000 tenants: BENCH_TENANTS=1000000.
#
# Everything runs on this machine over loopback; every step is bounded in time and the
# servers are stopped on exit. wrk shares the CPU with the servers and PostgreSQL, so
# compare numbers only between runs on the same machine.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PG_BASE="${BENCH_PG_BASE:-postgres://tenantry:tenantry@127.0.0.1:5432}"
BENCH_DB="tenantry_bench"
BENCH_DB_URL="$PG_BASE/$BENCH_DB"
ADMIN_DB_URL="$PG_BASE/postgres"
TENANTS="${BENCH_TENANTS:-100000}"
DEPTH="${BENCH_DEPTH:-12}"
EVENTS="${BENCH_EVENTS:-1000000}"
DURATION="${BENCH_DURATION:-20s}"
THREADS="${BENCH_THREADS:-2}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
BIN_DIR="${BENCH_BIN_DIR:-target/release}"
REAL_ADDR="127.0.0.1:18080"
BARE_ADDR="127.0.0.1:18081"
ADMIN_USER="admin"
ADMIN_PASSWORD="bench-password-123"
REAL_PATH="/tenants?per_page=50"
BARE_PATH="/bare/tenants?per_page=50"
# The smallest page of the same 50 rows: one plain query, a plain table.
BARE_ROWS_PATH="/bare/rows"
DEMO_DB="tenantry_bench_demo"
DEMO_DB_URL="$PG_BASE/$DEMO_DB"
DEMO_REAL_ADDR="127.0.0.1:18082"
DEMO_BARE_ADDR="127.0.0.1:18083"
# Search as you type (the switcher's results fragment): subdomains t4242, t42420–t42429.
SEARCH_PATH="/switch/search?q=t4242"

OUT="target/bench"
mkdir -p "$OUT"

log() { printf '[bench] %s\n' "$*"; }
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }

wait_http() { # url, name, log file: wait up to 60 s for any HTTP answer with status < 500
    local url=$1 name=$2 logfile=$3 code deadline=$((SECONDS + 60))
    while ((SECONDS < deadline)); do
        code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url" || true)
        if [[ $code =~ ^[1-4][0-9][0-9]$ ]]; then return 0; fi
        sleep 0.5
    done
    tail -n 30 "$logfile" >&2 || true
    die "$name did not answer at $url within 60 s (log: $logfile)"
}

login() { # login-name password [address] -> prints a Cookie header value
    local name=$1 password=$2 addr=${3:-$REAL_ADDR} jar="$OUT/cookies.txt" page csrf status
    rm -f "$jar"
    page=$(curl -s -m 10 -c "$jar" -b "$jar" "http://$addr/login") || die "GET /login failed"
    csrf=$(grep -o '<input[^>]*name="csrf_token"[^>]*>' <<<"$page" | head -n1 \
        | sed -n 's/.*value="\([^"]*\)".*/\1/p' \
        | sed -e 's/&#x2[fF];/\//g; s/&#47;/\//g; s/&#x2[bB];/+/g; s/&#43;/+/g; s/&#x3[dD];/=/g; s/&#61;/=/g; s/&amp;/\&/g' || true)
    [[ -n $csrf ]] || die "no hidden input named csrf_token on GET /login"
    status=$(curl -s -m 10 -o /dev/null -w '%{http_code} %{redirect_url}' -c "$jar" -b "$jar" \
        --data-urlencode "username=$name" --data-urlencode "password=$password" \
        --data-urlencode "csrf_token=$csrf" "http://$addr/login")
    case $status in
        30[1237]\ *login*) die "login as $name failed (POST /login -> $status)" ;;
        30[1237]\ *) ;;
        *) die "login as $name failed (POST /login -> $status)" ;;
    esac
    # Cookie header from the jar (curl marks HttpOnly cookies with a #HttpOnly_ prefix).
    awk -F'\t' 'sub(/^#HttpOnly_/, "", $1) || $0 !~ /^#/ { if (NF >= 7) printf "%s%s=%s", (n++ ? "; " : ""), $6, $7 }' "$jar"
    rm -f "$jar"
}

check_200() { # url [cookie]
    local code
    code=$(curl -s -m 30 -o /dev/null -w '%{http_code}' ${2:+-H "Cookie: $2"} "$1")
    [[ $code == 200 ]] || die "GET $1 returned $code, expected 200"
}

run_wrk() { # name url [cookie]
    local name=$1 url=$2 out="$OUT/wrk-$1.txt"
    local args=(-t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency --timeout 10s)
    [[ -n ${3:-} ]] && args+=(-H "Cookie: $3")
    log "wrk $name: $url ($THREADS threads, $CONNECTIONS connections, $DURATION)"
    timeout 300 wrk "${args[@]}" "$url" >"$out"
    cat "$out" >&2
    if grep -q 'Non-2xx or 3xx responses' "$out"; then
        die "wrk $name saw error responses (see $out)"
    fi
}
rps() { awk '/^Requests\/sec:/ { print $2 }' "$OUT/wrk-$1.txt"; }
lat() { awk -v p="$2" '$1 == p { print $2 }' "$OUT/wrk-$1.txt"; }
# p99 of one user asking again and again (hey, one worker, no rate limit).
single_p99() { # name url cookie
    timeout 300 hey -n 400 -c 1 -H "Cookie: $3" "$2" >"$OUT/hey-single-$1.txt"
    if grep -q 'Error distribution' "$OUT/hey-single-$1.txt" || grep -E '^\s+\[[0-9]+\]' "$OUT/hey-single-$1.txt" | grep -vq '\[200\]'; then
        cat "$OUT/hey-single-$1.txt" >&2
        die "hey single $1 saw error responses"
    fi
    awk '/99% in/ { printf "%.1fms", $3 * 1000 }' "$OUT/hey-single-$1.txt"
}
ratio() { awk -v r="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", r / b; else print "n/a" }'; }

PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        # give each server up to 10 s for a graceful shutdown, then kill it
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    rm -f "$OUT/cookies.txt"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. prerequisites ------------------------------------------------------------
scripts/ensure-postgres.sh
for tool in wrk hey; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        [[ $(id -u) -eq 0 ]] || die "$tool is not installed; install it with: sudo apt-get install -y $tool"
        log "installing $tool"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null
    fi
done
command -v curl >/dev/null 2>&1 || die "curl is not installed (apt-get install -y curl)"

if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
    log "cargo build --release --bins"
    timeout 3600 cargo build --release --bins
fi
for bin in tenantry bench-bare bench-run; do
    [[ -x $BIN_DIR/$bin ]] || die "$BIN_DIR/$bin not found (cargo build --release --bins)"
done

# Quiet logging so that log output does not dominate what is measured.
SERVER_ENV=(
    DATABASE_URL="$BENCH_DB_URL"
    TENANTRY_SECRET_KEY="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"  # 64 hex characters
    RUST_LOG="${BENCH_RUST_LOG:-warn}"
)
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
machine() {
    local cpu mem
    cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
    echo "Machine: $(nproc) cores ($cpu), $mem; PostgreSQL $(psql -X -w -At -d "$ADMIN_DB_URL" -c 'SHOW server_version') on the same machine."
    echo "Load average (1, 5, 15 min) when the run started: $load_at_start; at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
}
rev=$(git rev-parse --short HEAD 2>/dev/null || echo "uncommitted")

# --- 1b. demo scale ----------------------------------------------------------------
# What every page pays when the data is small: the Tenants page (session, who is
# asking, authorization, layout) against the smallest page of the same 50 rows on the
# same stack, and against the bare list page (the Tenants page's own list query).
demo_summary=""
if [[ ${BENCH_DEMO:-1} == 1 ]]; then
    log "demo scale: recreating database $DEMO_DB (tenantry migrate, bootstrap, seed-demo)"
    psql -X -w -q -v ON_ERROR_STOP=1 -d "$ADMIN_DB_URL" -c "DROP DATABASE IF EXISTS $DEMO_DB WITH (FORCE)"
    psql -X -w -q -v ON_ERROR_STOP=1 -d "$ADMIN_DB_URL" -c "CREATE DATABASE $DEMO_DB"
    for cmd in migrate bootstrap seed-demo; do
        env "${SERVER_ENV[@]}" DATABASE_URL="$DEMO_DB_URL" TENANTRY_ADMIN_USERNAME="$ADMIN_USER" \
            TENANTRY_ADMIN_PASSWORD="$ADMIN_PASSWORD" timeout 300 "$BIN_DIR/tenantry" "$cmd" >/dev/null
    done
    timeout 300 psql -X -w -q -d "$DEMO_DB_URL" -c "VACUUM ANALYZE" >/dev/null
    demo_tenants=$(psql -X -w -At -d "$DEMO_DB_URL" -c "SELECT count(*) FROM tenants")
    env "${SERVER_ENV[@]}" DATABASE_URL="$DEMO_DB_URL" TENANTRY_LISTEN="$DEMO_REAL_ADDR" \
        TENANTRY_PUBLIC_URL="http://$DEMO_REAL_ADDR" \
        "$BIN_DIR/tenantry" serve >"$OUT/tenantry-demo.log" 2>&1 </dev/null &
    demo_pids=($!)
    env "${SERVER_ENV[@]}" DATABASE_URL="$DEMO_DB_URL" TENANTRY_LISTEN="$DEMO_BARE_ADDR" \
        "$BIN_DIR/bench-bare" >"$OUT/bench-bare-demo.log" 2>&1 </dev/null &
    demo_pids+=($!)
    PIDS+=("${demo_pids[@]}")
    wait_http "http://$DEMO_REAL_ADDR/healthz" "tenantry serve (demo)" "$OUT/tenantry-demo.log"
    wait_http "http://$DEMO_BARE_ADDR$BARE_ROWS_PATH" "bench-bare (demo)" "$OUT/bench-bare-demo.log"
    demo_cookie=$(login "$ADMIN_USER" "$ADMIN_PASSWORD" "$DEMO_REAL_ADDR")
    [[ -n $demo_cookie ]] || die "no session cookie after logging in (demo)"
    check_200 "http://$DEMO_REAL_ADDR$REAL_PATH" "$demo_cookie"
    check_200 "http://$DEMO_BARE_ADDR$BARE_PATH"
    check_200 "http://$DEMO_BARE_ADDR$BARE_ROWS_PATH"
    run_wrk demo-real "http://$DEMO_REAL_ADDR$REAL_PATH" "$demo_cookie"
    check_200 "http://$DEMO_REAL_ADDR$REAL_PATH" "$demo_cookie"
    run_wrk demo-bare "http://$DEMO_BARE_ADDR$BARE_PATH"
    run_wrk demo-rows "http://$DEMO_BARE_ADDR$BARE_ROWS_PATH"
    for pid in "${demo_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${demo_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    demo_summary=$(
        echo "Demo scale: $demo_tenants tenants (\`tenantry seed-demo\`), root administrator."
        echo
        echo "| endpoint | req/s | p50 | p99 |"
        echo "| --- | ---: | ---: | ---: |"
        echo "| \`GET $REAL_PATH\` (logged in, full stack) | $(rps demo-real) | $(lat demo-real 50%) | $(lat demo-real 99%) |"
        echo "| \`GET $BARE_PATH\` (bare: the page's list query and table, no session/authorization) | $(rps demo-bare) | $(lat demo-bare 50%) | $(lat demo-bare 99%) |"
        echo "| \`GET $BARE_ROWS_PATH\` (smallest bare page: the same 50 rows, one plain query) | $(rps demo-rows) | $(lat demo-rows 50%) | $(lat demo-rows 99%) |"
        echo
        echo "Full stack / smallest bare page: **$(ratio "$(rps demo-real)" "$(rps demo-rows)")** (target ≥ 0.50); full stack / bare list page: **$(ratio "$(rps demo-real)" "$(rps demo-bare)")**."
    )
fi
if [[ ${BENCH_ONLY_DEMO:-0} == 1 ]]; then
    {
        echo "### Benchmark $(date -u +%Y-%m-%d) (commit $rev), demo scale only"
        echo
        machine
        echo "Load: wrk, $THREADS threads, $CONNECTIONS connections, $DURATION per endpoint, over loopback."
        echo
        echo "$demo_summary"
    } >"$OUT/summary.md"
    echo
    cat "$OUT/summary.md"
    exit 0
fi

# --- 2. database -------------------------------------------------------------------
db_exists=$(psql -X -w -At -d "$ADMIN_DB_URL" -c "SELECT 1 FROM pg_database WHERE datname = '$BENCH_DB'")
if [[ ${BENCH_KEEP_DB:-0} == 1 && $db_exists == 1 ]]; then
    log "reusing database $BENCH_DB (BENCH_KEEP_DB=1)"
    DATABASE_URL="$BENCH_DB_URL" timeout 300 "$BIN_DIR/tenantry" migrate
else
    log "recreating database $BENCH_DB"
    psql -X -w -q -v ON_ERROR_STOP=1 -d "$ADMIN_DB_URL" -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)"
    psql -X -w -q -v ON_ERROR_STOP=1 -d "$ADMIN_DB_URL" -c "CREATE DATABASE $BENCH_DB"
    DATABASE_URL="$BENCH_DB_URL" timeout 300 "$BIN_DIR/tenantry" migrate
    log "seeding: bench-run seed --tenants $TENANTS --depth $DEPTH"
    seed_start=$SECONDS
    DATABASE_URL="$BENCH_DB_URL" timeout 1800 "$BIN_DIR/bench-run" seed --tenants "$TENANTS" --depth "$DEPTH"
    log "seeded in $((SECONDS - seed_start)) s"
fi
have_events=$(psql -X -w -At -d "$BENCH_DB_URL" -c "SELECT count(*) FROM audit_events")
if ((have_events < EVENTS)); then
    log "seeding: bench-run seed-audit --events $((EVENTS - have_events))"
    DATABASE_URL="$BENCH_DB_URL" timeout 1800 "$BIN_DIR/bench-run" seed-audit --events "$((EVENTS - have_events))"
fi
timeout 900 psql -X -w -q -d "$BENCH_DB_URL" -c "VACUUM ANALYZE" >/dev/null

# --- 3. servers --------------------------------------------------------------------
log "starting tenantry serve on $REAL_ADDR and bench-bare on $BARE_ADDR"
env "${SERVER_ENV[@]}" TENANTRY_LISTEN="$REAL_ADDR" TENANTRY_PUBLIC_URL="http://$REAL_ADDR" \
    "$BIN_DIR/tenantry" serve >"$OUT/tenantry.log" 2>&1 </dev/null &
PIDS+=($!)
env "${SERVER_ENV[@]}" TENANTRY_LISTEN="$BARE_ADDR" \
    "$BIN_DIR/bench-bare" >"$OUT/bench-bare.log" 2>&1 </dev/null &
PIDS+=($!)

wait_http "http://$REAL_ADDR/healthz" "tenantry serve" "$OUT/tenantry.log"
wait_http "http://$BARE_ADDR$BARE_PATH" "bench-bare" "$OUT/bench-bare.log"

# --- 4. log in ------------------------------------------------------------------------
cookie=$(login "$ADMIN_USER" "$ADMIN_PASSWORD")
[[ -n $cookie ]] || die "no session cookie after logging in"
# A seeded administrator whose grant covers a subtree of about 1,000 of the 100,000
# tenants: what most users of a service provider's console see.
# (Subtree sizes from the maintained totals: counting them over every path takes
# seconds at 1,000,000 tenants.)
scoped=$(psql -X -w -At -F ' ' -d "$BENCH_DB_URL" -c "
    SELECT t.subdomain || E'\\\\' || u.username, s.tenant_count
    FROM grants g JOIN users u ON u.id = g.user_id JOIN tenants t ON t.id = u.tenant_id
    JOIN tenant_subtree_totals s ON s.tenant_id = g.tenant_id
    WHERE g.scope = 'subtree' AND g.role = 'administrator' AND g.tenant_id = u.tenant_id
    ORDER BY abs(s.tenant_count - 1000), u.id LIMIT 1")
scoped_login=${scoped% *}
scoped_size=${scoped##* }
[[ -n $scoped_login ]] || die "no seeded administrator with a subtree grant"
scoped_cookie=$(login "$scoped_login" "$ADMIN_PASSWORD")
[[ -n $scoped_cookie ]] || die "no session cookie after logging in as $scoped_login"

check_200 "http://$REAL_ADDR$REAL_PATH" "$cookie"
check_200 "http://$REAL_ADDR$REAL_PATH" "$scoped_cookie"
check_200 "http://$REAL_ADDR$SEARCH_PATH" "$cookie"
# The activity page: the root's whole subtree (every event) for the root administrator,
# and the scoped administrator's subtree.
root_id=$(psql -X -w -At -d "$BENCH_DB_URL" -c "SELECT id FROM tenants WHERE parent_id IS NULL")
# (psql interpolates :'…' variables only in what it reads, not in -c.)
scoped_home=$(psql -X -w -At -d "$BENCH_DB_URL" -v sub="${scoped_login%%\\*}" -v usr="${scoped_login#*\\}" \
    <<<"SELECT u.tenant_id FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE t.subdomain = :'sub' AND u.username = :'usr'")
# A viewer whose only grant is their home tenant, in the biggest such reseller: the plain
# Tenants page shows them nothing below it and says how many sub-tenants they cannot
# see (`Tenant::hidden_below`, the whole subtree less what they see).
viewer=$(psql -X -w -At -F ' ' -d "$BENCH_DB_URL" -c "
    SELECT t.subdomain || E'\\\\' || u.username, s.tenant_count
    FROM users u JOIN tenants t ON t.id = u.tenant_id
    JOIN tenant_subtree_totals s ON s.tenant_id = u.tenant_id
    WHERE NOT EXISTS (SELECT 1 FROM grants g WHERE g.user_id = u.id AND g.scope = 'subtree')
    ORDER BY s.tenant_count DESC, u.id LIMIT 1")
viewer_login=${viewer% *}
viewer_size=${viewer##* }
[[ -n $viewer_login ]] || die "no seeded user without a subtree grant"
viewer_cookie=$(login "$viewer_login" "$ADMIN_PASSWORD")
[[ -n $viewer_cookie ]] || die "no session cookie after logging in as $viewer_login"
curl -s -m 30 -H "Cookie: $viewer_cookie" "http://$REAL_ADDR$REAL_PATH" | grep -q 'sub-tenants you cannot see' \
    || die "$viewer_login's Tenants page does not say how many sub-tenants they cannot see"
ACTIVITY_PATH="/tenants/$root_id/activity?scope=subtree"
SCOPED_ACTIVITY_PATH="/tenants/$scoped_home/activity?scope=subtree"
check_200 "http://$REAL_ADDR$ACTIVITY_PATH" "$cookie"
check_200 "http://$REAL_ADDR$SCOPED_ACTIVITY_PATH" "$scoped_cookie"
check_200 "http://$BARE_ADDR$BARE_PATH"
check_200 "http://$BARE_ADDR$BARE_ROWS_PATH"

# --- 5. load -----------------------------------------------------------------------------
run_wrk real "http://$REAL_ADDR$REAL_PATH" "$cookie"
# A redirect would also count as success for wrk: make sure we are still logged in.
check_200 "http://$REAL_ADDR$REAL_PATH" "$cookie"
run_wrk bare "http://$BARE_ADDR$BARE_PATH"
run_wrk rows "http://$BARE_ADDR$BARE_ROWS_PATH"
run_wrk scoped "http://$REAL_ADDR$REAL_PATH" "$scoped_cookie"
run_wrk search "http://$REAL_ADDR$SEARCH_PATH" "$cookie"
# Issue #11's pages, each timed for one user (hey -c 1: p99 < 50 ms) and under wrk's
# load (p99 within 2x the unfiltered Tenants page's, `real` above). Each entry:
# name|path|who (root or scoped)|what it shows.
# A reseller's subtree of about a tenth of the tree (100,000 of 1,000,000).
big_within=$(psql -X -w -At -d "$BENCH_DB_URL" -c "
    SELECT tenant_id FROM tenant_subtree_totals
    ORDER BY abs(tenant_count - $TENANTS / 10), tenant_id LIMIT 1")
big_size=$(psql -X -w -At -d "$BENCH_DB_URL" -c "SELECT tenant_count FROM tenant_subtree_totals WHERE tenant_id = $big_within")
PAGES=(
    "list-single|$REAL_PATH|root|Tenants, unfiltered, with subtree totals (the reference)"
    "dashboard|/dashboard|root|the root's dashboard (its cards count the whole tree)"
    "within|/tenants?within=$big_within&per_page=50|root|Tenants \`within=\` a reseller of $big_size tenants"
    "within-small|/tenants?within=$scoped_home&per_page=50|root|Tenants \`within=\` $scoped_login's home ($scoped_size tenants)"
    "status|/tenants?status=disabled&per_page=50|root|Tenants \`status=disabled\`, whole tree"
    "within-status|/tenants?within=$big_within&status=disabled&per_page=50|root|Tenants \`within=\` the same reseller, \`status=disabled\`"
    "label|/tenants?label=tier:gold&per_page=50|root|Tenants \`label=tier:gold\`, whole tree"
    "hidden|$REAL_PATH|viewer|Tenants, plain, as $viewer_login (sees only their home, a reseller of $viewer_size tenants: how many they cannot see)"
    "tree|/tenants/tree|root|the tree (the root's children, each with its totals)"
    "activity|$ACTIVITY_PATH|root|activity, the root's whole subtree (every event)"
    "scoped-activity|$SCOPED_ACTIVITY_PATH|scoped|activity as $scoped_login (their subtree)"
)
page_cookie() {
    case $1 in
        scoped) echo "$scoped_cookie" ;;
        viewer) echo "$viewer_cookie" ;;
        *) echo "$cookie" ;;
    esac
}
for entry in "${PAGES[@]}"; do
    IFS='|' read -r name path who _ <<<"$entry"
    check_200 "http://$REAL_ADDR$path" "$(page_cookie "$who")"
done
log "issue #11 pages: single user (hey -n 400 -c 1), then under load (wrk)"
declare -A SINGLE
for entry in "${PAGES[@]}"; do
    IFS='|' read -r name path who _ <<<"$entry"
    SINGLE[$name]=$(single_p99 "$name" "http://$REAL_ADDR$path" "$(page_cookie "$who")")
done
for entry in "${PAGES[@]}"; do
    IFS='|' read -r name path who _ <<<"$entry"
    [[ $name == list-single ]] && continue  # under load: `real` above
    run_wrk "$name" "http://$REAL_ADDR$path" "$(page_cookie "$who")"
    check_200 "http://$REAL_ADDR$path" "$(page_cookie "$who")"
done
check_200 "http://$REAL_ADDR$REAL_PATH" "$scoped_cookie"
# wrk writes 850.00us, 67.00ms or 1.02s.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v !~ /ms$/ && v ~ /s$/) n *= 1000; printf "%.1f", n }'; }
pages_summary=$(
    ref_p99=$(to_ms "$(lat real 99%)")
    echo "Issue #11's pages at $TENANTS tenants and $EVENTS audit events, root administrator unless"
    echo "said. Targets: one user (\`hey -n 400 -c 1\`) p99 < 50 ms; under load (wrk as above) p99 within 2x"
    echo "the unfiltered Tenants page's p99 under the same load ($(lat real 99%))."
    echo
    echo "| page | one user p50 | one user p99 | req/s under load | p50 | p99 | p99 / Tenants page's | one user < 50 ms | under load ≤ 2x |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"
    for entry in "${PAGES[@]}"; do
        IFS='|' read -r name path who what <<<"$entry"
        run=$name
        [[ $name == list-single ]] && run=real
        single=${SINGLE[$name]}
        p99=$(to_ms "$(lat "$run" 99%)")
        times=$(awk -v a="$p99" -v b="$ref_p99" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
        single_ok=$(awk -v v="$(to_ms "$single")" 'BEGIN { print (v < 50 ? "met" : "**missed**") }')
        load_ok=$(awk -v t="$times" 'BEGIN { print (t <= 2 ? "met" : "**missed**") }')
        single50=$(awk '/50% in/ { printf "%.1fms", $3 * 1000 }' "$OUT/hey-single-$name.txt")
        echo "| $what: \`GET $path\` | $single50 | $single | $(rps "$run") | $(lat "$run" 50%) | $(lat "$run" 99%) | $times | $single_ok | $load_ok |"
    done
)

# Users created from 8 connections at once, each counted up the whole path at commit
# (the root's totals row is a hot row), against the same with the totals trigger off.
log "bench-run create-users: with the subtree totals maintained, then without"
creates=$(DATABASE_URL="$BENCH_DB_URL" timeout 600 "$BIN_DIR/bench-run" create-users --clients 8 --users 2000 2>&1) \
    || die "bench-run create-users failed: $creates"
creates_without=$(DATABASE_URL="$BENCH_DB_URL" timeout 600 "$BIN_DIR/bench-run" create-users --clients 8 --users 2000 --without-totals 2>&1) \
    || die "bench-run create-users --without-totals failed: $creates_without"
creates_summary=$(
    echo "Concurrent user creation (\`bench-run create-users --clients 8 --users 2000\`: each a transaction"
    echo "like \`services::users::create\`, in enabled tenants all over the tree; every one counts on the"
    echo "root's totals row at commit), with the totals maintained and with their trigger off:"
    echo
    echo '```'
    echo "$creates"
    echo "$creates_without"
    echo '```'
)
if [[ ${BENCH_PAGES_ONLY:-0} == 1 ]]; then
    {
        echo "### Benchmark $(date -u +%Y-%m-%d) (commit $rev), issue #11's pages only"
        echo
        machine
        echo "Data: $TENANTS tenants, depth $DEPTH (\`bench-run seed\`). Load: wrk, $THREADS threads,"
        echo "$CONNECTIONS connections, $DURATION per endpoint, over loopback on the same machine."
        echo
        echo "| endpoint | req/s | p50 | p99 |"
        echo "| --- | ---: | ---: | ---: |"
        echo "| \`GET $REAL_PATH\` (logged in, full stack) | $(rps real) | $(lat real 50%) | $(lat real 99%) |"
        echo "| \`GET $REAL_PATH\` as $scoped_login (sees a subtree of $scoped_size tenants) | $(rps scoped) | $(lat scoped 50%) | $(lat scoped 99%) |"
        echo
        echo "$pages_summary"
        echo
        echo "$creates_summary"
    } >"$OUT/summary.md"
    echo
    cat "$OUT/summary.md"
    exit 0
fi

real_rps=$(rps real)
bare_rps=$(rps bare)
ratio=$(ratio "$real_rps" "$bare_rps")

# --- 6. ancestor check ------------------------------------------------------------------
log "bench-run ancestor-check"
ancestor=$(DATABASE_URL="$BENCH_DB_URL" timeout 600 "$BIN_DIR/bench-run" ancestor-check 2>&1) \
    || die "bench-run ancestor-check failed: $ancestor"
log "bench-run decision"
decision=$(DATABASE_URL="$BENCH_DB_URL" timeout 600 "$BIN_DIR/bench-run" decision 2>&1) \
    || die "bench-run decision failed: $decision"

# --- 8. moves while the Tenants page is under load ----------------------------------------
# The target is about the page staying responsive while big moves commit. Load: a steady
# rate of half the page's measured capacity (hey, fixed rate), idle vs during
# `bench-run move`. For the record, the moves are also timed with wrk saturating the page
# (every core busy serving it): there a move gets only its share of the two cores.
rate=$(awk -v r="$real_rps" 'BEGIN { printf "%d", r / 2 }')
hey_workers=16
hey_qps=$(awk -v r="$rate" -v w="$hey_workers" 'BEGIN { q = r / w; printf "%.1f", (q < 1 ? 1 : q) }')
hey_p99() { awk '/99% in/ { printf "%.1fms", $3 * 1000 }' "$OUT/hey-$1.txt"; }
hey_check() {
    if grep -E '^\s+\[[0-9]+\]' "$OUT/hey-$1.txt" | grep -vq '\[200\]' || grep -q 'Error distribution' "$OUT/hey-$1.txt"; then
        cat "$OUT/hey-$1.txt" >&2
        die "hey $1 saw error responses (see $OUT/hey-$1.txt)"
    fi
}
log "hey idle: $hey_workers workers x $hey_qps req/s (~$rate req/s) for $DURATION"
timeout 300 hey -z "$DURATION" -c "$hey_workers" -q "$hey_qps" -H "Cookie: $cookie" \
    "http://$REAL_ADDR$REAL_PATH" >"$OUT/hey-idle.txt"
hey_check idle
log "bench-run move (10k and 100k subtrees, 3 rounds) under the same steady load"
hey -z 600s -c "$hey_workers" -q "$hey_qps" -H "Cookie: $cookie" \
    "http://$REAL_ADDR$REAL_PATH" >"$OUT/hey-moving.txt" &
hey_pid=$!
PIDS+=("$hey_pid")
sleep 2
DATABASE_URL="$BENCH_DB_URL" timeout 900 "$BIN_DIR/bench-run" move 3 >"$OUT/moves.txt" 2>&1 \
    || die "bench-run move failed: $(cat "$OUT/moves.txt")"
kill -INT "$hey_pid"
wait "$hey_pid" || true
hey_check moving
moves=$(cat "$OUT/moves.txt")
idle_fixed_p99=$(hey_p99 idle)
moving_fixed_p99=$(hey_p99 moving)

log "bench-run move again, with wrk saturating the Tenants page"
DATABASE_URL="$BENCH_DB_URL" timeout 900 "$BIN_DIR/bench-run" move 3 >"$OUT/moves-saturated.txt" 2>&1 &
move_pid=$!
run_wrk during-moves "http://$REAL_ADDR$REAL_PATH" "$cookie"
wait "$move_pid" || die "bench-run move failed: $(cat "$OUT/moves-saturated.txt")"
moves_saturated=$(cat "$OUT/moves-saturated.txt")
idle_p99=$(lat real 99%)
moving_p99=$(lat during-moves 99%)

# --- 9. batch-create 10,000 tenants through the API --------------------------------------
log "batch-creating 10,000 tenants through POST /api/v1/tenants/batch (10 x 1,000, atomic)"
token=$(DATABASE_URL="$BENCH_DB_URL" timeout 60 "$BIN_DIR/bench-run" token) || die "no API token"
batch_dir=$(DATABASE_URL="$BENCH_DB_URL" timeout 60 "$BIN_DIR/bench-run" batch-json "$OUT/batch") || die "no batch bodies"
batch_start=$(date +%s.%N)
for f in "$batch_dir"/batch-*.json; do
    code=$(curl -s -m 120 -o "$OUT/batch-response.json" -w '%{http_code}' \
        -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        --data-binary "@$f" "http://$REAL_ADDR/api/v1/tenants/batch")
    [[ $code == 200 ]] || die "batch $f answered $code: $(head -c 500 "$OUT/batch-response.json")"
done
batch_secs=$(awk -v s="$batch_start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')

# --- summary --------------------------------------------------------------------------------
summary="$OUT/summary.md"
{
    echo "### Benchmark $(date -u +%Y-%m-%d) (commit $rev)"
    echo
    machine
    echo "Data: $TENANTS tenants, depth $DEPTH (\`bench-run seed\`). Load: wrk, $THREADS threads,"
    echo "$CONNECTIONS connections, $DURATION per endpoint, over loopback on the same machine."
    echo
    echo "| endpoint | req/s | p50 | p99 |"
    echo "| --- | ---: | ---: | ---: |"
    echo "| \`GET $REAL_PATH\` (logged in, full stack) | $real_rps | $(lat real 50%) | $(lat real 99%) |"
    echo "| \`GET $BARE_PATH\` (bare: same query, no session/authorization) | $bare_rps | $(lat bare 50%) | $(lat bare 99%) |"
    echo "| \`GET $BARE_ROWS_PATH\` (smallest bare page: the same 50 rows, one plain query) | $(rps rows) | $(lat rows 50%) | $(lat rows 99%) |"
    echo "| \`GET $REAL_PATH\` as $scoped_login (sees a subtree of $scoped_size tenants) | $(rps scoped) | $(lat scoped 50%) | $(lat scoped 99%) |"
    echo "| \`GET $SEARCH_PATH\` (switcher search as you type, root administrator) | $(rps search) | $(lat search 50%) | $(lat search 99%) |"
    echo
    echo "Full stack / bare throughput: **$ratio**; full stack / smallest bare page: **$(ratio "$real_rps" "$(rps rows)")**"
    echo
    echo "$pages_summary"
    echo
    echo "$creates_summary"
    if [[ -n $demo_summary ]]; then
        echo
        echo "$demo_summary"
    fi
    echo
    echo "Ancestor check (\`bench-run ancestor-check\`):"
    echo
    echo '```'
    echo "$ancestor"
    echo '```'
    echo
    echo "Effective-permission decision (\`bench-run decision\`):"
    echo
    echo '```'
    echo "$decision"
    echo '```'
    echo
    echo "Moves, committed (\`bench-run move\`; each subtree moved to a new parent and back, 3 rounds),"
    echo "while hey keeps a steady ~$rate req/s (half the measured capacity) on the Tenants page:"
    echo
    echo '```'
    echo "$moves"
    echo '```'
    echo
    echo "Tenants page p99 at that steady rate: idle $idle_fixed_p99, while moving $moving_fixed_p99 (target: within 2x idle)."
    echo
    echo "The same moves with wrk saturating the Tenants page (for the record):"
    echo
    echo '```'
    echo "$moves_saturated"
    echo '```'
    echo
    echo "Tenants page p99 at saturation: idle $idle_p99, while moving $moving_p99."
    echo
    echo "Batch-creating 10,000 tenants through the API (10 atomic batches of 1,000): **$batch_secs s** (target < 10 s)."
} >"$summary"

echo
echo "----- paste into docs/PERFORMANCE.md (also in $summary) -----"
cat "$summary"
echo "--------------------------------------------------------------"
