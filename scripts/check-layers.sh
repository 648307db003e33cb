#!/usr/bin/env bash
# Imports run downwards only: nothing under src/db, src/domain, src/auth,
# src/services or src/mail, nor the error type and configuration every layer
# shares, may use the HTTP layer (`web`) or the composition root (`startup`). Prints every offending line and fails if there is one.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

lower=(src/db src/domain src/auth src/services src/mail src/error.rs src/config.rs src/dns.rs)
# `crate::web`, `tenantry::web`, `super::super::web`, `crate::startup`, also
# inside `use crate::{web, …}`.
pattern='\b(crate|tenantry|super)::(super::)*(web|startup)\b|\b(crate|tenantry)::\{[^}]*\b(web|startup)\b'

status=0
offending=$(grep -rnE --include='*.rs' "$pattern" "${lower[@]}") || status=$?
if [[ $status -gt 1 ]]; then
    echo 'check-layers: grep failed' >&2
    exit 2
fi
if [[ $status -eq 0 ]]; then
    printf '%s\n' "$offending" >&2
    echo 'check-layers: the lines above reach up into web or startup; move the code down or pass what it needs in.' >&2
    exit 1
fi
echo 'check-layers: ok'
