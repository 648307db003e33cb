#!/usr/bin/env bash
# Make sure the tools the browser and API schema tests need are present:
#   - Debian's chromium and chromedriver (/usr/bin/chromium, /usr/bin/chromedriver)
#   - a Python virtualenv in .venv with tests/browser/requirements.txt and
#     tests/api/requirements.txt (schemathesis) installed
#   - axe-core (npm, pinned below) in target/axe for the browser accessibility check
#   - pdftotext (poppler-utils): the printable stats page's PDF is read back as text
#
# Idempotent and fast when everything is already in place. Installs missing
# Debian packages with apt-get when run as root; otherwise fails saying what to
# install. Nothing is downloaded outside the package registries.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CHROME_BIN="${CHROME_BIN:-/usr/bin/chromium}"
CHROMEDRIVER_BIN="${CHROMEDRIVER_BIN:-/usr/bin/chromedriver}"
VENV="${VENV:-.venv}"
REQUIREMENTS="tests/browser/requirements.txt"
PYTHON="${PYTHON:-python3}"

log() { printf '[ensure-test-tools] %s\n' "$*"; }
die() { printf '[ensure-test-tools] ERROR: %s\n' "$*" >&2; exit 1; }

APT_UPDATED=0
apt_install() {
    if [[ $(id -u) -ne 0 ]]; then
        die "missing Debian package(s): $*; install them with: sudo apt-get install -y $*"
    fi
    if [[ $APT_UPDATED -eq 0 ]]; then
        log "apt-get update"
        apt-get update -qq
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- chromium + chromedriver -------------------------------------------------
missing=()
[[ -x $CHROME_BIN ]] || missing+=(chromium fonts-liberation)
[[ -x $CHROMEDRIVER_BIN ]] || missing+=(chromium-driver)
if [[ ${#missing[@]} -gt 0 ]]; then
    apt_install "${missing[@]}"
fi
[[ -x $CHROME_BIN ]] || die "$CHROME_BIN not found after installing chromium"
[[ -x $CHROMEDRIVER_BIN ]] || die "$CHROMEDRIVER_BIN not found after installing chromium-driver"
log "browser: $("$CHROME_BIN" --version 2>/dev/null || echo "$CHROME_BIN (version unknown)")"
log "driver:  $("$CHROMEDRIVER_BIN" --version 2>/dev/null | head -n1 || echo "$CHROMEDRIVER_BIN")"

# --- pdftotext (tests/browser/suite_stats.py) --------------------------------
command -v pdftotext >/dev/null 2>&1 || apt_install poppler-utils
command -v pdftotext >/dev/null 2>&1 || die "pdftotext not found after installing poppler-utils"

# --- Python virtualenv -------------------------------------------------------
if ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    command -v "$PYTHON" >/dev/null 2>&1 || apt_install python3
    log "creating virtualenv $VENV"
    rm -rf "$VENV"
    if ! "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; then
        # Debian's python3 ships venv/ensurepip separately.
        rm -rf "$VENV"
        apt_install python3-venv
        "$PYTHON" -m venv "$VENV" || die "could not create a virtualenv with $PYTHON -m venv"
    fi
fi

# Reinstall only when requirements.txt changed since the last successful install.
stamp="$VENV/.tenantry-requirements.sha256"
want=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
have=$(cat "$stamp" 2>/dev/null || true)
if [[ $want != "$have" ]] || ! "$VENV/bin/python" -c 'import selenium, aiosmtpd' >/dev/null 2>&1; then
    log "pip install -r $REQUIREMENTS"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
    echo "$want" >"$stamp"
fi
log "python:  $("$VENV/bin/python" -c 'import sys, selenium; print(sys.version.split()[0], "selenium", selenium.__version__)')"

# The API schema test (tests/api/schemathesis_run.py): schemathesis, same virtualenv.
API_REQUIREMENTS="tests/api/requirements.txt"
api_stamp="$VENV/.tenantry-api-requirements.sha256"
want=$(sha256sum "$API_REQUIREMENTS" | cut -d' ' -f1)
have=$(cat "$api_stamp" 2>/dev/null || true)
if [[ $want != "$have" ]] || [[ ! -x $VENV/bin/schemathesis ]]; then
    log "pip install -r $API_REQUIREMENTS"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$API_REQUIREMENTS"
    echo "$want" >"$api_stamp"
fi
log "api:     $("$VENV/bin/schemathesis" --version 2>/dev/null || echo 'schemathesis (version unknown)')"
# --- axe-core (tests/browser/suite_context.py injects its script) -------------
AXE_VERSION="4.14.1"
AXE_DIR="target/axe"
axe_have=$(node -p "require('./$AXE_DIR/node_modules/axe-core/package.json').version" 2>/dev/null || true)
if [[ $axe_have != "$AXE_VERSION" ]]; then
    command -v npm >/dev/null 2>&1 || apt_install npm
    log "npm install axe-core@$AXE_VERSION"
    mkdir -p "$AXE_DIR"
    npm install --prefix "$AXE_DIR" --no-audit --no-fund --silent "axe-core@$AXE_VERSION" >/dev/null
fi
log "axe:     axe-core $(node -p "require('./$AXE_DIR/node_modules/axe-core/package.json').version")"
log "ok"
