#!/usr/bin/env python3
"""Browser tests for tenantry: a real headless Chromium driving a real server.

Run through `make test` (or `.venv/bin/python tests/browser/run.py [name-substring …]` after
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

import importlib
import shutil
import signal
import sys
import tempfile
import traceback

from harness import *  # noqa: F403  (the test vocabulary: login, fill, wait, expect, …)

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
    tenant_page = path_of(driver)

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
    # Switching from a tenant page keeps the kind of page: the target's tenant page.
    wait_path(driver, tenant_page)
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
    pick_user(driver, "grant-user", "bob", "grant-customer\\bob")
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


def test_move_by_picker_then_safe_delete_refused_and_force_delete(driver: "WebDriver", base: str) -> None:
    """The root admin moves a tenant with its sub-tenant, user and grants: the
    search-as-you-type picker never offers the tenant, its sub-tenant or its current
    parent, the preview counts what moves and names the tenant-role change, and the
    subtree lands under the new parent. A safe delete of it (from a page opened before
    it had a sub-tenant) is refused with the blockers listed; the force delete wants
    the subdomain typed exactly and then removes the tenant and its sub-tenant."""
    login(driver, base, ADMIN_USERNAME, ADMIN_PASSWORD)
    wait_path(driver, "/dashboard")
    root_id = driver.find_element(By.ID, "acting-tenant").get_attribute("href").rsplit("/", 1)[1]

    # A second tenant role, so that the move changes the parent's cap.
    driver.get(base + "/tenant-roles/new")
    fill(driver, "name", "Orchard Reseller")
    driver.find_element(
        By.XPATH, "//input[@name='perm_tenants' and @value='full']/ancestor::label"
    ).click()
    button(driver, "Save role").click()
    wait_path(driver, "/tenant-roles")
    expect("Orchard Reseller" in body_text(driver), "the new tenant role is not listed")

    old = create_tenant_via_form(driver, base, root_id, "Orchard Old Parent", "orchard-old", True)
    dest = create_tenant_via_form(
        driver, base, root_id, "Orchard New Home", "orchard-new", True, "Orchard Reseller"
    )
    mover = create_tenant_via_form(driver, base, old, "Orchard Mover", "orchard-mover", True)

    # A second tab opens the delete page while the tenant is still empty: safe delete offered.
    main_window = driver.current_window_handle
    driver.switch_to.new_window("tab")
    stale_tab = driver.current_window_handle
    try:
        driver.get(f"{base}/tenants/{mover}/delete")
        expect(
            bool(driver.find_elements(By.XPATH, "//main//button[normalize-space(.)='Delete tenant']"))
            and not driver.find_elements(By.ID, "blockers"),
            "the delete page of an empty tenant does not offer the safe delete",
        )
        driver.switch_to.window(main_window)

        # The sub-tenant (it may have sub-tenants itself, so only the tree rule keeps it
        # out of the picker), a user and two grants.
        branch = create_tenant_via_form(
            driver, base, mover, "Orchard Mover Branch", "orchard-mover-branch", True
        )
        driver.get(f"{base}/tenants/{mover}/users/new")
        fill(driver, "username", "carol")
        fill(driver, "email", "carol@orchard.example")
        fill(driver, "password", "carol-password-123")
        Select(field(driver, "role_id")).select_by_visible_text("Read only")
        button(driver, "Create user").click()
        wait(driver, lambda d: re.fullmatch(rf"/tenants/{mover}/users/\d+", path_of(d)), "carol to be created")
        for tenant_id, scope in ((old, "subtree"), (branch, "tenant")):
            driver.get(f"{base}/tenants/{tenant_id}/access")
            pick_user(driver, "grant-user", "carol", "orchard-mover\\carol")
            Select(field(driver, "role")).select_by_value("viewer")
            Select(field(driver, "scope")).select_by_value(scope)
            button(driver, "Give grant").click()
            wait(
                driver,
                lambda d: "now holds" in d.find_element(By.CSS_SELECTOR, "main .flash").text,
                f"the {scope} grant for carol to be given",
            )

        # The Move page, from the tenant's page.
        driver.get(f"{base}/tenants/{mover}")
        driver.find_element(By.XPATH, f"//main//a[@href='/tenants/{mover}/move']").click()
        wait_path(driver, f"/tenants/{mover}/move")
        query = driver.find_element(By.ID, "move-q")

        # Searching for the tenant itself matches it and its sub-tenant by name: neither is offered.
        query.send_keys("orchard mover")
        wait(
            driver,
            lambda d: "“orchard mover”"
            in d.find_element(By.CSS_SELECTOR, "#move-results .empty").text,
            "the picker to answer 'orchard mover' with no destination",
        )
        expect(
            not driver.find_elements(By.CSS_SELECTOR, "#move-results .switch-result"),
            "the picker offers a destination for 'orchard mover'",
        )

        # Part of the destination's name: of the four Orchard tenants only it is offered
        # (not the current parent, the tenant or its sub-tenant). A shorter, earlier
        # query answers a superset, so waiting for exactly this list is safe.
        query.clear()
        query.send_keys("orchard")

        def offered(d):
            return [
                e.text.strip()
                for e in d.find_elements(By.CSS_SELECTOR, "#move-results .switch-result .name")
            ]

        try:
            wait(driver, lambda d: offered(d) == ["Orchard New Home"], "the picker to offer Orchard New Home alone")
        except TimeoutException:
            raise Check(f"the picker offers {offered(driver)} for 'orchard', not just Orchard New Home") from None
        click_in_results(driver, "#move-results", "Orchard New Home", "Preview")

        # The preview: what moves, which inherited grants stop or start reaching it, the cap.
        impact = wait(driver, lambda d: d.find_element(By.ID, "impact"), "the move preview")
        expect(
            "Moving Orchard Mover under Orchard New Home" in impact.text,
            f"the preview does not name the move: {impact.text[:200]!r}",
        )

        def impact_value(what: str) -> str:
            return driver.find_element(By.ID, f"impact-{what}").text.strip()

        for what, expected in (("tenants", "2"), ("users", "1"), ("grants", "1")):
            expect(
                impact_value(what) == expected,
                f"the preview counts {impact_value(what)!r} {what}, expected {expected}",
            )
        expect(
            impact_value("grants-lost").startswith("1 "),
            f"inherited grants that stop reaching it: {impact_value('grants-lost')!r}, expected 1",
        )
        expect(
            impact_value("grants-gained").startswith("0 "),
            f"inherited grants that start reaching it: {impact_value('grants-gained')!r}, expected 0",
        )
        role_text = impact_value("role")
        expect(
            "Orchard Reseller" in role_text and "Full access" in role_text,
            f"the preview does not show the tenant-role change: {role_text!r}",
        )

        # Confirm: the tenant and its sub-tenant now sit under the new parent.
        button(driver, "Move under Orchard New Home").click()
        wait_path(driver, f"/tenants/{mover}")
        expect(
            "Moved Orchard Mover under Orchard New Home." in body_text(driver),
            "no confirmation after the move",
        )
        place = driver.find_element(By.CSS_SELECTOR, "main p.path").text.strip()
        expect(
            place.endswith("Orchard New Home / Orchard Mover"),
            f"the tenant's path after the move is {place!r}",
        )
        driver.get(f"{base}/tenants/{branch}")
        place = driver.find_element(By.CSS_SELECTOR, "main p.path").text.strip()
        expect(
            place.endswith("Orchard New Home / Orchard Mover / Orchard Mover Branch"),
            f"the sub-tenant did not move along: its path is {place!r}",
        )
        driver.get(f"{base}/tenants/{dest}")
        expect(
            bool(driver.find_elements(By.CSS_SELECTOR, f"main ul.tree a[href='/tenants/{mover}']")),
            "the new parent does not list the moved tenant as a sub-tenant",
        )
        driver.get(f"{base}/tenants/{old}")
        expect(
            not driver.find_elements(By.CSS_SELECTOR, f"main a[href='/tenants/{mover}']"),
            "the old parent still lists the moved tenant",
        )

        # The safe delete from the page opened earlier is refused, with what blocks it.
        driver.switch_to.window(stale_tab)
        button(driver, "Delete tenant").click()
        blockers = wait(driver, lambda d: d.find_element(By.ID, "blockers"), "the list of blockers")
        kinds = {
            li.get_attribute("data-kind"): li.text.strip()
            for li in blockers.find_elements(By.CSS_SELECTOR, "li[data-kind]")
        }
        expect(
            kinds.get("subtenants") == "1 sub-tenant below it." and "users" in kinds,
            f"the blockers listed are {kinds}",
        )
        expect(
            not driver.find_elements(By.XPATH, "//main//button[normalize-space(.)='Delete tenant']"),
            "the refused delete page still offers the safe delete",
        )
        driver.close()
        driver.switch_to.window(main_window)
    finally:
        if stale_tab in driver.window_handles:
            driver.switch_to.window(stale_tab)
            driver.close()
        driver.switch_to.window(main_window)

    # Force delete, from the tenant's page: the confirmation must be the exact subdomain.
    driver.get(f"{base}/tenants/{mover}")
    expect(
        "Orchard Mover" in driver.find_element(By.TAG_NAME, "h1").text,
        "the tenant is gone after the refused safe delete",
    )
    driver.find_element(By.XPATH, f"//main//a[@href='/tenants/{mover}/delete']").click()
    wait_path(driver, f"/tenants/{mover}/delete")
    expect(bool(driver.find_elements(By.ID, "blockers")), "the delete page lists no blockers")
    expect(
        not driver.find_elements(By.XPATH, "//main//button[normalize-space(.)='Delete tenant']"),
        "the delete page offers a safe delete despite the blockers",
    )
    fill(driver, "confirm", "orchard-move")
    button(driver, "Force delete").click()
    wait(
        driver,
        lambda d: "orchard-mover" in d.find_element(By.ID, "confirm-error").text,
        "the error asking for the exact subdomain",
    )
    fill(driver, "confirm", "orchard-mover")
    button(driver, "Force delete").click()
    wait_path(driver, f"/tenants/{dest}")
    expect(
        "Deleted Orchard Mover and 1 sub-tenant below it." in body_text(driver),
        "no confirmation after the force delete",
    )
    expect(
        not driver.find_elements(By.CSS_SELECTOR, f"main a[href='/tenants/{mover}']"),
        "the parent still lists the deleted tenant",
    )
    for gone, name in ((mover, "the deleted tenant"), (branch, "its sub-tenant")):
        driver.get(f"{base}/tenants/{gone}")
        expect(
            driver.find_element(By.TAG_NAME, "h1").text.strip() == "Not found",
            f"the page of {name} does not answer Not found",
        )
    driver.get(base + "/tenants?q=orchard")
    text = driver.find_element(By.ID, "main").text
    expect("Orchard New Home" in text, f"the filtered list misses Orchard New Home: {text[:400]!r}")
    expect("Orchard Mover" not in text, "the tenants list still shows the deleted tenants")
    logout(driver)


TESTS: list[Callable[["WebDriver", str], None]] = [
    test_login_create_subtenant_switch_logout,
    test_wrong_password_is_rejected,
    test_owner_grants_subtree_admin_who_sees_exactly_the_subtree,
    test_invitation_by_email_lands_the_invitee_in_the_tenant,
    test_move_by_picker_then_safe_delete_refused_and_force_delete,
]

# Each area's tests live in tests/browser/suite_<area>.py with a TESTS list of their own;
# they run after the ones above, in file-name order.
for _suite in sorted(Path(__file__).parent.glob("suite_*.py")):
    TESTS.extend(importlib.import_module(_suite.stem).TESTS)


# --------------------------------------------------------------------------- #
# Runner
# --------------------------------------------------------------------------- #


def selected() -> list[Callable[["WebDriver", str], None]]:
    """The tests whose names contain one of the command line's arguments (all without any)."""
    wanted = sys.argv[1:]
    return [t for t in TESTS if not wanted or any(w in t.__name__ for w in wanted)]


def run_tests(driver: "WebDriver", server: Server) -> tuple[int, int]:
    passed = failed = 0
    for test in selected():
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
            failed = len(selected())
        except Exception as exc:  # noqa: BLE001  (e.g. the driver cannot start the browser)
            print(f"FAIL setup: {type(exc).__name__}: {exc}", flush=True)
            traceback.print_exc()
            failed = len(selected())
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
