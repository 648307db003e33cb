#!/usr/bin/env python3
"""Property-based test of the Manage Tenants API with schemathesis.

Starts a real tenantry against a fresh database (like tests/browser/run.py):
  * a new database on TEST_DATABASE_URL's server, `tenantry migrate`,
    `tenantry bootstrap` and `tenantry seed-demo` (a tree of ~50 tenants);
  * `tenantry serve` on a free port;
  * a personal API token for the root administrator, inserted as its hash;
then runs `schemathesis run <base>/api/v1/openapi.json` with that token (and, for
`POST /api/v1/usage`, which takes no personal token, a second run with an ingestion
key inserted the same way), every
check (`--checks all`) and both schema-valid and schema-invalid data (`--mode all`).
It fails on any 5xx, any response that violates the documented schema, status code,
content type or headers, any request the schema forbids that is accepted, any
request the schema allows that is refused as malformed (400/422: the document must
state every constraint the server enforces; a 422 may only name refusals that
depend on the data already there, see `hooks.py`, which also gives each
schema-valid request an Idempotency-Key of its own, since a key reused for another
body is refused by design), a 404 for a method it does not
document (405 expected), or an endpoint that ignores authentication.
A batch answers an operation the schema forbids inside its 200 (a 4xx result for
that operation, the others applied): `hooks.py` counts that as the rejection it is.

Environment:
  TEST_DATABASE_URL   PostgreSQL URL of a role that may create databases
                      (default postgres://postgres@127.0.0.1:5432/postgres)
  TENANTRY_BIN        use this binary instead of building target/debug/tenantry
  SCHEMATHESIS_MAX_EXAMPLES  examples per operation (default 60)
  SCHEMATHESIS_SEED   hypothesis seed (default fixed, for reproducible runs)

Exit status: 0 when schemathesis found nothing, else non-zero.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ADMIN_DB_URL = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


def log(message: str) -> None:
    print(f"[api-schema] {message}", flush=True)


def db_url_with_name(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    base = base.rsplit("/", 1)[0]
    return f"{base}/{name}" + (f"?{query}" if query else "")


def psql(url: str, sql: str) -> None:
    subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
        check=True,
        stdin=subprocess.DEVNULL,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tenantry_binary() -> Path:
    override = os.environ.get("TENANTRY_BIN")
    if override:
        return Path(override)
    # The features of `make test`'s cargo test: the binary it built is reused.
    subprocess.run(
        ["cargo", "build", "--quiet", "--bin", "tenantry", "--features", "failpoints"],
        cwd=ROOT,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return ROOT / "target" / "debug" / "tenantry"


def wait_ready(base: str, proc: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"tenantry exited early:\n{log_path.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("tenantry did not become ready within 60 s")


def main() -> int:
    if not SCHEMATHESIS.exists():
        log(f"{SCHEMATHESIS} missing: run scripts/ensure-test-tools.sh")
        return 2
    binary = tenantry_binary()
    db_name = f"apischema_{secrets.token_hex(6)}"
    db_url = db_url_with_name(ADMIN_DB_URL, db_name)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        DATABASE_URL=db_url,
        TENANTRY_DEV="1",
        TENANTRY_ADMIN_USERNAME="admin",
        TENANTRY_ADMIN_PASSWORD="schema-pass-123",
        TENANTRY_LISTEN=f"127.0.0.1:{port}",
        TENANTRY_PUBLIC_URL=base,
        TENANTRY_SECRET_KEY=secrets.token_hex(32),
    )
    env.pop("TENANTRY_CONFIG", None)
    env.pop("TENANTRY_SMTP_URL", None)
    log_path = ROOT / "target" / "api-schema-server.log"
    proc: subprocess.Popen | None = None
    psql(ADMIN_DB_URL, f'CREATE DATABASE "{db_name}"')
    try:
        for command in ("migrate", "bootstrap", "seed-demo"):
            subprocess.run(
                [str(binary), command],
                env=env,
                check=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
        token = "tnt_" + secrets.token_urlsafe(32)
        digest = hashlib.sha256(token.encode()).hexdigest()
        psql(
            db_url,
            "INSERT INTO api_tokens (user_id, name, token_hash, prefix) "
            f"SELECT id, 'schemathesis', '{digest}', '{token[:10]}' FROM users WHERE username = 'admin'",
        )
        ingestion_key = "tni_" + secrets.token_urlsafe(32)
        psql(
            db_url,
            "INSERT INTO ingestion_keys (name, key_hash, prefix) VALUES ('schemathesis', "
            f"'{hashlib.sha256(ingestion_key.encode()).hexdigest()}', '{ingestion_key[:10]}')",
        )
        with open(log_path, "wb") as out:
            proc = subprocess.Popen(
                [str(binary), "serve"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_ready(base, proc, log_path)
        log(f"tenantry on {base} (database {db_name}); running schemathesis")
        def run(credential: str, operations: list[str]) -> int:
            return subprocess.run(
                [
                    str(SCHEMATHESIS),
                    "--config-file",
                    str(Path(__file__).parent / "schemathesis.toml"),
                    "run",
                    f"{base}/api/v1/openapi.json",
                    "--header",
                    f"Authorization: Bearer {credential}",
                    *operations,
                    "--checks",
                    "all",
                    # Schema-valid and schema-invalid requests alike.
                    "--mode",
                    "all",
                    "--max-examples",
                    os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "60"),
                    "--seed",
                    os.environ.get("SCHEMATHESIS_SEED", "20261123"),
                    # One worker: parallel workers trip an internal hypothesis cache race.
                    "--workers",
                    "1",
                ],
                stdin=subprocess.DEVNULL,
                cwd=ROOT / "target",
                env=dict(os.environ, SCHEMATHESIS_HOOKS="hooks", PYTHONPATH=str(Path(__file__).parent)),
            ).returncode

        usage = "/api/v1/usage"
        # Starting a rule migration locks two tenants' rules while it runs (the
        # server's runner carries it out): every rules operation documents the 423
        # it then answers.
        returncode = run(token, ["--exclude-path", usage]) or run(
            ingestion_key, ["--include-path", usage]
        )
        server_errors = [
            line
            for line in log_path.read_text(errors="replace").splitlines()
            if '" 5' in line and "ms" in line
        ]
        if server_errors:
            log("the server answered 5xx:\n" + "\n".join(server_errors[:20]))
            return 1
        log("passed" if returncode == 0 else f"FAILED (schemathesis exit {returncode})")
        return returncode
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        try:
            psql(ADMIN_DB_URL, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        except subprocess.CalledProcessError as exc:
            log(f"could not drop {db_name}: {exc}")


if __name__ == "__main__":
    sys.exit(main())
