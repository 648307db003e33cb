"""Rule-set migrations (issue #13, part B): the locked page shows the running
migration's progress bar and follows it live (htmx polling of its fragment), the
page reloads once the migration ends, and a failed migration is rolled back from
its page through the confirmation dialog."""

from __future__ import annotations

from harness import *  # noqa: F403


def _root_id(driver: "WebDriver") -> str:
    return driver.find_element(By.ID, "acting-tenant").get_attribute("href").rsplit("/", 1)[1]


def _progress_text(driver: "WebDriver") -> str:
    found = driver.find_elements(By.ID, "migration-count")
    return found[0].text if found else ""


def test_the_locked_page_follows_a_migration_and_rollback_unlocks(driver: "WebDriver", base: str) -> None:
    login(driver, base, ADMIN_USERNAME, ADMIN_PASSWORD)
    wait_path(driver, "/dashboard")
    root = _root_id(driver)
    source = create_tenant_via_form(driver, base, root, "Mig Source", "mig-source", False)
    target = create_tenant_via_form(driver, base, root, "Mig Target", "mig-target", False)
    # A migration caught halfway, its lease held elsewhere (the server's own runner
    # leaves it alone): 3 of 10 rules copied, both tenants locked.
    mid = server_sql(
        "INSERT INTO rule_migrations (source_tenant_id, target_tenant_id, source_name, "
        "target_name, started_by_login, state, total, copied, mappings, "
        "target_version_before, source_version, lease_owner, lease_until, created_at, updated_at) "
        f"VALUES ({source}, {target}, 'Mig Source', 'Mig Target', 'admin', 'copying', 10, 3, "
        "'{\"applications\": {}, \"domains\": {}}', 0, 0, 'elsewhere', now() + interval '1 hour', "
        "now(), now()) RETURNING id"
    )
    for tenant in (source, target):
        server_sql(
            "INSERT INTO rule_locks (tenant_id, migration_id, locked_by, since, description) "
            f"VALUES ({tenant}, {mid}, NULL, now(), 'Migration #{mid} of the rules from Mig Source to Mig Target')"
        )

    driver.get(f"{base}/tenants/{target}/rules")
    wait(driver, lambda d: d.find_elements(By.ID, "migration-bar"), "the progress bar on the locked page")
    bar = driver.find_element(By.ID, "migration-bar")
    expect(bar.get_attribute("value") == "3", f"the bar's value is {bar.get_attribute('value')!r}, not 3")
    expect("3 of 10 rules copied" in _progress_text(driver), f"the progress reads {_progress_text(driver)!r}")
    expect(
        driver.find_element(By.ID, "locked-migration").get_attribute("href").endswith(f"/migrations/{mid}"),
        "the locked page does not link the migration",
    )

    # The copy moves on: the bar follows without reloading the page.
    marker = driver.execute_script("window.__notReloaded = true; return window.__notReloaded;")
    expect(marker is True, "could not mark the page")
    server_sql(f"UPDATE rule_migrations SET copied = 7 WHERE id = {mid}")
    wait(
        driver,
        lambda d: "7 of 10 rules copied" in _progress_text(d),
        "the locked page's bar to reach 7 of 10 (htmx polling)",
    )
    expect(
        driver.execute_script("return window.__notReloaded === true;"),
        "the page reloaded instead of polling its fragment",
    )

    # It fails: the source is unlocked, the target stays locked; the page reloads
    # once and shows the failed migration, no longer polled.
    server_sql(
        "UPDATE rule_migrations SET state = 'failed', error = 'the database went away', "
        f"lease_owner = NULL, lease_until = NULL, finished_at = now() WHERE id = {mid}"
    )
    server_sql(f"DELETE FROM rule_locks WHERE tenant_id = {source}")
    wait(
        driver,
        lambda d: d.find_elements(By.CSS_SELECTOR, "#migration-progress[data-state='failed']")
        and d.execute_script("return window.__notReloaded !== true;"),
        "the locked page reloaded with the failed migration",
    )
    expect(
        driver.find_element(By.ID, "locked").is_displayed(),
        "the target is no longer shown locked",
    )

    # Rollback from the migration's page: a confirmation in the dialog, then done.
    driver.find_element(By.ID, "locked-migration").click()
    wait_path(driver, f"/migrations/{mid}")
    expect("the database went away" in body_text(driver), "the migration's page does not show its error")
    driver.find_element(By.ID, "rollback").click()
    dialog = wait(
        driver,
        lambda d: d.find_element(By.ID, "dialog").get_attribute("open") is not None
        and d.find_element(By.ID, "confirm-title"),
        "the rollback's confirmation in the open #dialog",
    )
    expect(f"Roll back migration #{mid}?" in dialog.text, f"the dialog asks {dialog.text!r}")
    expect(
        server_sql(f"SELECT state FROM rule_migrations WHERE id = {mid}") == "failed",
        "asking rolled back already",
    )
    driver.find_element(By.ID, "confirm-button").click()
    wait(
        driver,
        lambda d: d.find_elements(By.ID, "migration-rolled-back"),
        "the rolled-back notice on the migration's page",
    )
    expect(
        server_sql(f"SELECT count(*) FROM rule_locks WHERE tenant_id = {target}") == "0",
        "the target is still locked after the rollback",
    )
    driver.get(f"{base}/tenants/{target}/rules")
    wait(
        driver,
        lambda d: "Rules of Mig Target" in d.find_element(By.TAG_NAME, "h1").text,
        "the target's Rules page, unlocked",
    )


TESTS = [
    test_the_locked_page_follows_a_migration_and_rollback_unlocks,
]
