"""Shared pieces of the browser tests: the server under test, the browser, waits and
the small steps several tests take (log in, fill a form, read a mail). run.py and every
suite_*.py module import from here."""

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
        WebDriverException,
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


# The running server's database, for tests that must set up a state no page
# reaches quickly (a migration caught halfway); set by Server.start.
_SERVER_DB: dict[str, str] = {}


def server_sql(sql: str) -> str:
    """Runs `sql` on the running server's database; its first value (unaligned)."""
    proc = subprocess.run(
        ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", _SERVER_DB["url"], "-c", sql],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if proc.returncode != 0:
        raise AssertionError(f"psql failed ({sql!r}): {proc.stderr.strip()}")
    lines = proc.stdout.strip().splitlines()
    return lines[0] if lines else ""


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
    # `make test` has just run `cargo test --features failpoints`, so with the same
    # features this is normally a no-op (the failpoints stay inert without
    # FAILPOINTS); it also guarantees the browser never tests a stale binary.
    print("building target/debug/tenantry (cargo build --bin tenantry --features failpoints)", flush=True)
    proc = subprocess.run(
        ["cargo", "build", "--quiet", "--bin", "tenantry", "--features", "failpoints"],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        timeout=3600,
    )
    if proc.returncode != 0 or not path.exists():
        raise SetupError(f"cargo build --bin tenantry --features failpoints failed (exit {proc.returncode})")
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
        _SERVER_DB["url"] = self.db_url
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


def _retried_while_replaced(condition: Callable) -> Callable:
    """The condition, asked again when the page was replaced while it read an element:
    chromedriver then says "Node with given id does not belong to the document" (a
    stale element by another name) instead of raising StaleElementReferenceException."""

    def check(d):
        try:
            return condition(d)
        except WebDriverException as e:
            if "does not belong to the document" in str(e):
                return False
            raise

    return check


def wait(driver: "WebDriver", condition: Callable, what: str):
    return WebDriverWait(
        driver,
        WAIT_SECONDS,
        poll_frequency=0.1,
        ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
    ).until(
        _retried_while_replaced(condition),
        message=f"timed out after {WAIT_SECONDS:.0f}s waiting for {what}",
    )


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
    try:
        return driver.find_element(By.TAG_NAME, "body").text
    except WebDriverException as exc:
        # Read while a navigation replaces the document: chromedriver says so in its
        # own words; it is a stale element, which waits poll past.
        if "does not belong to the document" in str(exc):
            raise StaleElementReferenceException(str(exc)) from exc
        raise


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
# Steps several tests take
# --------------------------------------------------------------------------- #


def create_tenant_via_form(
    driver: "WebDriver",
    base: str,
    parent_id: str,
    name: str,
    subdomain: str,
    subs: bool,
    tenant_role: str | None = None,
) -> str:
    """Creates a tenant through /tenants/new and returns its id."""
    driver.get(f"{base}/tenants/new?parent_id={parent_id}")
    fill(driver, "name", name)
    fill(driver, "subdomain", subdomain)
    if tenant_role is not None:
        Select(field(driver, "tenant_role_id")).select_by_visible_text(tenant_role)
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


def click_in_results(driver: "WebDriver", results_css: str, name: str, label: str) -> None:
    """Clicks `label` in the .switch-result under `results_css` whose name is `name`
    (htmx may swap the list again between finding and clicking)."""

    def result(d):
        for item in d.find_elements(By.CSS_SELECTOR, f"{results_css} .switch-result"):
            if item.find_element(By.CSS_SELECTOR, ".name").text.strip() == name:
                return item
        return False

    for _attempt in range(3):
        item = wait(driver, result, f"a result named {name!r} in {results_css}")
        try:
            button(item, label).click()
            return
        except StaleElementReferenceException:
            continue
    raise Check(f"the {label!r} button of {name!r} kept going stale")


def settle(driver: "WebDriver", quiet: float = 0.5) -> None:
    """Waits until htmx has had no request in flight for `quiet` seconds: longer than
    the pickers' search delay (200 ms), so a search typed before now has been sent and
    answered, or dropped, by then."""
    calm_since: list[float] = []

    def calm(d: "WebDriver") -> bool:
        if d.execute_script("return document.querySelector('.htmx-request') !== null"):
            calm_since.clear()
            return False
        if not calm_since:
            calm_since.append(time.monotonic())
        return time.monotonic() - calm_since[0] >= quiet

    WebDriverWait(driver, WAIT_SECONDS, poll_frequency=0.05).until(
        calm, message=f"timed out after {WAIT_SECONDS:.0f}s waiting for htmx to settle"
    )


def pick_user(driver: "WebDriver", picker_id: str, text: str, login: str) -> None:
    """Types `text` into the user picker `picker_id` and picks the match `login`
    (htmx may swap the results again between finding and clicking)."""
    box = driver.find_element(By.ID, picker_id)
    box.clear()
    box.send_keys(text)
    xpath = f"//div[@id='{picker_id}-results']//button[@data-pick-text='{login}']"
    for _attempt in range(3):
        pick = wait(
            driver,
            lambda d: d.find_element(By.XPATH, xpath),
            f"{login!r} among the matches for {text!r} in #{picker_id}",
        )
        try:
            pick.click()
            break
        except StaleElementReferenceException:
            continue
    else:
        raise Check(f"the match {login!r} in #{picker_id} kept going stale")
    expect(
        box.get_attribute("value") == login,
        f"picking left {box.get_attribute('value')!r} in #{picker_id}, not {login!r}",
    )

