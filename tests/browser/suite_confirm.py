"""Nothing destructive on one click (issue #11, item 3): disabling a tenant asks
for confirmation in the page's dialog with JavaScript, and on a page of its own
without; Cancel changes nothing, the confirm button acts. Finding people (item 4):
the access explainer picks a user by search as you type."""

from __future__ import annotations

from harness import *  # noqa: F403


def _root_id(driver: "WebDriver") -> str:
    return driver.find_element(By.ID, "acting-tenant").get_attribute("href").rsplit("/", 1)[1]


def _tenant_enabled(driver: "WebDriver", base: str, tenant_id: str) -> bool:
    driver.get(f"{base}/tenants/{tenant_id}")
    return bool(driver.find_elements(By.ID, "disable-form"))


def test_disable_asks_in_a_dialog_with_javascript(driver: "WebDriver", base: str) -> None:
    login(driver, base, ADMIN_USERNAME, ADMIN_PASSWORD)
    wait_path(driver, "/dashboard")
    tenant_id = create_tenant_via_form(driver, base, _root_id(driver), "Dialog Co", "dialog-co", False)
    button(driver, "Disable tenant…").click()
    dialog = wait(
        driver,
        lambda d: d.find_element(By.ID, "dialog").get_attribute("open") is not None
        and d.find_element(By.ID, "confirm-title"),
        "the confirmation in the open #dialog",
    )
    expect(
        "Disable Dialog Co?" in dialog.text,
        f"the dialog asks {dialog.text!r}, not 'Disable Dialog Co?'",
    )
    expect(path_of(driver) == f"/tenants/{tenant_id}", "the page changed under the dialog")
    expect(_tenant_enabled(driver, base, tenant_id), "asking disabled the tenant already")

    button(driver, "Disable tenant…").click()
    wait(
        driver,
        lambda d: d.find_element(By.ID, "dialog").get_attribute("open") is not None
        and d.find_elements(By.ID, "confirm-button"),
        "the confirmation in the open #dialog",
    )
    driver.find_element(By.ID, "confirm-button").click()
    wait(
        driver,
        lambda d: "is now disabled" in body_text(d),
        "the message that Dialog Co is now disabled",
    )
    expect(not _tenant_enabled(driver, base, tenant_id), "the confirmed disable did not act")


def test_disable_asks_on_a_page_without_javascript(driver: "WebDriver", base: str) -> None:
    login(driver, base, ADMIN_USERNAME, ADMIN_PASSWORD)
    wait_path(driver, "/dashboard")
    tenant_id = create_tenant_via_form(driver, base, _root_id(driver), "Plain Co", "plain-co", False)
    driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        driver.get(f"{base}/tenants/{tenant_id}")
        button(driver, "Disable tenant…").click()
        wait_path(driver, f"/tenants/{tenant_id}/disable")
        heading = driver.find_element(By.TAG_NAME, "h1").text
        expect(heading == "Disable Plain Co?", f"the confirmation page's <h1> is {heading!r}")
        driver.find_element(By.ID, "confirm-cancel").click()
        wait_path(driver, f"/tenants/{tenant_id}")
        expect(
            bool(driver.find_elements(By.ID, "disable-form")),
            "Cancel left the tenant disabled",
        )
        button(driver, "Disable tenant…").click()
        wait_path(driver, f"/tenants/{tenant_id}/disable")
        driver.find_element(By.ID, "confirm-button").click()
        wait_path(driver, f"/tenants/{tenant_id}")
        expect("is now disabled" in body_text(driver), "no message that Plain Co is disabled")
        expect(
            not driver.find_elements(By.ID, "disable-form"),
            "the confirmed disable did not act",
        )
    finally:
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})


def test_the_access_explainer_picks_a_user_by_search(driver: "WebDriver", base: str) -> None:
    login(driver, base, ADMIN_USERNAME, ADMIN_PASSWORD)
    wait_path(driver, "/dashboard")
    root_id = _root_id(driver)
    driver.get(f"{base}/tenants/{root_id}/access")
    box = driver.find_element(By.ID, "explain-user")
    box.send_keys("admi")
    pick = wait(
        driver,
        lambda d: d.find_element(By.CSS_SELECTOR, "#explain-user-results [data-pick-id]"),
        "a match for 'admi' under the explainer's input",
    )
    login_name = pick.get_attribute("data-pick-text")
    expect(login_name.endswith("\\admin"), f"the match is {login_name!r}, not the admin")
    pick.click()
    expect(
        box.get_attribute("value") == login_name,
        f"picking left {box.get_attribute('value')!r} in the input, not {login_name!r}",
    )
    button(driver, "Explain").click()
    wait(
        driver,
        lambda d: f"What {login_name} can do in" in d.find_element(By.ID, "explain-title").text,
        "the explanation of the picked user",
    )


def test_disable_from_the_list_asks_in_the_dialog_and_returns_to_the_list(
    driver: "WebDriver", base: str
) -> None:
    login(driver, base, ADMIN_USERNAME, ADMIN_PASSWORD)
    wait_path(driver, "/dashboard")
    tenant_id = create_tenant_via_form(driver, base, _root_id(driver), "Listed Co", "listed-co", False)
    driver.get(f"{base}/tenants?q=listed-co&sort=created&dir=desc")
    row = f"tr[data-tenant-id='{tenant_id}']"
    button(driver.find_element(By.CSS_SELECTOR, row), "Disable…").click()
    wait(
        driver,
        lambda d: d.find_element(By.ID, "dialog").get_attribute("open") is not None
        and d.find_elements(By.ID, "confirm-button"),
        "the confirmation in the open #dialog",
    )
    expect("Disable Listed Co?" in driver.find_element(By.ID, "dialog").text, "the dialog asks about Listed Co")
    expect(path_of(driver) == "/tenants", "the list changed under the dialog")
    driver.find_element(By.ID, "confirm-button").click()
    wait(
        driver,
        lambda d: "is now disabled" in body_text(d),
        "the message that Listed Co is now disabled",
    )
    expect(path_of(driver) == "/tenants", f"landed on {path_of(driver)}, not the list")
    expect("q=listed-co" in driver.current_url, f"the list's filter was lost: {driver.current_url}")
    expect(not _tenant_enabled(driver, base, tenant_id), "the confirmed disable did not act")


TESTS = [
    test_disable_asks_in_a_dialog_with_javascript,
    test_disable_asks_on_a_page_without_javascript,
    test_disable_from_the_list_asks_in_the_dialog_and_returns_to_the_list,
    test_the_access_explainer_picks_a_user_by_search,
]
