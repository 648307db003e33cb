#!/usr/bin/env bash
# src/db/schema.rs is generated: migrate a scratch database with migrations/,
# run `diesel print-schema` (diesel.toml: the file and its patch) and fail on any
# difference. The scratch database is dropped afterwards, pass or fail.
#
# Needs PostgreSQL (TEST_DATABASE_URL, a role that may create databases) and
# diesel_cli, which is installed when missing (it links libpq: libpq-dev is
# installed with apt-get when run as root).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

url="${TEST_DATABASE_URL:-postgres://tenantry:tenantry@127.0.0.1:5432/postgres}"
# print-schema's output differs between diesel_cli releases: the one matching Cargo.lock's diesel.
DIESEL_CLI_VERSION="2.3.14"

log() { printf '[check-schema] %s\n' "$*"; }
die() { printf '[check-schema] ERROR: %s\n' "$*" >&2; exit 1; }

if ! diesel --version 2>/dev/null | grep -qF "$DIESEL_CLI_VERSION"; then
    if ! dpkg -s libpq-dev >/dev/null 2>&1; then
        [[ $(id -u) -eq 0 ]] || die "diesel_cli needs libpq; install it with: sudo apt-get install -y libpq-dev"
        log "apt-get install libpq-dev"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libpq-dev >/dev/null
    fi
    log "cargo install diesel_cli $DIESEL_CLI_VERSION"
    cargo install diesel_cli --version "$DIESEL_CLI_VERSION" --no-default-features --features postgres --locked --quiet
fi

db="schemacheck_$$"
scratch="${url%/*}/$db"
work=$(mktemp -d)
cleanup() {
    psql -X -q "$url" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
psql -X -q -v ON_ERROR_STOP=1 "$url" -c "CREATE DATABASE \"$db\"" >/dev/null

# An empty config: `migration run` would otherwise rewrite src/db/schema.rs itself.
touch "$work/diesel.toml"
diesel migration run --config-file "$work/diesel.toml" --database-url "$scratch" \
    --migration-dir migrations >/dev/null
diesel print-schema --database-url "$scratch" >"$work/schema.rs"

if ! diff -u src/db/schema.rs "$work/schema.rs"; then
    die "src/db/schema.rs differs from \`diesel print-schema\` (above: - file, + generated); regenerate it with: diesel print-schema --database-url <migrated database> > src/db/schema.rs"
fi
log 'src/db/schema.rs is what the migrations generate'
