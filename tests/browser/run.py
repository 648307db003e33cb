#!/usr/bin/env python3
"""Browser tests for tenantry: a real headless Chromium driving a real server.

Run through `make test` (or `.venv/bin/python tests/browser/run.py` after
`scripts/ensure-postgres.sh` and `scripts/ensure-test-tools.sh`).

The script sets up everything it needs and removes it afterwards:
  * a fresh database browser_<random> next to the one TEST_DATABASE_URL names
    (default postgres://tenantry:tenantry@127.0.0.1:5432/postgres; its role
    needs CREATEDB),
  * `tenantry migrate`, `tenantry bootstrap` (root admin / browser-pass-123),
  * `tenantry serve` on a free 127.0.0.1 port, waited for through GET /healthz.

A missing browser, driver or selenium is a failure, never a skip. Each test
prints `PASS name` or `FAIL name: reason`; the last line is `N passed, M failed`
and the exit status is 1 when anything failed. Screenshots, page sources,
browser console logs and the server log of failures go to
target/browser-artifacts/.

Environment (all optional):
  TEST_DATABASE_URL       admin connection used to create/drop the test database
  TENANTRY_BIN            use this binary instead of building target/debug/tenantry
  CHROME_BIN              default /usr/bin/chromium
  CHROMEDRIVER_BIN        default /usr/bin/chromedriver
  BROWSER_WAIT_SECONDS    explicit-wait timeout per step, default 10
  BROWSER_KEEP_DB=1       keep the test database (its name is printed)
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable

try:
    from selenium import webdriver
    from selenium.common.exceptions import (
        NoSuchElementException,
        StaleElementReferenceException,
        TimeoutException,
    )
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement
    from selenium.webdriver.support.ui import WebDriverWait

    SELENIUM_IMPORT_ERROR: Exception | None = None
except ImportError as exc:  # reported as a setup failure below, never skipped
    SELENIUM_IMPORT_ERROR = exc

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "target" / "browser-artifacts"
SERVER_LOG = ARTIFACTS / "server.log"
# Every mail the server sends lands here (tests/support/smtp_sink.py), one JSON line each.
MAIL_FILE = ARTIFACTS / "mail.jsonl"
SMTP_SINK = REPO / "tests" / "support" / "smtp_sink.py"

CHROME_BIN = os.environ.get("CHROME_BIN", "/usr/bin/chromium")
CHROMEDRIVER_BIN = os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver")
ADMIN_DB_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgres://tenantry:tenantry@127.0.0.1:5432/postgres"
)
WAIT_SECONDS = float(os.environ.get("BROWSER_WAIT_SECONDS", "10"))
HEALTH_TIMEOUT = 30.0

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "browser-pass-123"

CHROME_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--window-size=1280,900",
]


class SetupError(Exception):
    """The environment could not be prepared; every test counts as failed."""


class Check(AssertionError):
    """A test expectation that did not hold."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise Check(message)


# --------------------------------------------------------------------------- #
# Database and server
# --------------------------------------------------------------------------- #


def db_url_with_name(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def psql(url: str, sql: str) -> None:
    if shutil.which("psql") is None:
        raise SetupError("psql not found; run scripts/ensure-postgres.sh")
    proc = subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if proc.returncode != 0:
        raise SetupError(f"psql failed ({sql!r}): {proc.stderr.strip() or proc.stdout.strip()}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def tenantry_binary() -> Path:
    override = os.environ.get("TENANTRY_BIN")
    if override:
        path = Path(override)
        if not os.access(path, os.X_OK):
            raise SetupError(f"TENANTRY_BIN={override} is not an executable file")
        return path
    target_dir = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    path = target_dir / "debug" / "tenantry"
    # `make test` has just run `cargo test`, so this is normally a no-op; it also
    # guarantees the browser never tests a stale binary.
    print("building target/debug/tenantry (cargo build --bin tenantry)", flush=True)
    proc = subprocess.run(
        ["cargo", "build", "--quiet", "--bin", "tenantry"],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        timeout=3600,
    )
    if proc.returncode != 0 or not path.exists():
        raise SetupError(f"cargo build --bin tenantry failed (exit {proc.returncode})")
    return path


class Server:
    def __init__(self) -> None:
        self.db_name = f"browser_{secrets.token_hex(6)}"
        self.db_url = db_url_with_name(ADMIN_DB_URL, self.db_name)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.smtp_port = free_port()
        self.sink: subprocess.Popen[str] | None = None
        self.db_created = False
        self.env = dict(os.environ)
        self.env.update(
            DATABASE_URL=self.db_url,
            TENANTRY_DEV="1",
            TENANTRY_ADMIN_USERNAME=ADMIN_USERNAME,
            TENANTRY_ADMIN_PASSWORD=ADMIN_PASSWORD,
            TENANTRY_LISTEN=f"127.0.0.1:{self.port}",
            TENANTRY_PUBLIC_URL=self.base_url,
            TENANTRY_SECRET_KEY=secrets.token_hex(32),  # 64 characters
            TENANTRY_SMTP_URL=f"smtp://127.0.0.1:{self.smtp_port}",
            TENANTRY_MAIL_FROM="tenantry@browser.test",
            TENANTRY_OUTBOX_POLL_MS="200",
        )
        self.env.setdefault("RUST_LOG", "info")
        self.env.pop("TENANTRY_CONFIG", None)  # never pick up a developer's config file

    def _run(self, binary: Path, command: str) -> None:
        proc = subprocess.run(
            [str(binary), command],
            cwd=REPO,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=180,
        )
        if proc.returncode != 0:
            output = (proc.stdout + proc.stderr).strip()
            raise SetupError(f"tenantry {command} failed (exit {proc.returncode}):\n{output}")

    def start(self) -> None:
        binary = tenantry_binary()
        psql(ADMIN_DB_URL, f'CREATE DATABASE "{self.db_name}"')
        self.db_created = True
        print(f"database {self.db_name}; server {self.base_url}", flush=True)
        self._run(binary, "migrate")
        self._run(binary, "bootstrap")
        self._start_mail_sink()
        log = open(SERVER_LOG, "wb")  # noqa: SIM115  (owned by the child for its lifetime)
        self.proc = subprocess.Popen(
            [str(binary), "serve"],
            cwd=REPO,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self._wait_healthy()

    def _start_mail_sink(self) -> None:
        """A real SMTP server (aiosmtpd) for the server's mail, writing to MAIL_FILE."""
        self.sink = subprocess.Popen(
            [sys.executable, str(SMTP_SINK), str(self.smtp_port), str(MAIL_FILE)],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        assert self.sink.stdout is not None
        first = self.sink.stdout.readline().strip()
        if first != "ready":
            rest = self.sink.stdout.read() if self.sink.poll() is not None else ""
            raise SetupError(f"the SMTP sink did not start: {first}\n{rest}".strip())
        print(f"SMTP sink on 127.0.0.1:{self.smtp_port}, mail in {MAIL_FILE.relative_to(REPO)}")

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + HEALTH_TIMEOUT
        last = "no answer"
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise SetupError(
                    f"tenantry serve exited with {self.proc.returncode}:\n{tail(SERVER_LOG)}"
                )
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        return
                    last = f"HTTP {resp.status}"
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError) as exc:
                last = str(exc)
            time.sleep(0.2)
        raise SetupError(
            f"GET /healthz did not return 200 within {HEALTH_TIMEOUT:.0f}s ({last}):\n"
            f"{tail(SERVER_LOG)}"
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
        if self.sink is not None and self.sink.poll() is None:
            self.sink.terminate()
            try:
                self.sink.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.sink.kill()
                self.sink.wait(timeout=10)
        self.sink = None
        if self.db_created:
            if os.environ.get("BROWSER_KEEP_DB") == "1":
                print(f"keeping database {self.db_name} ({self.db_url})")
            else:
                try:
                    psql(ADMIN_DB_URL, f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
                except (SetupError, subprocess.TimeoutExpired) as exc:
                    print(f"warning: could not drop database {self.db_name}: {exc}")
            self.db_created = False


# --------------------------------------------------------------------------- #
# Browser helpers
# --------------------------------------------------------------------------- #


def start_browser(profile_dir: str) -> "WebDriver":
    if SELENIUM_IMPORT_ERROR is not None:
        raise SetupError(
            f"selenium is not importable ({SELENIUM_IMPORT_ERROR}); run scripts/ensure-test-tools.sh"
        )
    for what, path, package in (
        ("browser", CHROME_BIN, "chromium"),
        ("driver", CHROMEDRIVER_BIN, "chromium-driver"),
    ):
        if not os.access(path, os.X_OK):
            raise SetupError(
                f"{what} {path} not found; install Debian's {package} "
                "(scripts/ensure-test-tools.sh does it)"
            )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROME_BIN
    for arg in CHROME_ARGS:
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={profile_dir}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium Manager is never consulted, nothing is downloaded.
    service = Service(
        executable_path=CHROMEDRIVER_BIN, log_output=str(ARTIFACTS / "chromedriver.log")
    )
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    return driver


def wait(driver: "WebDriver", condition: Callable, what: str):
    return WebDriverWait(
        driver,
        WAIT_SECONDS,
        poll_frequency=0.1,
        ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
    ).until(condition, message=f"timed out after {WAIT_SECONDS:.0f}s waiting for {what}")


def path_of(driver: "WebDriver") -> str:
    return urllib.parse.urlsplit(driver.current_url).path


def wait_path(driver: "WebDriver", expected: str) -> None:
    wait(driver, lambda d: path_of(d) == expected, f"the URL path to be {expected}")


def button(scope, text: str) -> "WebElement":
    """A submit control (button or input) whose visible text is `text`."""
    return scope.find_element(
        By.XPATH,
        f".//button[normalize-space(.)='{text}'] | .//input[@type='submit' and @value='{text}']",
    )


def field(driver: "WebDriver", name: str) -> "WebElement":
    return driver.find_element(By.NAME, name)


def fill(driver: "WebDriver", name: str, value: str) -> None:
    element = field(driver, name)
    element.clear()
    element.send_keys(value)


def login(driver: "WebDriver", base_url: str, username: str, password: str) -> None:
    driver.get(base_url + "/login")
    fill(driver, "username", username)
    fill(driver, "password", password)
    button(driver, "Log in").click()


def body_text(driver: "WebDriver") -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def save_artifacts(driver: "WebDriver | None", name: str) -> list[Path]:
    saved: list[Path] = []
    if driver is None:
        return saved
    try:
        png = ARTIFACTS / f"{name}.png"
        driver.save_screenshot(str(png))
        saved.append(png)
        html = ARTIFACTS / f"{name}.html"
        html.write_text(
            f"<!-- {driver.current_url} -->\n{driver.page_source}", encoding="utf-8"
        )
        saved.append(html)
        console = ARTIFACTS / f"{name}.console.log"
        entries = driver.get_log("browser")
        console.write_text(
            "".join(f"{e.get('level')} {e.get('message')}\n" for e in entries), encoding="utf-8"
        )
        saved.append(console)
    except Exception as exc:  # noqa: BLE001  (best effort while reporting a failure)
        print(f"  (could not save all artifacts: {exc})")
    return saved


# --------------------------------------------------------------------------- #
# Tests
# --------------------------------------------------------------------------- #


def test_login_create_subtenant_switch_logout(driver: "WebDriver", base: str) -> None:
    login(driver, base, ADMIN_USERNAME, ADMIN_PASSWORD)
    wait_path(driver, "/dashboard")
    expect(
        "Dashboard" in driver.find_element(By.TAG_NAME, "h1").text,
        "the dashboard's <h1> does not say Dashboard",
    )
    expect(
        bool(driver.find_elements(By.CSS_SELECTOR, "nav#breadcrumb")),
        "no nav#breadcrumb in the header",
    )
    expect(
        bool(driver.find_elements(By.ID, "acting-tenant")),
        "no #acting-tenant in the header",
    )

    # Invalid subdomain: the form comes back with an error next to the field.
    driver.get(base + "/tenants/new")
    fill(driver, "name", "Browser Co")
    fill(driver, "subdomain", "Bad_Sub")
    fill(driver, "description", "Created by the browser test")
    button(driver, "Create tenant").click()
    wait(
        driver,
        lambda d: d.find_elements(By.CSS_SELECTOR, ".field-error"),
        "a .field-error after submitting subdomain 'Bad_Sub'",
    )
    expect(
        field(driver, "name").get_attribute("value") == "Browser Co",
        "the name field did not keep its value after the validation error "
        f"(got {field(driver, 'name').get_attribute('value')!r})",
    )
    # The error belongs to the subdomain field: the nearest element around the
    # subdomain input that holds a .field-error does not also hold the name input.
    holder = driver.find_elements(
        By.XPATH,
        "//input[@name='subdomain']/ancestor::*"
        "[.//*[contains(concat(' ', normalize-space(@class), ' '), ' field-error ')]][1]",
    )
    expect(
        bool(holder) and not holder[0].find_elements(By.XPATH, ".//*[@name='name']"),
        "the .field-error is not next to the subdomain field",
    )

    # Fix it and create.
    fill(driver, "subdomain", "browser-co")
    button(driver, "Create tenant").click()
    wait(
        driver,
        lambda d: re.fullmatch(r"/tenants/[^/]+", path_of(d)) and path_of(d) != "/tenants/new",
        "a redirect to /tenants/{id} after creating the tenant",
    )
    heading = driver.find_element(By.TAG_NAME, "h1").text
    expect("Browser Co" in heading, f"the tenant page's <h1> is {heading!r}, not the tenant name")

    # Switch to it through the htmx-driven switcher.
    expect(
        driver.execute_script("return typeof window.htmx") == "object",
        "htmx is not loaded on the page (static/js/htmx.min.js)",
    )
    query = driver.find_element(By.ID, "switcher-q")
    query.clear()
    query.send_keys("Browser")

    def browser_co_result(d):
        for item in d.find_elements(By.CSS_SELECTOR, "#switcher-results .switch-result"):
            if "Browser Co" in item.text:
                return item
        return False

    clicked = False
    for _attempt in range(3):  # htmx may swap the list again between find and click
        result = wait(driver, browser_co_result, "a .switch-result containing 'Browser Co'")
        try:
            expect(
                re.search(r"/\s*Browser Co", result.text) is not None,
                f"the switch result shows no tenant path: {result.text!r}",
            )
            button(result, "Switch").click()
            clicked = True
            break
        except StaleElementReferenceException:
            continue
    expect(clicked, "the Switch button kept going stale")
    wait_path(driver, "/dashboard")
    wait(
        driver,
        lambda d: d.find_element(By.ID, "acting-tenant").text.strip() == "Browser Co",
        "#acting-tenant to read 'Browser Co'",
    )

    # Log out.
    driver.find_element(
        By.XPATH, "//form[contains(@action, '/logout')]//button[normalize-space(.)='Log out']"
    ).click()
    wait_path(driver, "/login")
    driver.get(base + "/dashboard")
    wait_path(driver, "/login")
    expect(
        bool(driver.find_elements(By.NAME, "password")),
        "/dashboard after logout did not show the login form",
    )


def test_wrong_password_is_rejected(driver: "WebDriver", base: str) -> None:
    login(driver, base, ADMIN_USERNAME, "not-the-password")
    wait(
        driver,
        lambda d: "Invalid username or password" in body_text(d),
        "the text 'Invalid username or password'",
    )
    expect(path_of(driver) == "/login", f"expected to stay on /login, at {driver.current_url}")
    expect(
        bool(driver.find_elements(By.NAME, "password")),
        "the login form is not shown again after a wrong password",
    )


def create_tenant_via_form(driver: "WebDriver", base: str, parent_id: str, name: str, subdomain: str, subs: bool) -> str:
    """Creates a tenant through /tenants/new and returns its id."""
    driver.get(f"{base}/tenants/new?parent_id={parent_id}")
    fill(driver, "name", name)
    fill(driver, "subdomain", subdomain)
    box = field(driver, "can_have_subtenants")
    if box.is_selected() != subs:
        box.click()
    button(driver, "Create tenant").click()
    wait(
        driver,
        lambda d: re.fullmatch(r"/tenants/\d+", path_of(d)),
        f"a redirect to the new tenant {name}",
    )
    return path_of(driver).rsplit("/", 1)[1]


def logout(driver: "WebDriver") -> None:
    button(driver, "Log out").click()
    wait_path(driver, "/login")


def test_owner_grants_subtree_admin_who_sees_exactly_the_subtree(driver: "WebDriver", base: str) -> None:
    login(driver, base, ADMIN_USERNAME, ADMIN_PASSWORD)
    wait_path(driver, "/dashboard")
    root_id = driver.find_element(By.ID, "acting-tenant").get_attribute("href").rsplit("/", 1)[1]
    partner = create_tenant_via_form(driver, base, root_id, "Grant Partner", "grant-partner", True)
    customer = create_tenant_via_form(driver, base, partner, "Grant Customer", "grant-customer", True)
    create_tenant_via_form(driver, base, customer, "Customer Site", "customer-site", False)
    sibling = create_tenant_via_form(driver, base, partner, "Sibling Customer", "sibling-customer", False)

    # A user of the sub-tenant, created through the Users page with a template role.
    driver.get(f"{base}/tenants/{customer}/users/new")
    fill(driver, "username", "bob")
    fill(driver, "email", "bob@customer.example")
    fill(driver, "first_name", "Bob")
    fill(driver, "last_name", "Keller")
    fill(driver, "password", "bob-password-123")
    Select(field(driver, "role_id")).select_by_visible_text("Read only")
    driver.find_element(By.CSS_SELECTOR, "main form[method=post] button[type=submit]").click()
    wait(driver, lambda d: "/users" in path_of(d) and "/new" not in path_of(d), "the user to be created")

    # The Owner (admin) grants Administrator with sub-tenant scope on the customer.
    driver.get(f"{base}/tenants/{customer}/access")
    select = Select(field(driver, "user_id"))
    option = next((o for o in select.options if "grant-customer\\bob" in o.text), None)
    expect(option is not None, f"bob is not offered in the grant form: {[o.text for o in select.options]}")
    select.select_by_visible_text(option.text)
    Select(field(driver, "role")).select_by_value("administrator")
    Select(field(driver, "scope")).select_by_value("subtree")
    button(driver, "Give grant").click()
    wait(driver, lambda d: "bob" in body_text(d) and "Administrator" in body_text(d), "the new grant in the list")
    logout(driver)

    # Bob logs in as subdomain\\username and sees exactly the customer's subtree.
    login(driver, base, "grant-customer\\bob", "bob-password-123")
    wait_path(driver, "/dashboard")
    driver.get(base + "/tenants")
    text = body_text(driver)
    expect("Customer Site" in text, f"bob does not see the customer's sub-tenant: {text[:400]!r}")
    expect("Sibling Customer" not in text, "bob sees the sibling customer in the list")
    driver.get(f"{base}/tenants/{sibling}")
    expect("Not found" in body_text(driver), "bob can open the sibling tenant's page")
    driver.get(f"{base}/tenants/{partner}")
    expect("Not found" in body_text(driver), "bob can open the partner above his grant")
    driver.get(base + "/dashboard")
    logout(driver)


def wait_for_mail(to: str) -> dict:
    """The first mail to `to` that the SMTP sink received (waits for it)."""
    deadline = time.monotonic() + WAIT_SECONDS * 3
    while time.monotonic() < deadline:
        try:
            lines = MAIL_FILE.read_text(encoding="utf-8").splitlines(keepends=True)
        except OSError:
            lines = []
        for line in lines:
            if line.endswith("\n"):
                mail = json.loads(line)
                if to in mail["to"]:
                    return mail
        time.sleep(0.1)
    raise Check(f"no mail to {to} reached the SMTP sink within {WAIT_SECONDS * 3:.0f}s")


def test_invitation_by_email_lands_the_invitee_in_the_tenant(driver: "WebDriver", base: str) -> None:
    login(driver, base, ADMIN_USERNAME, ADMIN_PASSWORD)
    wait_path(driver, "/dashboard")
    root_id = driver.find_element(By.ID, "acting-tenant").get_attribute("href").rsplit("/", 1)[1]
    tenant = create_tenant_via_form(driver, base, root_id, "Invite Co", "invite-co", True)
    create_tenant_via_form(driver, base, tenant, "Invite Branch", "invite-branch", False)
    create_tenant_via_form(driver, base, root_id, "Not Invited", "not-invited", False)

    # From the Access page, open the invite form and invite with a grant.
    driver.get(f"{base}/tenants/{tenant}/access")
    driver.find_element(By.ID, "invite-link").click()
    # With JavaScript the form opens in a dialog (htmx); the link alone leads to the page.
    wait(
        driver,
        lambda d: d.find_elements(By.CSS_SELECTOR, "dialog#dialog[open] input[name=email]"),
        "the invite form to open in a dialog",
    )
    email = f"newcomer-{secrets.token_hex(4)}@example.com"
    dialog = driver.find_element(By.ID, "dialog")
    dialog.find_element(By.NAME, "email").send_keys(email)
    dialog.find_element(By.ID, "kind-grant").click()
    Select(dialog.find_element(By.NAME, "role")).select_by_value("administrator")
    Select(dialog.find_element(By.NAME, "scope")).select_by_value("subtree")
    button(dialog, "Send invitation").click()
    wait_path(driver, f"/tenants/{tenant}/invitations")
    expect(email in body_text(driver), "the new invitation is not in the list")

    # The mail arrives at the real SMTP server with a link to this console.
    mail = wait_for_mail(email)
    expect("Invite Co" in mail["subject"], f"unexpected subject {mail['subject']!r}")
    found = re.search(re.escape(base) + r"/invitations/[A-Za-z0-9_-]{43}", mail["body"])
    expect(found is not None, f"no invitation link starting with {base} in the mail:\n{mail['body']}")
    link = found.group(0)
    wait(
        driver,
        lambda d: (d.refresh() or True) and "sent" in d.find_element(By.ID, "invitations").text,
        "the list to show the mail as sent",
    )
    logout(driver)

    # The invitee opens the link, sees who invited them where, and creates the account.
    driver.get(link)
    summary = driver.find_element(By.ID, "invitation-summary").text
    expect("Invite Co" in summary and "Administrator" in summary, f"the page says {summary!r}")
    expect(ADMIN_USERNAME in summary, f"the page does not name the inviter: {summary!r}")
    fill(driver, "username", "newcomer")
    fill(driver, "password", "newcomer-pass-123")
    button(driver, "Create account").click()
    wait_path(driver, "/dashboard")
    wait(
        driver,
        lambda d: d.find_element(By.ID, "acting-tenant").text.strip() == "Invite Co",
        "#acting-tenant to read 'Invite Co'",
    )

    # The invited rights: Administrator of the tenant and its sub-tenants, nothing else.
    driver.get(base + "/tenants")
    text = body_text(driver)
    expect("Invite Branch" in text, f"the newcomer does not see the sub-tenant: {text[:400]!r}")
    expect("Not Invited" not in text, "the newcomer sees a tenant outside the invitation")
    driver.get(f"{base}/tenants/{tenant}/access")
    expect(
        bool(driver.find_elements(By.XPATH, "//button[normalize-space(.)='Give grant']")),
        "the newcomer (Administrator) cannot give grants on the tenant",
    )
    logout(driver)

    # The link worked once.
    driver.get(link)
    expect("already been accepted" in body_text(driver), "the link still works after use")
    login(driver, base, "invite-co\\newcomer", "newcomer-pass-123")
    wait_path(driver, "/dashboard")
    logout(driver)


TESTS: list[Callable[["WebDriver", str], None]] = [
    test_login_create_subtenant_switch_logout,
    test_wrong_password_is_rejected,
    test_owner_grants_subtree_admin_who_sees_exactly_the_subtree,
    test_invitation_by_email_lands_the_invitee_in_the_tenant,
]


# --------------------------------------------------------------------------- #
# Runner
# --------------------------------------------------------------------------- #


def run_tests(driver: "WebDriver", server: Server) -> tuple[int, int]:
    passed = failed = 0
    for test in TESTS:
        name = test.__name__
        try:
            driver.get(server.base_url + "/login")
            driver.delete_all_cookies()  # every test starts logged out
            test(driver, server.base_url)
        except Exception as exc:  # noqa: BLE001
            failed += 1
            if isinstance(exc, (Check, TimeoutException)):
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                reason = reason.removeprefix("Message: ")
            else:
                reason = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
            print(f"FAIL {name}: {reason}", flush=True)
            print(f"  at {driver.current_url}")
            if not isinstance(exc, (Check, TimeoutException)):
                traceback.print_exc()
            for path in save_artifacts(driver, name):
                print(f"  saved {path.relative_to(REPO)}")
        else:
            passed += 1
            print(f"PASS {name}", flush=True)
    return passed, failed


def main() -> int:
    def on_sigterm(_signum, _frame):
        raise SystemExit(143)  # unwinds through the finally blocks below

    signal.signal(signal.SIGTERM, on_sigterm)

    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    server = Server()
    driver = None
    profile_dir = tempfile.mkdtemp(prefix="tenantry-chromium-")
    passed = failed = 0
    try:
        try:
            driver = start_browser(profile_dir)
            server.start()
        except SetupError as exc:
            print(f"FAIL setup: {exc}", flush=True)
            failed = len(TESTS)
        except Exception as exc:  # noqa: BLE001  (e.g. the driver cannot start the browser)
            print(f"FAIL setup: {type(exc).__name__}: {exc}", flush=True)
            traceback.print_exc()
            failed = len(TESTS)
        else:
            passed, failed = run_tests(driver, server)
        if failed and SERVER_LOG.exists():
            print(f"server log: {SERVER_LOG.relative_to(REPO)} (last lines below)")
            print(tail(SERVER_LOG, 30))
    finally:
        if driver is not None:
            try:
                driver.quit()
            except Exception as exc:  # noqa: BLE001
                print(f"warning: driver.quit() failed: {exc}")
        server.stop()
        shutil.rmtree(profile_dir, ignore_errors=True)

    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
