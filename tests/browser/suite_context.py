"""Browser tests of "where am I" (issue #11, items 1 and 6) and the accessibility check.

* the banner when acting in another tenant, its "Return to" button, the breadcrumb of
  the tenant a page is about, and switching that keeps the kind of page;
* the switcher by keyboard (arrow keys, Enter), its "N of M shown", the skip link;
* tree nodes that collapse again;
* axe-core on the pages in AXE_PAGES: no violation of impact "serious" or "critical".
"""

from __future__ import annotations

from harness import *  # noqa: F403

from selenium.webdriver.common.keys import Keys

# axe-core, installed by scripts/ensure-test-tools.sh (npm, version pinned there).
AXE_JS = REPO / "target" / "axe" / "node_modules" / "axe-core" / "axe.min.js"

# The pages axe checks: (name, path, logged in). In paths, "{root}" is the root
# tenant's id and "{child}" a sub-tenant's; SWITCHED is the dashboard while acting in
# that sub-tenant (the banner). Add a page here to have it checked.
SWITCHED = "/dashboard (acting in a sub-tenant)"
# The page that asks before disabling the sub-tenant, as a browser without JavaScript
# gets it (the form's POST answered with the question).
CONFIRM = "/tenants/{child}/disable (the confirmation page)"
AXE_PAGES: list[tuple[str, str, bool]] = [
    ("login", "/login", False),
    ("dashboard", "/dashboard", True),
    ("tenants list", "/tenants", True),
    ("tree", "/tenants/tree", True),
    ("tenant page", "/tenants/{root}", True),
    ("users", "/tenants/{root}/users", True),
    ("access", "/tenants/{root}/access", True),
    ("invitations", "/tenants/{root}/invitations", True),
    ("tenant page of a sub-tenant", "/tenants/{child}", True),
    ("activity", "/tenants/{root}/activity", True),
    ("people search", "/users?q=adm", True),
    ("confirmation page", CONFIRM, True),
    ("switched dashboard", SWITCHED, True),
]

# Impacts that fail the check.
AXE_FAILING = ("serious", "critical")


def root_id(driver: "WebDriver") -> str:
    """The root tenant's id, read from the acting-tenant link of an unswitched admin."""
    href = driver.find_element(By.ID, "acting-tenant").get_attribute("href")
    return href.rstrip("/").rsplit("/", 1)[1]


def switcher_search(driver: "WebDriver", text: str) -> "WebElement":
    query = driver.find_element(By.ID, "switcher-q")
    query.clear()
    query.send_keys(text)
    return query


def wait_listbox(driver: "WebDriver", count: int) -> list:
    """The switcher's options once htmx has shown `count` of them."""
    return wait(
        driver,
        lambda d: (
            opts := d.find_elements(By.CSS_SELECTOR, "#switcher-results [role=option]")
        )
        and len(opts) == count
        and opts,
        f"{count} options in the switcher's listbox",
    )


def test_banner_breadcrumb_and_switching_keep_the_page(driver: "WebDriver", base: str) -> None:
    login(driver, base, ADMIN_USERNAME, ADMIN_PASSWORD)
    wait_path(driver, "/dashboard")
    root = root_id(driver)
    alpha = create_tenant_via_form(driver, base, root, "Ctx Alpha", "ctx-alpha", True)
    beta = create_tenant_via_form(driver, base, root, "Ctx Beta", "ctx-beta", False)
    gamma = create_tenant_via_form(driver, base, alpha, "Ctx Gamma", "ctx-gamma", False)

    # Not switched: no banner. A page about gamma shows gamma's path.
    driver.get(f"{base}/tenants/{gamma}/users")
    expect(not driver.find_elements(By.ID, "context-banner"), "a banner while at home")
    crumbs = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "nav#breadcrumb a")]
    expect(crumbs == ["Root", "Ctx Alpha", "Ctx Gamma"], f"breadcrumb {crumbs}")

    # Users of alpha → switch to beta with the keyboard → Users of beta.
    driver.get(f"{base}/tenants/{alpha}/users")
    query = switcher_search(driver, "Ctx Beta")
    wait_listbox(driver, 1)
    query.send_keys(Keys.ARROW_DOWN)
    query.send_keys(Keys.ENTER)
    wait_path(driver, f"/tenants/{beta}/users")
    banner = wait(driver, lambda d: d.find_element(By.ID, "context-banner"), "the banner")
    expect("Acting in Ctx Beta (as Owner)" in banner.text, f"banner reads {banner.text!r}")
    scope = driver.find_element(By.ID, "nav-scope").text
    expect(scope == "In Ctx Beta:", f"the navigation says {scope!r}")

    # A page about another tenant than the acting one: its own breadcrumb.
    driver.get(f"{base}/tenants/{gamma}")
    crumbs = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "nav#breadcrumb a")]
    expect(crumbs == ["Root", "Ctx Alpha", "Ctx Gamma"], f"breadcrumb {crumbs} while in beta")
    expect(driver.find_element(By.ID, "context-banner").is_displayed(), "banner on every page")

    # Return home from the Roles page: the Roles page of home.
    driver.get(f"{base}/tenants/{beta}/roles")
    button(driver.find_element(By.ID, "context-banner"), "Return to Root").click()
    wait_path(driver, f"/tenants/{root}/roles")
    expect(not driver.find_elements(By.ID, "context-banner"), "the banner after returning")
    logout(driver)


def test_switcher_keyboard_count_and_skip_link(driver: "WebDriver", base: str) -> None:
    login(driver, base, ADMIN_USERNAME, ADMIN_PASSWORD)
    wait_path(driver, "/dashboard")
    root = root_id(driver)
    for i in range(21):
        create_tenant_via_form(driver, base, root, f"Kb Tenant {i:02}", f"kb-tenant-{i:02}", False)
    driver.get(base + "/dashboard")

    # The skip link is the first thing Tab reaches, and it leads to the content.
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    first = driver.switch_to.active_element
    expect(first.text == "Skip to content", f"the first focusable element is {first.text!r}")
    expect(first.get_attribute("href").endswith("#main"), "the skip link does not lead to #main")
    # Following it moves the focus into the content (the next Tab starts there).
    first.send_keys(Keys.ENTER)
    wait(
        driver,
        lambda d: d.switch_to.active_element.get_attribute("id") == "main",
        "the focus on <main> after following the skip link",
    )

    query = switcher_search(driver, "Kb Tenant")
    options = wait_listbox(driver, 20)
    count = driver.find_element(By.ID, "switch-count").text
    expect(count.startswith("20 of 21 shown"), f"the switcher says {count!r}")
    expect(query.get_attribute("aria-expanded") == "true", "the combobox is not expanded")

    # Down, down, up: the first option; the input keeps focus and names the choice.
    for key in (Keys.ARROW_DOWN, Keys.ARROW_DOWN, Keys.ARROW_UP):
        query.send_keys(key)
    active = query.get_attribute("aria-activedescendant")
    expect(active == options[0].get_attribute("id"), f"active option {active!r}")
    expect(options[0].get_attribute("aria-selected") == "true", "the first option is not selected")
    expect(options[1].get_attribute("aria-selected") == "false", "two options selected")
    expect(driver.switch_to.active_element == query, "focus left the search box")
    # Up from the first wraps to the last.
    query.send_keys(Keys.ARROW_UP)
    expect(
        query.get_attribute("aria-activedescendant") == options[-1].get_attribute("id"),
        "ArrowUp on the first option does not wrap to the last",
    )
    query.send_keys(Keys.ARROW_DOWN)
    query.send_keys(Keys.ENTER)
    wait_path(driver, "/dashboard")
    wait(
        driver,
        lambda d: d.find_element(By.ID, "acting-tenant").text.strip() == "Kb Tenant 00",
        "acting in the first result, Kb Tenant 00",
    )
    logout(driver)


def test_tree_nodes_collapse(driver: "WebDriver", base: str) -> None:
    login(driver, base, ADMIN_USERNAME, ADMIN_PASSWORD)
    wait_path(driver, "/dashboard")
    root = root_id(driver)
    parent = create_tenant_via_form(driver, base, root, "Tree Parent", "tree-parent", True)
    create_tenant_via_form(driver, base, parent, "Tree Leaf", "tree-leaf", False)
    driver.get(base + "/tenants/tree")
    toggle = driver.find_element(By.ID, f"toggle-{parent}")
    expect(toggle.get_attribute("aria-expanded") == "false", "collapsed at first")
    toggle.click()
    wait(
        driver,
        lambda d: "Tree Leaf" in d.find_element(By.ID, f"children-{parent}").text,
        "the children of Tree Parent",
    )
    wait(
        driver,
        lambda d: d.find_element(By.ID, f"toggle-{parent}").get_attribute("aria-expanded") == "true",
        "the toggle to say expanded",
    )
    expect(
        toggle.get_attribute("aria-label") == "Collapse Tree Parent",
        f"the toggle is labelled {toggle.get_attribute('aria-label')!r}",
    )
    toggle.click()
    wait(
        driver,
        lambda d: d.find_element(By.ID, f"children-{parent}").text.strip() == "",
        "the children to be hidden again",
    )
    expect(path_of(driver) == "/tenants/tree", "collapsing left the page")
    expect(toggle.get_attribute("aria-expanded") == "false", "the toggle still says expanded")
    # And open again.
    toggle.click()
    wait(
        driver,
        lambda d: "Tree Leaf" in d.find_element(By.ID, f"children-{parent}").text,
        "the children shown again",
    )
    logout(driver)


def test_invite_dialog_preselects_a_user_and_keeps_its_errors(driver: "WebDriver", base: str) -> None:
    login(driver, base, ADMIN_USERNAME, ADMIN_PASSWORD)
    wait_path(driver, "/dashboard")
    root = root_id(driver)
    users = f"/tenants/{root}/users"
    driver.get(base + users)
    driver.find_element(By.XPATH, "//a[normalize-space(.)='Invite…']").click()
    dialog = wait(
        driver,
        lambda d: d.find_element(By.CSS_SELECTOR, "dialog#dialog[open]"),
        "the invite dialog to open",
    )
    wait(driver, lambda d: dialog.find_element(By.ID, "kind-user"), "the invite form")
    expect(dialog.find_element(By.ID, "kind-user").is_selected(), "a user invitation is not preselected")
    expect(not dialog.find_element(By.ID, "kind-grant").is_selected(), "a grant is preselected")

    # A bad address: the dialog stays open with the error next to the field, input kept.
    email = dialog.find_element(By.ID, "email")
    email.send_keys("not-an-address")
    button(dialog, "Send invitation").click()
    wait(
        driver,
        lambda d: d.find_elements(By.CSS_SELECTOR, "dialog#dialog[open] #email-error"),
        "the email error inside the open dialog",
    )
    expect(path_of(driver) == users, f"the error left the page for {path_of(driver)}")
    kept = driver.find_element(By.CSS_SELECTOR, "dialog#dialog #email").get_attribute("value")
    expect(kept == "not-an-address", f"the address was not kept: {kept!r}")
    expect(
        driver.find_element(By.ID, "kind-user").is_selected(),
        "the choice of a user invitation was lost",
    )

    # Corrected: the invitation goes out and the page it leads to shows its message.
    email = driver.find_element(By.CSS_SELECTOR, "dialog#dialog #email")
    email.clear()
    email.send_keys("dialog-invitee@example.com")
    Select(driver.find_element(By.CSS_SELECTOR, "dialog#dialog #role_id")).select_by_index(1)
    button(driver.find_element(By.ID, "dialog"), "Send invitation").click()
    wait_path(driver, f"/tenants/{root}/invitations")
    wait(
        driver,
        lambda d: "Invitation to dialog-invitee@example.com queued" in body_text(d),
        "the invitation's message on the invitations page",
    )
    logout(driver)


def axe_violations(driver: "WebDriver") -> list[dict]:
    """Runs axe-core on the current page; the violations of a failing impact."""
    if not AXE_JS.exists():
        raise SetupError(f"{AXE_JS} missing; run scripts/ensure-test-tools.sh")
    driver.execute_script(AXE_JS.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        axe.run(document, {resultTypes: ["violations"]})
          .then(r => done(r.violations))
          .catch(e => done([{id: "axe-error", impact: "critical", help: String(e), nodes: []}]));
        """
    )
    return [v for v in result if v.get("impact") in AXE_FAILING]


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        targets = ", ".join(str(n.get("target")) for n in v.get("nodes", [])[:3])
        lines.append(f"{v['impact']} {v['id']}: {v.get('help')} [{targets}]")
    return "; ".join(lines)


def test_axe_finds_nothing_serious(driver: "WebDriver", base: str) -> None:
    driver.set_script_timeout(30)
    failures = []

    def check(name: str, path: str) -> None:
        found = axe_violations(driver)
        if found:
            failures.append(f"{name} ({path}): {describe(found)}")

    login(driver, base, ADMIN_USERNAME, ADMIN_PASSWORD)
    wait_path(driver, "/dashboard")
    root = root_id(driver)
    # Something to show: a sub-tenant, and acting in it for the banner.
    child = create_tenant_via_form(driver, base, root, "Axe Child", "axe-child", False)
    for name, path, logged_in in AXE_PAGES:
        if not logged_in:
            continue
        if path == CONFIRM:
            driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
            try:
                driver.get(f"{base}/tenants/{child}")
                button(driver, "Disable tenant…").click()
                wait_path(driver, f"/tenants/{child}/disable")
            finally:
                driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
        elif path == SWITCHED:
            driver.get(f"{base}/tenants/{child}")
            button(driver, "Switch to this tenant").click()
            wait(driver, lambda d: d.find_elements(By.ID, "context-banner"), "the banner")
        else:
            driver.get(base + path.format(root=root, child=child))
        check(name, path)
    logout(driver)
    for name, path, logged_in in AXE_PAGES:
        if not logged_in:
            driver.get(base + path)
            check(name, path)
    expect(not failures, " | ".join(failures))


TESTS = [
    test_banner_breadcrumb_and_switching_keep_the_page,
    test_switcher_keyboard_count_and_skip_link,
    test_tree_nodes_collapse,
    test_invite_dialog_preselects_a_user_and_keeps_its_errors,
    test_axe_finds_nothing_serious,
]
