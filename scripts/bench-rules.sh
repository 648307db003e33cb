#!/usr/bin/env bash
# Rule-set migration benchmark (issue #13), part of `make bench` (BENCH_RULES=0 skips
# it; also runs alone):
#
#   1. release build of `tenantry` and `bench-run` (BENCH_SKIP_BUILD=1 to skip)
#   2. database tenantry_bench_rules, migrated and seeded by `bench-run seed --tenants
#      $BENCH_RULES_TENANTS --depth 12` and `bench-run seed-rules --rules
#      $BENCH_RULES_COUNT` (a source tenant with that many rules, 20 applications and
#      100 domains; a target with 1,000 rules of its own; reused with BENCH_KEEP_DB=1)
#   3. the reference: the source's current rules copied by one `INSERT … SELECT`
#      (rolled back), timed by psql
#   4. `bench-run migrate-rules --rounds $BENCH_RULES_ROUNDS` on a quiet machine: each
#      migration end to end (lock: `services::rule_migrations::start`; copy with the
#      mappings into a new generation in batches of 25,000, swap = move the target's
#      generation pointer, unlock: `Runner::tick`), target < 1 s
#   5. `tenantry serve` on 127.0.0.1:18091 (its own runner idle: bench-run runs the
#      jobs); logged in as the root's Owner, the Tenants page's capacity (hey, 5 s),
#      then its p99 at a steady half of that rate, idle and while the migrations of
#      step 4 run again back to back; target: p99 during ≤ 2× idle
#   6. a Markdown summary to stdout and target/bench/rules.md
#
# Knobs: BENCH_RULES_COUNT (100000), BENCH_RULES_TENANTS (100000), BENCH_RULES_ROUNDS
# (5), BENCH_RULES_IDLE (idle hey duration, 10s), BENCH_KEEP_DB=1, BENCH_SKIP_BUILD=1,
# BENCH_BIN_DIR (target/release), BENCH_PG_BASE.
set -euo pipefail

BENCH_NAME="rules"
DB="tenantry_bench_rules"
ADDR="127.0.0.1:18091"
RULES="${BENCH_RULES_COUNT:-100000}"
TENANTS="${BENCH_RULES_TENANTS:-100000}"
ROUNDS="${BENCH_RULES_ROUNDS:-5}"
IDLE="${BENCH_RULES_IDLE:-10s}"
PAGE="/tenants?per_page=50"
source "$(dirname "${BASH_SOURCE[0]}")/bench-common.sh"
SUMMARY="$OUT/rules.md"

HEY_PID=""
cleanup() {
    if [[ -n $HEY_PID ]]; then kill "$HEY_PID" 2>/dev/null || true; fi
    stop_server
}
trap cleanup EXIT

command -v hey >/dev/null || die "hey is not installed (make bench installs it; apt-get install -y hey)"
bench_prepare "creating $DB: $TENANTS tenants, then $RULES rules"
"$BIN_DIR/bench-run" seed-rules --rules "$RULES"
sql -c 'VACUUM ANALYZE rules, rule_sets, rule_set_versions, applications, domains, tenants' >/dev/null
source_id=$(sql -c "SELECT id FROM tenants WHERE subdomain = 'bench-rules-source'")
current="tenant_id = $source_id AND valid_to IS NULL AND generation = (SELECT generation FROM rule_sets WHERE tenant_id = $source_id)"
rules=$(sql -c "SELECT count(*) FROM rules WHERE $current")
tenants=$(sql -c 'SELECT count(*) FROM tenants')
{
    echo "### Rule-set migration benchmark $(date -u +%Y-%m-%d) (commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
    echo
    echo "Machine: $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), PostgreSQL $(sql -c 'SHOW server_version') on the same machine; $tenants tenants; the source holds $rules rules (20 applications, 100 domains, all mapped), the target 1,000."
    echo
} >"$SUMMARY"

# ---------------------------------------------------------------- 3. reference
# Three times, each rolled back; the median (of the three INSERTs: the three
# longest of the nine timed statements, BEGIN and ROLLBACK take well under 1 ms). Run again after the quiet migrations:
# the machine may be shared, and the ratio compares times taken under one load.
reference_ms() {
    psql -X -q -v ON_ERROR_STOP=1 "$DB_URL" <<SQL | awk '/^Time:/ { print $2 }' | sort -n | tail -3 | sed -n 2p
\timing on
BEGIN;
INSERT INTO rules (tenant_id, generation, kind, application_id, domain_id, path, value, action, enabled, valid_from)
SELECT tenant_id, -1, kind, application_id, domain_id, path, value, action, enabled, valid_from + 1000000
FROM rules WHERE $current;
ROLLBACK;
BEGIN;
INSERT INTO rules (tenant_id, generation, kind, application_id, domain_id, path, value, action, enabled, valid_from)
SELECT tenant_id, -1, kind, application_id, domain_id, path, value, action, enabled, valid_from + 1000000
FROM rules WHERE $current;
ROLLBACK;
BEGIN;
INSERT INTO rules (tenant_id, generation, kind, application_id, domain_id, path, value, action, enabled, valid_from)
SELECT tenant_id, -1, kind, application_id, domain_id, path, value, action, enabled, valid_from + 1000000
FROM rules WHERE $current;
ROLLBACK;
SQL
}
log "reference: INSERT … SELECT of the source's rules (3 times, rolled back)"
reference_before=$(reference_ms)

# ---------------------------------------------------------------- 4. quiet migrations
log "bench-run migrate-rules --rounds $ROUNDS (quiet)"
quiet=$("$BIN_DIR/bench-run" migrate-rules --rounds "$ROUNDS")
echo "$quiet"
quiet_load=$(load)
reference_after=$(reference_ms)
reference=$(awk -v a="$reference_before" -v b="$reference_after" 'BEGIN { printf "%.0f", (a + b) / 2 }')
quiet_median=$(sed -n 's/.*median=\([0-9]*\)ms.*/\1/p' <<<"$quiet")
vs_reference=$(awk -v m="$quiet_median" -v r="$reference" 'BEGIN { if (r > 0) printf "%.1f", m / r; else print "n/a" }')

# ---------------------------------------------------------------- 5. the Tenants page meanwhile
: >"$OUT/rules-server.log"
start_server TENANTRY_MIGRATION_POLL_MS=3600000
cookie=$(python3 - "$ADDR" <<'PY'
import html, http.cookiejar, re, sys, urllib.parse, urllib.request
addr = sys.argv[1]
jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
page = opener.open(f"http://{addr}/login").read().decode()
csrf = html.unescape(re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]*)"', page).group(1))
form = urllib.parse.urlencode({"username": "admin", "password": "bench-password-123", "csrf_token": csrf}).encode()
if opener.open(f"http://{addr}/login", data=form).geturl().rstrip("/").endswith("/login"):
    raise SystemExit("login failed")
print("; ".join(f"{c.name}={c.value}" for c in jar))
PY
) || die "could not log in as admin"
code=$(curl -s -m 60 -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "http://$ADDR$PAGE")
[[ $code == 200 ]] || die "GET $PAGE answered $code"

hey_check() {
    if grep -E '^\s+\[[0-9]+\]' "$OUT/hey-rules-$1.txt" | grep -vq '\[200\]' || grep -q 'Error distribution' "$OUT/hey-rules-$1.txt"; then
        cat "$OUT/hey-rules-$1.txt" >&2
        die "hey $1 saw error responses"
    fi
}
hey_p99() { awk '/99% in/ { printf "%.1f ms", $3 * 1000 }' "$OUT/hey-rules-$1.txt"; }
hey_p50() { awk '/50% in/ { printf "%.1f ms", $3 * 1000 }' "$OUT/hey-rules-$1.txt"; }

log "Tenants page capacity (hey -z 5s -c 8)"
hey -z 5s -c 8 -H "Cookie: $cookie" "http://$ADDR$PAGE" >"$OUT/hey-rules-capacity.txt"
hey_check capacity
capacity=$(awk '/Requests\/sec:/ { printf "%.0f", $2 }' "$OUT/hey-rules-capacity.txt")
workers=8
qps=$(awk -v r="$capacity" -v w="$workers" 'BEGIN { q = r / 2 / w; printf "%.1f", (q < 1 ? 1 : q) }')

log "idle: $workers workers x $qps req/s for $IDLE"
hey -z "$IDLE" -c "$workers" -q "$qps" -H "Cookie: $cookie" "http://$ADDR$PAGE" >"$OUT/hey-rules-idle.txt"
hey_check idle
log "the same load while bench-run migrate-rules --rounds $ROUNDS runs"
hey -z 600s -c "$workers" -q "$qps" -H "Cookie: $cookie" "http://$ADDR$PAGE" >"$OUT/hey-rules-migrating.txt" &
HEY_PID=$!
sleep 1
loaded=$("$BIN_DIR/bench-run" migrate-rules --rounds "$ROUNDS")
loaded_load=$(load)
kill -INT "$HEY_PID"
wait "$HEY_PID" || true
HEY_PID=""
hey_check migrating
echo "$loaded"
idle_p99=$(hey_p99 idle)
moving_p99=$(hey_p99 migrating)
ratio=$(awk -v a="${moving_p99% ms}" -v b="${idle_p99% ms}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')

{
    echo "Reference: the source's $rules current rules copied by one \`INSERT … SELECT\` (psql, rolled back; median of 3 before the quiet migrations: $(printf '%.0f' "$reference_before") ms, after: $(printf '%.0f' "$reference_after") ms): $reference ms. Quiet migration median / reference: ${vs_reference}×."
    echo
    echo "Migrations end to end (\`bench-run migrate-rules\`: lock = \`services::rule_migrations::start\`; then copy with mappings into a new generation in batches of 25,000, swap (the generation pointer) and unlock = \`Runner::tick\`; target < 1 s):"
    echo
    echo "| when | result | load average |"
    echo "| --- | --- | --- |"
    echo "| quiet | ${quiet#rule migration of } | $quiet_load |"
    echo "| under the page load below | ${loaded#rule migration of } | $loaded_load |"
    echo
    echo "Tenants page (\`GET $PAGE\`, logged in as the root's Owner) at a steady half of its capacity ($capacity req/s measured: $workers workers × $qps req/s), idle vs while the migrations ran back to back; target p99 ≤ 2× idle:"
    echo
    echo "| run | p50 | p99 |"
    echo "| --- | ---: | ---: |"
    echo "| idle ($IDLE) | $(hey_p50 idle) | $idle_p99 |"
    echo "| during $ROUNDS migrations | $(hey_p50 migrating) | $moving_p99 |"
    echo
    echo "p99 during / idle: $ratio."
    echo
} >>"$SUMMARY"

log "summary: $SUMMARY"
cat "$SUMMARY"
