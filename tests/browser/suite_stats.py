"""Browser tests of the usage statistics (issue #12 items 2, 4 and 6): usage posted
through the ingestion API shows on the stats page, the CSV parses back to the page's
numbers, and the printable page, printed to PDF by headless Chromium, reads back
(pdftotext) with the tenant names, months and totals, over several A4 pages that each
repeat the table's header."""

from __future__ import annotations

import base64
import csv
import io
import subprocess
import time

from harness import *  # noqa: F403  (login, fill, wait, expect, button, field, …)

PARTNER = "Print Partner"
CUSTOMERS = 70
PERIOD = "from=2026-01&to=2026-02"


def api(base: str, token: str, method: str, path: str, body: object) -> tuple[int, object]:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def secret_from_form(
    driver: "WebDriver", base: str, path: str, label: str, code_id: str, name: str = "stats test"
) -> str:
    """Creates a token or key through its page's form and reads the secret shown once
    (names are unique: one per test)."""
    driver.get(f"{base}{path}")
    fill(driver, "name", name)
    button(driver, label).click()
    return wait(driver, lambda d: d.find_element(By.ID, code_id).text.strip(), code_id)


def fetch_text(driver: "WebDriver", href: str) -> tuple[int, str, str]:
    """GETs `href` with the page's cookies: status, content disposition, body."""
    return tuple(
        driver.execute_async_script(
            """
            const done = arguments[arguments.length - 1];
            fetch(arguments[0], {credentials: 'same-origin'})
              .then(r => r.text().then(t => done([r.status,
                  r.headers.get('content-disposition') || '', t])))
              .catch(e => done([0, '', String(e)]));
            """,
            href,
        )
    )


def pdf_pages(driver: "WebDriver") -> list[str]:
    """The current page printed by Chromium (its own print path, the CSS page size
    honoured), as the text of each PDF page."""
    pdf = driver.execute_cdp_cmd(
        "Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True}
    )["data"]
    # Kept with the other artifacts, to look at when a check fails.
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "stats-print.pdf"
    path.write_bytes(base64.b64decode(pdf))
    out = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return [p for p in out.split("\f") if p.strip()]


def test_stats_page_csv_and_printed_pdf(driver: "WebDriver", base: str) -> None:
    login(driver, base, ADMIN_USERNAME, ADMIN_PASSWORD)
    wait_path(driver, "/dashboard")
    root_id = driver.find_element(By.ID, "acting-tenant").get_attribute("href").rsplit("/", 1)[1]
    partner_id = create_tenant_via_form(driver, base, root_id, PARTNER, "print-partner", subs=True)

    # Customers through the API, usage through the ingestion API.
    token = secret_from_form(driver, base, "/profile/tokens", "Create token", "token-secret")
    key = secret_from_form(driver, base, "/usage/keys", "Create key", "key-secret")
    operations = [
        {
            "op": "create",
            "data": {
                "parent_id": int(partner_id),
                "name": f"Customer {i:03}",
                "subdomain": f"print-c{i:03}",
                "monthly_query_quota": 1000,
            },
        }
        for i in range(CUSTOMERS)
    ]
    status, answer = api(base, token, "POST", "/api/v1/tenants/batch", {"operations": operations})
    expect(status == 200, f"batch create answered {status}: {answer}")
    events = []
    for i in range(CUSTOMERS):
        events.append(
            {"tenant": f"print-c{i:03}", "at": "2026-01-10T12:00:00Z", "queries": 100 + i, "blocked": i}
        )
        events.append(
            {"tenant": f"print-c{i:03}", "at": "2026-02-10T12:00:00Z", "queries": 900, "blocked": 1}
        )
    status, answer = api(
        base, key, "POST", "/api/v1/usage", {"batch_id": "browser-stats-1", "events": events}
    )
    expect(
        status == 200 and answer["accepted"] == len(events), f"ingestion answered {status}: {answer}"
    )
    jan_total = sum(100 + i for i in range(CUSTOMERS))  # 9,415
    feb_total = 900 * CUSTOMERS  # 63,000

    # The tenant page links to the statistics.
    driver.get(f"{base}/tenants/{partner_id}")
    wait(driver, lambda d: d.find_element(By.ID, "tenant-stats"), "a Usage statistics link").click()
    wait_path(driver, f"/tenants/{partner_id}/stats")
    fill(driver, "from", "2026-01")
    fill(driver, "to", "2026-02")
    button(driver, "Show").click()
    wait(driver, lambda d: "from=2026-01" in d.current_url, "the period in the URL")

    # Months are folded in the background (TENANTRY_USAGE_FOLD_INTERVAL_MS, 1 s by
    # default): the page shows them once folded, as a user reloading would see.
    def folded(d: "WebDriver") -> bool:
        if d.find_elements(By.CSS_SELECTOR, "#stats tbody tr"):
            return True
        time.sleep(0.3)
        d.refresh()
        return False

    wait(driver, folded, "the usage on the stats page once folded")
    # Sorted by subtree queries, largest first (the heading twice): the partner leads.
    for dir_ in ("asc", "desc"):
        driver.find_element(By.LINK_TEXT, "Subtree queries" + (" ↑" if dir_ == "desc" else "")).click()
        wait(driver, lambda d: "sort=subtree_queries" in d.current_url
             and ("dir=desc" in d.current_url) == (dir_ == "desc"), f"sorted {dir_}")
    first = driver.find_element(By.CSS_SELECTOR, "#stats tbody tr")
    expect(
        first.get_attribute("data-tenant") == partner_id and f"{feb_total:,}" in first.text,
        f"the first row sorted by subtree queries is not the partner's February: {first.text!r}",
    )
    partner_row = driver.find_element(
        By.CSS_SELECTOR, f"tr[data-tenant='{partner_id}'][data-month='2026-01']"
    )
    expect(
        f"{jan_total:,}" in partner_row.text,
        f"the partner's January subtree total {jan_total:,} is not in {partner_row.text!r}",
    )
    chart = driver.find_element(By.ID, "stats-chart")
    expect(
        chart.get_attribute("role") == "img" and chart.find_elements(By.TAG_NAME, "title"),
        "the chart is not an accessible SVG image",
    )
    # Over 80 % of the quota in February (900 of 1,000): said in words.
    over = driver.find_elements(By.CSS_SELECTOR, "td.quota-near .quota-note")
    expect(bool(over) and "near the quota" in over[0].text, "no quota warning in words")

    # The CSV: parsed back, the same subtree totals as the page.
    csv_href = driver.find_element(By.ID, "stats-csv").get_attribute("href")
    status, disposition, body = fetch_text(driver, csv_href)
    expect(status == 200 and disposition.startswith("attachment"), f"CSV: {status} {disposition}")
    rows = list(csv.DictReader(io.StringIO(body)))
    expect(len(rows) == 2 * CUSTOMERS + 2, f"{len(rows)} CSV rows")
    partner_rows = {r["month"]: r for r in rows if r["tenant_id"] == partner_id}
    expect(
        int(partner_rows["2026-01"]["subtree_queries"]) == jan_total
        and int(partner_rows["2026-02"]["subtree_queries"]) == feb_total,
        f"CSV partner rows {partner_rows}",
    )

    # The printable page, printed: header, period, chart, every row, several pages.
    driver.find_element(By.ID, "stats-print").click()
    wait_path(driver, f"/tenants/{partner_id}/stats/print")
    expect(
        driver.find_element(By.CSS_SELECTOR, "nav.screen-only").is_displayed(),
        "the way back is not shown on screen",
    )
    pages = pdf_pages(driver)
    text = "\n".join(pages)
    expect(len(pages) > 1, f"a {2 * CUSTOMERS + 2}-row report printed on {len(pages)} page(s)")
    for i, page in enumerate(pages):
        expect(
            "Subtree queries" in page and "Quota use" in page,
            f"PDF page {i + 1} of {len(pages)} has no table header:\n{page[:1500]}",
        )
        expect("Back to the statistics" not in page, f"navigation printed on page {i + 1}")
        expect("Hover a bar" not in page, f"a hint for the mouse printed on page {i + 1}")
    expect(f"Usage of {PARTNER}" in text, "the report's header is missing")
    expect("January 2026 – February 2026" in text, "the period is missing")
    for name in (PARTNER, "Customer 000", f"Customer {CUSTOMERS - 1:03}"):
        expect(name in text, f"{name} is not in the PDF")
    for month in ("2026-01", "2026-02"):
        expect(month in text, f"{month} is not in the PDF")
    for total in (f"{jan_total:,}", f"{feb_total:,}"):
        expect(total in text, f"the total {total} is not in the PDF")


# Issue #12 review: ~600 rows of long subdomains and no quotas took 32 A4 pages, the
# subdomains broken mid-word and a column of "—". Measured with the layout before:
# these 302 rows printed on 19 pages; now on 6.
COMPACT_CUSTOMERS = 150
COMPACT_PAGES_MAX = 7


def test_a_long_report_without_quotas_prints_compactly(driver: "WebDriver", base: str) -> None:
    login(driver, base, ADMIN_USERNAME, ADMIN_PASSWORD)
    wait_path(driver, "/dashboard")
    root_id = driver.find_element(By.ID, "acting-tenant").get_attribute("href").rsplit("/", 1)[1]
    partner_id = create_tenant_via_form(driver, base, root_id, "Compact Partner", "compact-partner", subs=True)
    token = secret_from_form(driver, base, "/profile/tokens", "Create token", "token-secret", "compact")
    key = secret_from_form(driver, base, "/usage/keys", "Create key", "key-secret", "compact")
    subdomain = lambda i: f"customer-branch-office-{i:03}-westeurope"  # noqa: E731
    operations = [
        {
            "op": "create",
            "data": {"parent_id": int(partner_id), "name": f"Branch {i:03}", "subdomain": subdomain(i)},
        }
        for i in range(COMPACT_CUSTOMERS)
    ]
    status, answer = api(base, token, "POST", "/api/v1/tenants/batch", {"operations": operations})
    expect(status == 200, f"batch create answered {status}: {answer}")
    events = [
        {"tenant": subdomain(i), "at": at, "queries": 1000 + i, "blocked": i}
        for i in range(COMPACT_CUSTOMERS)
        for at in ("2026-01-10T12:00:00Z", "2026-02-10T12:00:00Z")
    ]
    status, answer = api(base, key, "POST", "/api/v1/usage", {"batch_id": "browser-compact", "events": events})
    expect(status == 200 and answer["accepted"] == len(events), f"ingestion answered {status}: {answer}")

    rows = 2 * COMPACT_CUSTOMERS + 2

    # Folded in the background: reloaded until every row is there.
    def loaded(d: "WebDriver") -> bool:
        if len(d.find_elements(By.CSS_SELECTOR, "#print-table tbody tr")) == rows:
            return True
        time.sleep(0.3)
        d.refresh()
        return False

    driver.get(f"{base}/tenants/{partner_id}/stats/print?{PERIOD}")
    wait(driver, loaded, f"the {rows} rows on the printable page once folded")
    pages = pdf_pages(driver)
    text = "\n".join(pages)
    print(f"  {rows} rows printed on {len(pages)} pages")
    expect(
        len(pages) <= COMPACT_PAGES_MAX,
        f"{rows} rows printed on {len(pages)} pages (at most {COMPACT_PAGES_MAX} expected)",
    )
    # No quota anywhere: no quota column.
    expect("Quota" not in text, "a quota column without a quota")
    # Subdomains wrap at their hyphens only: every word of each is whole.
    for word in ("customer", "branch", "office", "westeurope"):
        expect(
            text.count(word) >= COMPACT_CUSTOMERS,
            f"{word!r} {text.count(word)} times whole, {COMPACT_CUSTOMERS} subdomains hold it",
        )
    for i, page in enumerate(pages):
        expect("Subtree queries" in page, f"PDF page {i + 1} of {len(pages)} has no table header")


def test_subscribe_to_a_monthly_report_and_cancel_it_without_javascript(
    driver: "WebDriver", base: str
) -> None:
    """An Owner subscribes from the stats page's form and cancels through the
    confirmation, with scripts switched off (plain form posts). The bootstrap admin
    has no email address: refused first, they follow the links to add one."""
    login(driver, base, ADMIN_USERNAME, ADMIN_PASSWORD)
    wait_path(driver, "/dashboard")
    root_id = driver.find_element(By.ID, "acting-tenant").get_attribute("href").rsplit("/", 1)[1]
    tenant_id = create_tenant_via_form(driver, base, root_id, "Report Partner", "report-partner", subs=True)
    driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})

    def subscribe() -> None:
        driver.get(f"{base}/tenants/{tenant_id}/stats")
        form = driver.find_element(By.ID, "report-form")
        Select(form.find_element(By.NAME, "day")).select_by_visible_text("12")
        form.find_element(By.CSS_SELECTOR, "input[name='scope'][value='children']").click()
        button(form, "Subscribe").click()
        wait_path(driver, f"/tenants/{tenant_id}/stats/reports")

    try:
        subscribe()
        error = wait(driver, lambda d: d.find_elements(By.ID, "email-error"), "the refusal")[0]
        expect("no email address" in error.text, f"refusal: {error.text}")
        error.find_element(By.LINK_TEXT, "Your profile").click()
        wait_path(driver, "/profile")
        # Followed by its address: the profile opened at #email, under the sticky bar.
        driver.get(driver.find_element(By.LINK_TEXT, "Add an email address").get_attribute("href"))
        email = wait(
            driver, lambda d: d.find_elements(By.CSS_SELECTOR, "input[name='email']"), "the account's page"
        )[0]
        email.clear()
        email.send_keys("admin@example.com")
        button(driver, "Save changes").click()
        wait(driver, lambda d: "Saved admin." in body_text(d), "the account saved")
        subscribe()
        row = wait(
            driver,
            lambda d: d.find_elements(By.CSS_SELECTOR, "#report-subscriptions tbody tr"),
            "the new subscription in the list",
        )[0]
        expect(row.find_elements(By.TAG_NAME, "td")[0].text == "12", f"day: {row.text}")
        expect("one report per direct sub-tenant" in row.text, f"scope: {row.text}")
        expect("Subscribed: on day 12" in body_text(driver), "no confirmation message")
        # Cancel: asked first, then gone.
        row.find_element(By.TAG_NAME, "button").click()
        wait(driver, lambda d: "Cancel the monthly report of Report Partner?" in body_text(d),
             "the cancel confirmation")
        button(driver, "Cancel the report").click()
        wait_path(driver, f"/tenants/{tenant_id}/stats/reports")
        wait(driver, lambda d: d.find_elements(By.ID, "reports-empty"), "the empty list")
    finally:
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})


TESTS = [
    test_stats_page_csv_and_printed_pdf,
    test_a_long_report_without_quotas_prints_compactly,
    test_subscribe_to_a_monthly_report_and_cancel_it_without_javascript,
]
