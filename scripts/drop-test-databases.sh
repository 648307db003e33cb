#!/usr/bin/env bash
# Drops the Rust tests' databases (tenantry_t<pid>_…, tenantry_tpl_<pid>) whose test
# process is gone: what a run leaves behind when it ends or is interrupted. Databases
# of a test run still going (its process alive) are left alone.
set -euo pipefail
url="${TEST_DATABASE_URL:-postgres://tenantry:tenantry@127.0.0.1:5432/postgres}"
psql -X -q -At "$url" -c "SELECT datname FROM pg_database WHERE datname LIKE 'tenantry\_t%'" |
while read -r db; do
    pid="${db#tenantry_tpl_}"
    pid="${pid#tenantry_t}"
    pid="${pid%%_*}"
    if [[ -n "$pid" && ! -d "/proc/$pid" ]]; then
        psql -X -q "$url" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null || true
    fi
done
