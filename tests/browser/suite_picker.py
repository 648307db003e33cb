"""Browser tests of the grant form's user picker (issue #11, item 4): a user is named
by search as one types, with JavaScript; without it, the typed text is resolved by the
server, which offers a choice when it names several users.
"""

from __future__ import annotations

from harness import *  # noqa: F403
from selenium.webdriver.common.keys import Keys
from suite_context import axe_violations, describe


def _root_id(driver: "WebDriver") -> str:
    return driver.find_element(By.ID, "acting-tenant").get_attribute("href").rstrip("/").rsplit("/", 1)[1]


def _create_user(driver: "WebDriver", base: str, tenant_id: str, username: str) -> None:
    driver.get(f"{base}/tenants/{tenant_id}/users/new")
    fill(driver, "username", username)
    fill(driver, "email", f"{username}-{tenant_id}@picker.example")
    fill(driver, "password", f"{username}-password-123")
    Select(field(driver, "role_id")).select_by_visible_text("Read only")
    button(driver, "Create user").click()
    wait(
        driver,
        lambda d: re.fullmatch(rf"/tenants/{tenant_id}/users/\d+", path_of(d)),
        f"{username} to be created",
    )


def fill_picker(driver: "WebDriver", text: str) -> None:
    box = driver.find_element(By.ID, "grant-user")
    box.clear()
    box.send_keys(text)


def _flash(driver: "WebDriver", expected: str) -> None:
    """Waits for the success message naming `expected`: the page before the
    post may still show an earlier grant's message, so any message will not do."""

    def said(d: "WebDriver") -> bool:
        flashes = d.find_elements(By.CSS_SELECTOR, "main .flash.success")
        return any(expected in f.text for f in flashes)

    try:
        wait(driver, said, f"the message {expected!r}")
    except TimeoutException:
        shown = [f.text for f in driver.find_elements(By.CSS_SELECTOR, "main .flash.success")]
        raise AssertionError(f"the message says {shown!r}, not {expected!r}")


def _tree(driver: "WebDriver", base: str, prefix: str) -> str:
    """A parent tenant with two sub-tenants, each with a user `dana`; the parent's id."""
    parent = create_tenant_via_form(driver, base, _root_id(driver), f"{prefix} Parent", f"{prefix}-parent", True)
    for side in ("alpha", "beta"):
        child = create_tenant_via_form(
            driver, base, parent, f"{prefix} {side.title()}", f"{prefix}-{side}", False
        )
        _create_user(driver, base, child, "dana")
    return parent


def test_the_grant_form_picks_a_user_by_search(driver: "WebDriver", base: str) -> None:
    login(driver, base, ADMIN_USERNAME, ADMIN_PASSWORD)
    wait_path(driver, "/dashboard")
    parent = _tree(driver, base, "pickjs")
    driver.get(f"{base}/tenants/{parent}/access")
    expect(not driver.find_elements(By.NAME, "user_id"), "a user_id field before anything is picked")

    # Both danas match; picking one fills the input with its login and the hidden id.
    box = driver.find_element(By.ID, "grant-user")
    box.send_keys("dana")
    wait(
        driver,
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#grant-user-results [data-pick-id]")) == 2,
        "both danas among the matches",
    )
    driver.set_script_timeout(30)
    found = axe_violations(driver)
    expect(not found, f"axe on the picker's matches: {describe(found)}")
    pick_user(driver, "grant-user", "dana", "pickjs-beta\\dana")
    hidden = driver.find_element(By.CSS_SELECTOR, "#grant-user ~ input[name=user_id]")
    expect(hidden.get_attribute("value").isdigit(), f"the hidden user_id is {hidden.get_attribute('value')!r}")
    # The pick came while the search typed before it still waited out its delay:
    # once every search has had its answer (or was dropped), the matches are closed.
    settle(driver)
    expect(
        not driver.find_elements(By.CSS_SELECTOR, "#grant-user-results [data-pick-id]"),
        "the matches stay open after the pick",
    )
    # Typing again forgets the pick; picking again sets it.
    box.send_keys("x")
    expect(hidden.get_attribute("value") == "", "typing kept the earlier pick")
    pick_user(driver, "grant-user", "dana", "pickjs-beta\\dana")
    button(driver, "Give grant").click()
    _flash(driver, "pickjs-beta\\dana now holds viewer")
    row = driver.find_element(By.XPATH, "//table//a[normalize-space(.)='pickjs-beta\\dana']")
    expect(row.is_displayed(), "the new grant is not listed")


def test_the_grant_form_resolves_typed_text_without_javascript(driver: "WebDriver", base: str) -> None:
    login(driver, base, ADMIN_USERNAME, ADMIN_PASSWORD)
    wait_path(driver, "/dashboard")
    parent = _tree(driver, base, "picknojs")
    driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        # Nobody: the error on the field, the text kept.
        driver.get(f"{base}/tenants/{parent}/access")
        fill_picker(driver, "nobody-at-all")
        button(driver, "Give grant").click()
        error = wait(driver, lambda d: d.find_element(By.ID, "grant-user-error"), "the picker's error").text
        expect(
            error == "No user you can grant access to matches “nobody-at-all”.",
            f"the error says {error!r}",
        )
        box = driver.find_element(By.ID, "grant-user")
        expect(box.get_attribute("value") == "nobody-at-all", "the typed text was not kept")
        expect(box.get_attribute("aria-invalid") == "true", "the input is not marked invalid")

        # Two danas: a choice of both, then the chosen one gets the grant.
        box.clear()
        box.send_keys("dana")
        button(driver, "Give grant").click()
        wait(driver, lambda d: d.find_element(By.ID, "grant-user-choices"), "the choice of users")
        error = driver.find_element(By.ID, "grant-user-error").text
        expect(error.startswith("Several users"), f"the error says {error!r}")
        labels = [
            l.text for l in driver.find_elements(By.CSS_SELECTOR, "#grant-user-choices label")
        ]
        expect(
            any(l.startswith("picknojs-alpha\\dana") and "(picknojs Alpha)" in l for l in labels)
            and any(l.startswith("picknojs-beta\\dana") for l in labels),
            f"the choices are {labels}",
        )
        # Checked as the page is (scripts back on for axe alone).
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
        driver.set_script_timeout(30)
        found = axe_violations(driver)
        expect(not found, f"axe on the choice of users: {describe(found)}")
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
        choice = driver.find_element(
            By.XPATH, "//fieldset[@id='grant-user-choices']//label[starts-with(., 'picknojs-alpha\\dana')]"
        )
        driver.find_element(By.ID, choice.get_attribute("for")).click()
        button(driver, "Give grant").click()
        _flash(driver, "picknojs-alpha\\dana now holds viewer")

        # A whole login names one user at once.
        fill_picker(driver, "picknojs-beta\\dana")
        button(driver, "Give grant").click()
        _flash(driver, "picknojs-beta\\dana now holds viewer")
    finally:
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})


def test_the_grant_forms_picker_takes_arrow_keys_and_enter(driver: "WebDriver", base: str) -> None:
    login(driver, base, ADMIN_USERNAME, ADMIN_PASSWORD)
    wait_path(driver, "/dashboard")
    parent = _tree(driver, base, "pickkb")
    driver.get(f"{base}/tenants/{parent}/access")
    box = driver.find_element(By.ID, "grant-user")
    box.send_keys("dana")
    options = wait(
        driver,
        lambda d: (o := d.find_elements(By.CSS_SELECTOR, "#grant-user-results [role=option]"))
        and len(o) == 2 and o,
        "both danas as options of the picker's listbox",
    )
    expect(box.get_attribute("aria-expanded") == "true", "the combobox is not expanded")
    # Down, down, up: the first match; the input keeps the focus and names the choice.
    for key in (Keys.ARROW_DOWN, Keys.ARROW_DOWN, Keys.ARROW_UP):
        box.send_keys(key)
    expect(box.get_attribute("aria-activedescendant") == options[0].get_attribute("id"),
           f"the active option is {box.get_attribute('aria-activedescendant')!r}")
    expect(options[0].get_attribute("aria-selected") == "true", "the first match is not selected")
    expect(driver.switch_to.active_element == box, "the focus left the picker's input")
    # Up from the first wraps to the last; Enter picks it.
    box.send_keys(Keys.ARROW_UP)
    expect(box.get_attribute("aria-activedescendant") == options[1].get_attribute("id"),
           "ArrowUp on the first match does not wrap to the last")
    picked, picked_id = options[1].get_attribute("data-pick-text"), options[1].get_attribute("data-pick-id")
    box.send_keys(Keys.ENTER)
    wait(driver, lambda d: box.get_attribute("value") == picked, f"{picked!r} picked by Enter")
    hidden = driver.find_element(By.CSS_SELECTOR, "#grant-user ~ input[name=user_id]")
    expect(hidden.get_attribute("value") == picked_id,
           f"the hidden user_id is {hidden.get_attribute('value')!r}, not {picked_id!r}")
    expect(box.get_attribute("aria-expanded") == "false", "the listbox stays expanded after the pick")
    expect(path_of(driver) == f"/tenants/{parent}/access", "Enter sent the form instead of picking")
    button(driver, "Give grant").click()
    _flash(driver, f"{picked} now holds viewer")


TESTS = [
    test_the_grant_form_picks_a_user_by_search,
    test_the_grant_forms_picker_takes_arrow_keys_and_enter,
    test_the_grant_form_resolves_typed_text_without_javascript,
]
