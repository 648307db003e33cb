"""Bulk actions on the Tenants list (issue #11, item 2): tick rows, choose an action,
see the preview, confirm, see each tenant's result, and the list showing it; without
JavaScript (plain form posts) and with it (htmx swaps the page's main area, and
"select all on this page" ticks the rows). Also "all N matching this filter" with a
label filter, adding a label."""

from __future__ import annotations

from harness import *  # noqa: F403
from selenium.webdriver.common.keys import Keys
from suite_context import axe_violations, describe


def _root_id(driver: "WebDriver") -> str:
    return driver.find_element(By.ID, "acting-tenant").get_attribute("href").rsplit("/", 1)[1]


def _row(driver: "WebDriver", tenant_id: str) -> "WebElement":
    return driver.find_element(By.CSS_SELECTOR, f"#tenant-table tr[data-tenant-id='{tenant_id}']")


def _status_in_list(driver: "WebDriver", tenant_id: str) -> str:
    return _row(driver, tenant_id).find_element(By.CSS_SELECTOR, ".badge").text.strip()


def _outcomes(driver: "WebDriver") -> dict[str, str]:
    """The preview's or result's rows: tenant id -> the outcome's words."""
    return {
        row.get_attribute("data-tenant-id"): row.find_element(By.CSS_SELECTOR, "td.outcome").text.strip()
        for row in driver.find_elements(By.CSS_SELECTOR, "#bulk-items tbody tr")
    }


def _tenants_under_root(driver: "WebDriver", base: str, prefix: str, *made: tuple[str, str, bool]) -> list[str]:
    """Logs in as the root's administrator and creates, under the root, tenants
    `{prefix} {name}` with subdomain `{prefix}-{slug}` (lowercase) and "may have
    sub-tenants" as given; their ids."""
    login(driver, base, ADMIN_USERNAME, ADMIN_PASSWORD)
    wait_path(driver, "/dashboard")
    root = _root_id(driver)
    return [
        create_tenant_via_form(driver, base, root, f"{prefix} {name}", f"{prefix.lower()}-{slug}", subs)
        for name, slug, subs in made
    ]


def _disable_two(driver: "WebDriver", base: str, prefix: str, with_js: bool) -> None:
    first, second, other = _tenants_under_root(
        driver, base, prefix, ("One", "one", False), ("Two", "two", False), ("Kept", "kept", False)
    )
    if not with_js:
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        driver.get(f"{base}/tenants?q={prefix}")
        select_page = driver.find_element(By.ID, "bulk-select-page")
        if with_js:
            # "Select all on this page" shows with JavaScript and ticks every row.
            wait(driver, lambda d: d.find_element(By.ID, "bulk-select-page").is_displayed(),
                 "the 'select all on this page' checkbox")
            select_page.click()
            boxes = driver.find_elements(By.CSS_SELECTOR, "input[name=ids][form=tenant-bulk]")
            expect(len(boxes) == 3 and all(b.is_selected() for b in boxes),
                   "'select all on this page' did not tick the three rows")
            select_page.click()
        else:
            expect(not select_page.is_displayed(), "'select all on this page' shows without JavaScript")
        for tenant_id in (first, second):
            box = driver.find_element(By.CSS_SELECTOR, f"input[name=ids][value='{tenant_id}']")
            label = driver.find_element(By.CSS_SELECTOR, f"label[for='select-{tenant_id}']")
            expect(prefix in label.get_attribute("textContent"),
                   f"the checkbox's label {label.get_attribute('textContent')!r} does not name the tenant")
            box.click()
        Select(driver.find_element(By.ID, "bulk-action")).select_by_value("disable")
        button(driver, "Apply to selected").click()

        # The preview: each ticked tenant will change, nothing has yet.
        title = wait(driver, lambda d: d.find_element(By.ID, "bulk-title"), "the bulk preview")
        expect(title.text == "Preview: Disable (each tenant only)", f"the preview is titled {title.text!r}")
        expect(path_of(driver) == ("/tenants" if with_js else "/tenants/bulk"),
               f"the preview is at {path_of(driver)}")
        outcomes = _outcomes(driver)
        expect(outcomes == {first: "will change", second: "will change"}, f"the preview says {outcomes}")
        expect("2 will change" in driver.find_element(By.ID, "bulk-counts").text, "the preview's counts")
        if with_js:
            driver.set_script_timeout(30)
            found = axe_violations(driver)
            expect(not found, f"axe on the bulk preview: {describe(found)}")

        driver.find_element(By.ID, "bulk-confirm").click()
        wait(driver, lambda d: d.find_element(By.ID, "bulk-title").text.startswith("Done:"),
             "the bulk result")
        outcomes = _outcomes(driver)
        expect(outcomes == {first: "changed", second: "changed"}, f"the result says {outcomes}")
        expect("2 changed" in driver.find_element(By.ID, "bulk-counts").text, "the result's counts")
        if with_js:
            found = axe_violations(driver)
            expect(not found, f"axe on the bulk result: {describe(found)}")

        driver.find_element(By.ID, "bulk-back").click()
        wait(driver, lambda d: path_of(d) == "/tenants" and d.find_elements(By.ID, "tenant-table")
             and not d.find_elements(By.ID, "bulk-title"), "the tenants list again")
        expect(f"q={prefix}" in driver.current_url, f"the list lost its filter: {driver.current_url}")
        for tenant_id in (first, second):
            expect(_status_in_list(driver, tenant_id) == "disabled",
                   f"tenant {tenant_id} is not shown disabled")
        expect(_status_in_list(driver, other) == "enabled", "the tenant not ticked was disabled")
    finally:
        if not with_js:
            driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})


def test_bulk_disable_of_two_rows_without_javascript(driver: "WebDriver", base: str) -> None:
    _disable_two(driver, base, "Plainbulk", with_js=False)


def test_bulk_disable_of_two_rows_with_javascript(driver: "WebDriver", base: str) -> None:
    _disable_two(driver, base, "Jsbulk", with_js=True)


def test_bulk_label_all_matching_a_label_filter(driver: "WebDriver", base: str) -> None:
    login(driver, base, ADMIN_USERNAME, ADMIN_PASSWORD)
    wait_path(driver, "/dashboard")
    root = _root_id(driver)
    gold = []
    for name, slug, labels in (
        ("Goldbulk A", "goldbulk-a", "bulktier:gold"),
        ("Goldbulk B", "goldbulk-b", "bulktier:gold, other"),
        ("Goldbulk C", "goldbulk-c", ""),
    ):
        tenant_id = create_tenant_via_form(driver, base, root, name, slug, False)
        if labels:
            driver.get(f"{base}/tenants/{tenant_id}/edit")
            fill(driver, "labels", labels)
            button(driver, "Save changes").click()
            wait_path(driver, f"/tenants/{tenant_id}")
            gold.append(tenant_id)

    driver.get(f"{base}/tenants?label=bulktier:gold")
    listed = sorted(r.get_attribute("data-tenant-id")
                    for r in driver.find_elements(By.CSS_SELECTOR, "#tenant-table tbody tr"))
    expect(listed == sorted(gold), f"the label filter lists {listed}, not {sorted(gold)}")
    all_label = driver.find_element(By.CSS_SELECTOR, "label[for='bulk-all']").text
    expect("all 2 tenants matching this filter" in all_label, f"the choice reads {all_label!r}")
    driver.find_element(By.ID, "bulk-all").click()
    Select(driver.find_element(By.ID, "bulk-action")).select_by_value("add_label")
    # The bar's label field (the filter's own is named `label` too, in its form).
    bar_label = driver.find_element(By.ID, "bulk-label")
    bar_label.clear()
    bar_label.send_keys("bulkregion:eu")
    button(driver, "Apply to selected").click()

    wait(driver, lambda d: d.find_element(By.ID, "bulk-title").text == "Preview: Add label bulkregion:eu",
         "the preview of adding the label")
    expect("(all matching the filter)" in driver.find_element(By.ID, "bulk-selection").text,
           "the preview does not say it takes all matching tenants")
    outcomes = _outcomes(driver)
    expect(sorted(outcomes) == sorted(gold) and set(outcomes.values()) == {"will change"},
           f"the preview says {outcomes}")
    driver.find_element(By.ID, "bulk-confirm").click()
    wait(driver, lambda d: d.find_element(By.ID, "bulk-title").text.startswith("Done:"), "the result")
    outcomes = _outcomes(driver)
    expect(set(outcomes.values()) == {"changed"} and len(outcomes) == 2, f"the result says {outcomes}")

    driver.find_element(By.ID, "bulk-back").click()
    wait(driver, lambda d: not d.find_elements(By.ID, "bulk-title")
         and d.find_elements(By.ID, "tenant-table"), "the list again")
    expect("label=bulktier%3Agold" in driver.current_url, f"the list lost its filter: {driver.current_url}")
    driver.get(f"{base}/tenants?label=bulkregion:eu")
    tagged = sorted(r.get_attribute("data-tenant-id")
                    for r in driver.find_elements(By.CSS_SELECTOR, "#tenant-table tbody tr"))
    expect(tagged == sorted(gold), f"the new label is on {tagged}, not exactly {sorted(gold)}")


def _move_two(driver: "WebDriver", base: str, prefix: str, with_js: bool) -> None:
    """Moves two customers under a reseller named by search (with JavaScript: picked
    from the matches by keyboard) or by its name (without: two resellers share it,
    so the server asks which)."""
    slug = prefix.lower()
    first, second, home, _ = _tenants_under_root(
        driver, base, prefix,
        ("One", "one", False), ("Two", "two", False), ("Home", "home", True), ("Home", "home-too", True),
    )
    if not with_js:
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        driver.get(f"{base}/tenants?q={prefix}")
        for tenant_id in (first, second):
            driver.find_element(By.CSS_SELECTOR, f"input[name=ids][value='{tenant_id}']").click()
        Select(driver.find_element(By.ID, "bulk-action")).select_by_value("move")
        box = driver.find_element(By.ID, "parent")
        expect(box.get_attribute("name") == "destination", "the destination is not a text to type")
        if with_js:
            box.send_keys(f"{slug}-home")
            options = wait(
                driver,
                lambda d: (o := d.find_elements(By.CSS_SELECTOR, "#parent-results [role=option]"))
                and len(o) == 2 and o,
                "the two matching resellers as options",
            )
            driver.set_script_timeout(30)
            found = axe_violations(driver)
            expect(not found, f"axe on the destination's matches: {describe(found)}")
            box.send_keys(Keys.ARROW_DOWN)
            expect(box.get_attribute("aria-activedescendant") == options[0].get_attribute("id"),
                   "ArrowDown does not choose the first match")
            box.send_keys(Keys.ENTER)
            wait(driver, lambda d: box.get_attribute("value") == f"{slug}-home",
                 "the picked subdomain in the destination field")
            hidden = driver.find_element(By.CSS_SELECTOR, "#parent ~ input[name=parent]")
            expect(hidden.get_attribute("value") == home, f"the picked id is {hidden.get_attribute('value')!r}")
            expect(box.get_attribute("aria-expanded") == "false", "the matches stay open after the pick")
            button(driver, "Apply to selected").click()
        else:
            box.send_keys(f"{prefix} Home")
            button(driver, "Apply to selected").click()
            # Two resellers are called so: the server asks which.
            wait(driver, lambda d: d.find_element(By.ID, "parent-choices"), "the choice of destinations")
            error = driver.find_element(By.ID, "parent-error").text
            expect(error == f"Several tenants are named “{prefix} Home”: choose one.", f"the choice says {error!r}")
            driver.find_element(By.ID, f"parent-choice-{home}").click()
            button(driver, "Preview the move").click()

        title = wait(driver, lambda d: d.find_element(By.ID, "bulk-title").text.startswith("Preview: Move under")
                     and d.find_element(By.ID, "bulk-title"), "the move's preview")
        expect(title.text == f"Preview: Move under {prefix} Home", f"the preview is titled {title.text!r}")
        outcomes = _outcomes(driver)
        expect(outcomes == {first: "will change", second: "will change"}, f"the preview says {outcomes}")
        driver.find_element(By.ID, "bulk-confirm").click()
        wait(driver, lambda d: d.find_element(By.ID, "bulk-title").text.startswith("Done:"), "the result")
        outcomes = _outcomes(driver)
        expect(outcomes == {first: "changed", second: "changed"}, f"the result says {outcomes}")
    finally:
        if not with_js:
            driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
    driver.get(f"{base}/tenants?parent={home}")
    moved = sorted(r.get_attribute("data-tenant-id")
                   for r in driver.find_elements(By.CSS_SELECTOR, "#tenant-table tbody tr"))
    expect(moved == sorted([first, second]), f"{prefix} Home's children are {moved}")


def test_bulk_move_picks_the_destination_by_search(driver: "WebDriver", base: str) -> None:
    _move_two(driver, base, "Jsmove", with_js=True)


def test_bulk_move_names_the_destination_without_javascript(driver: "WebDriver", base: str) -> None:
    _move_two(driver, base, "Plainmove", with_js=False)


TESTS = [
    test_bulk_disable_of_two_rows_without_javascript,
    test_bulk_disable_of_two_rows_with_javascript,
    test_bulk_label_all_matching_a_label_filter,
    test_bulk_move_picks_the_destination_by_search,
    test_bulk_move_names_the_destination_without_javascript,
]
