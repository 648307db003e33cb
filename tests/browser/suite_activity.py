"""Browser tests of the activity page (issue #11 item 5): an administrator changes a
tenant, opens its Activity from the tenant page, filters it (a bad date is a field
error, the input kept), and the CSV link exports what the filters select."""

from __future__ import annotations

from harness import *  # noqa: F403  (login, fill, wait, expect, button, field, …)


def fetch_text(driver: "WebDriver", href: str) -> tuple[int, str, str, str]:
    """GETs `href` with the page's cookies: status, content type, disposition, body."""
    return tuple(
        driver.execute_async_script(
            """
            const done = arguments[arguments.length - 1];
            fetch(arguments[0], {credentials: 'same-origin'})
              .then(r => r.text().then(t => done([r.status,
                  r.headers.get('content-type') || '',
                  r.headers.get('content-disposition') || '', t])))
              .catch(e => done([0, '', '', String(e)]));
            """,
            href,
        )
    )


def event_rows(driver: "WebDriver") -> list["WebElement"]:
    return driver.find_elements(By.CSS_SELECTOR, "#activity tr.event")


def test_activity_shows_a_change_filters_and_exports_it(driver: "WebDriver", base: str) -> None:
    login(driver, base, ADMIN_USERNAME, ADMIN_PASSWORD)
    wait_path(driver, "/dashboard")
    root_id = driver.find_element(By.ID, "acting-tenant").get_attribute("href").rsplit("/", 1)[1]
    tenant_id = create_tenant_via_form(
        driver, base, root_id, "Activity Co", "activity-co", subs=False
    )

    # A change: rename it.
    driver.get(f"{base}/tenants/{tenant_id}/edit")
    fill(driver, "name", "=Activity Renamed")
    button(driver, "Save changes").click()
    wait_path(driver, f"/tenants/{tenant_id}")

    # The tenant page links to its activity.
    link = wait(
        driver,
        lambda d: d.find_elements(By.LINK_TEXT, "Activity")
        and d.find_element(By.CSS_SELECTOR, f"nav.subnav a[href='/tenants/{tenant_id}/activity']"),
        "an Activity link on the tenant page",
    )
    link.click()
    wait_path(driver, f"/tenants/{tenant_id}/activity")
    rows = event_rows(driver)
    actions = [r.get_attribute("data-action") for r in rows]
    expect(actions == ["tenant.update", "tenant.create"], f"events listed: {actions}")
    first = rows[0].text
    expect("Changed the tenant" in first, f"no readable action label in {first!r}")
    expect("root\\admin" in first, f"no actor in {first!r}")
    expect(
        "Activity Co" in first and "=Activity Renamed" in first,
        f"the change's before → after is not shown: {first!r}",
    )
    expect(
        bool(rows[0].find_elements(By.CSS_SELECTOR, "time[datetime]")),
        "the event's time is not in a <time datetime> element",
    )

    # Filter by action: the select and the Filter button (works without JavaScript).
    Select(field(driver, "action")).select_by_value("tenant.create")
    button(driver, "Filter").click()
    wait(
        driver,
        lambda d: "action=tenant.create" in d.current_url
        and [r.get_attribute("data-action") for r in event_rows(d)] == ["tenant.create"],
        "only the create event after filtering by action",
    )

    # A bad date: a field error next to the field, the input kept, no server error.
    fill(driver, "from", "2026-02-30")
    button(driver, "Filter").click()
    error = wait(
        driver,
        lambda d: d.find_elements(By.ID, "from-error") and d.find_element(By.ID, "from-error"),
        "a field error for the bad date",
    )
    expect("YYYY-MM-DD" in error.text, f"the date error says {error.text!r}")
    expect(
        field(driver, "from").get_attribute("value") == "2026-02-30",
        "the bad date was not kept in its field",
    )
    expect(
        Select(field(driver, "action")).first_selected_option.get_attribute("value")
        == "tenant.create",
        "the action filter was not kept",
    )

    # Fixed: the CSV link exports what the filters select.
    fill(driver, "from", "")
    Select(field(driver, "action")).select_by_value("tenant.update")
    button(driver, "Filter").click()
    wait(
        driver,
        lambda d: [r.get_attribute("data-action") for r in event_rows(d)] == ["tenant.update"],
        "only the update event",
    )
    href = driver.find_element(By.ID, "activity-csv").get_attribute("href")
    expect("activity.csv?action=tenant.update" in href, f"the CSV link is {href!r}")
    status, content_type, disposition, body = fetch_text(driver, href)
    expect(status == 200, f"the CSV answered {status}")
    expect(content_type.startswith("text/csv"), f"the CSV's content type is {content_type!r}")
    expect(
        "attachment" in disposition and "activity-activity-co-" in disposition,
        f"the CSV's disposition is {disposition!r}",
    )
    lines = body.split("\r\n")
    expect(
        lines[0] == "occurred_at,actor,acting_tenant,tenant_id,tenant,action,client_addr,before,after",
        f"the CSV header is {lines[0]!r}",
    )
    expect(len(lines) == 3 and lines[2] == "", f"the CSV has {len(lines) - 2} rows: {body!r}")
    expect(",tenant.update," in lines[1], f"the CSV row is {lines[1]!r}")
    # The new name starts with '=': a text cell, never a formula.
    expect("'=Activity Renamed" in lines[1], f"the formula was not neutralised: {lines[1]!r}")


TESTS = [test_activity_shows_a_change_filters_and_exports_it]
