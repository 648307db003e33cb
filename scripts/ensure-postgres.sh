#!/usr/bin/env bash
# Make sure a local PostgreSQL server answers on 127.0.0.1:5432 and that the
# development role and database exist:
#   role     tenantry / password tenantry, LOGIN CREATEDB
#   database tenantry, owned by tenantry
#
# Idempotent. When no server answers it installs Debian's postgresql (as root),
# creates/starts the cluster and waits for it. The application itself needs no
# libpq (it speaks the protocol through tokio-postgres); psql is used here only.
set -euo pipefail

PG_HOST="${PG_HOST:-127.0.0.1}"
PG_PORT="${PG_PORT:-5432}"
PG_CLUSTER="${PG_CLUSTER:-main}"   # cluster name used when one must be created
APP_ROLE="tenantry"
APP_PASSWORD="tenantry"
APP_DB="tenantry"
READY_TIMEOUT="${PG_READY_TIMEOUT:-30}"

log() { printf '[ensure-postgres] %s\n' "$*"; }
die() { printf '[ensure-postgres] ERROR: %s\n' "$*" >&2; exit 1; }
is_root() { [[ $(id -u) -eq 0 ]]; }

APT_UPDATED=0
apt_install() {
    is_root || die "missing Debian package(s): $*; install them with: sudo apt-get install -y $*"
    if [[ $APT_UPDATED -eq 0 ]]; then
        log "apt-get update"
        apt-get update -qq
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

pg_ready() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" >/dev/null 2>&1; }

# --- client tools --------------------------------------------------------------
if ! command -v psql >/dev/null 2>&1 || ! command -v pg_isready >/dev/null 2>&1; then
    apt_install postgresql-client
fi

# --- server --------------------------------------------------------------------
if pg_ready; then
    log "PostgreSQL is accepting connections on $PG_HOST:$PG_PORT"
else
    if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
        is_root || die "no PostgreSQL server answers on $PG_HOST:$PG_PORT and none is installed; install one with: sudo apt-get install -y postgresql (or point DATABASE_URL/TEST_DATABASE_URL at a running server)"
        apt_install postgresql
    fi
    is_root || die "PostgreSQL is installed but not running on $PG_HOST:$PG_PORT; start it with: sudo pg_ctlcluster <version> main start"

    # Prefer an existing cluster configured for our port, else the newest version's "$PG_CLUSTER".
    version=""
    name=""
    while read -r v n p _; do
        [[ -n $v ]] || continue
        if [[ $p == "$PG_PORT" ]]; then version=$v; name=$n; break; fi
    done < <(pg_lsclusters -h 2>/dev/null || true)
    if [[ -z $version ]]; then
        version=$(for p in /usr/lib/postgresql/*/bin/postgres; do basename "$(dirname "$(dirname "$p")")"; done | sort -V | tail -n1)
        name=$PG_CLUSTER
        if ! pg_lsclusters -h 2>/dev/null | awk -v v="$version" -v n="$name" '$1 == v && $2 == n { found = 1 } END { exit !found }'; then
            log "creating cluster $version/$name on port $PG_PORT"
            pg_createcluster --port "$PG_PORT" "$version" "$name" >/dev/null
        fi
    fi
    port=$(pg_lsclusters -h | awk -v v="$version" -v n="$name" '$1 == v && $2 == n { print $3 }')
    [[ $port == "$PG_PORT" ]] || die "cluster $version/$name is configured for port $port, not $PG_PORT; change 'port' in /etc/postgresql/$version/$name/postgresql.conf"

    status=$(pg_lsclusters -h | awk -v v="$version" -v n="$name" '$1 == v && $2 == n { print $4 }')
    if [[ $status != online* ]]; then
        log "starting cluster $version/$name"
        pg_ctlcluster --skip-systemctl-redirect "$version" "$name" start
    fi

    log "waiting up to ${READY_TIMEOUT}s for $PG_HOST:$PG_PORT"
    deadline=$((SECONDS + READY_TIMEOUT))
    until pg_ready; do
        if ((SECONDS >= deadline)); then
            die "PostgreSQL $version/$name did not accept connections on $PG_HOST:$PG_PORT within ${READY_TIMEOUT}s; see /var/log/postgresql/postgresql-$version-$name.log"
        fi
        sleep 1
    done
    log "PostgreSQL $version/$name is accepting connections on $PG_HOST:$PG_PORT"
fi

# --- superuser access ------------------------------------------------------------
# Trust auth over TCP (CI images, dev boxes), else peer auth as the postgres OS user
# (a fresh Debian install, whose TCP auth wants a password).
if psql -w -X -q -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
    admin_psql() { psql -w -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres; }
    how="psql -h $PG_HOST -U postgres"
elif is_root && id postgres >/dev/null 2>&1 && runuser -u postgres -- psql -X -q -p "$PG_PORT" -d postgres -Atc 'select 1' >/dev/null 2>&1; then
    admin_psql() { runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres; }
    how="runuser -u postgres -- psql"
else
    die "cannot connect as a PostgreSQL superuser (tried 'psql -h $PG_HOST -U postgres' and 'runuser -u postgres -- psql'); create the role and database by hand:
    CREATE ROLE $APP_ROLE LOGIN CREATEDB PASSWORD '$APP_PASSWORD';
    CREATE DATABASE $APP_DB OWNER $APP_ROLE;"
fi

# --- role and database -------------------------------------------------------------
log "ensuring role '$APP_ROLE' and database '$APP_DB' (as: $how)"
admin_psql <<SQL
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$APP_ROLE') THEN
        CREATE ROLE $APP_ROLE LOGIN CREATEDB PASSWORD '$APP_PASSWORD';
        RAISE NOTICE 'created role $APP_ROLE';
    ELSE
        ALTER ROLE $APP_ROLE LOGIN CREATEDB PASSWORD '$APP_PASSWORD';
    END IF;
END
\$\$;
SELECT format('CREATE DATABASE %I OWNER %I', '$APP_DB', '$APP_ROLE')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$APP_DB')
\gexec
SQL

# --- check the application's own login -------------------------------------------------
if ! PGPASSWORD="$APP_PASSWORD" psql -w -X -q -h "$PG_HOST" -p "$PG_PORT" -U "$APP_ROLE" -d "$APP_DB" -Atc 'select 1' >/dev/null 2>&1; then
    die "role '$APP_ROLE' cannot log in over TCP to $PG_HOST:$PG_PORT with its password; check pg_hba.conf allows 'host all all 127.0.0.1/32 scram-sha-256' (or trust)"
fi
log "ok: postgres://$APP_ROLE:$APP_PASSWORD@$PG_HOST:$PG_PORT/$APP_DB"
