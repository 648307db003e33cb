"""Branding (issue #16): a tenant's branding page in a real browser — a product name
and colour saved (the contrast warning shown), a logo uploaded through the file
input and shown (it loads as an image), an unsafe SVG refused next to the field,
the acting tenant's header showing the name and logo once switched into it, and
Reset to inherited."""

from __future__ import annotations

import tempfile

from harness import *  # noqa: F403


def _root_id(driver: "WebDriver") -> str:
    return driver.find_element(By.ID, "acting-tenant").get_attribute("href").rsplit("/", 1)[1]


def _file(suffix: str, content: str) -> str:
    f = tempfile.NamedTemporaryFile("w", suffix=suffix, delete=False)
    f.write(content)
    f.close()
    return f.name


LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20" viewBox="0 0 40 20">'
    '<rect width="40" height="20" fill="#0f766e"/></svg>'
)
UNSAFE = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def test_branding_page_saves_uploads_and_resets(driver: "WebDriver", base: str) -> None:
    login(driver, base, ADMIN_USERNAME, ADMIN_PASSWORD)
    wait_path(driver, "/dashboard")
    tenant_id = create_tenant_via_form(driver, base, _root_id(driver), "Brand Co", "brand-co", False)
    driver.find_element(By.ID, "tenant-branding").click()
    wait_path(driver, f"/tenants/{tenant_id}/branding")

    fill(driver, "product_name", "Brand Cloud")
    fill(driver, "primary_color", "#ffff00")
    button(driver, "Save branding").click()
    wait(driver, lambda d: "Saved the branding." in body_text(d), "the saved message")
    expect(
        "contrast" in driver.find_element(By.ID, "contrast-warning").text,
        "no contrast warning for yellow on white",
    )
    source = driver.find_element(By.ID, "product_name-source").text
    expect("Brand Cloud" in source and "Set here" in source, f"the name's source reads {source!r}")

    # An unsafe SVG: refused next to the field, nothing shown.
    driver.find_element(By.ID, "logo").send_keys(_file(".svg", UNSAFE))
    button(driver, "Upload logo").click()
    error = wait(driver, lambda d: d.find_element(By.ID, "logo-error"), "the logo's field error")
    expect("<script>" in error.text, f"the logo error reads {error.text!r}")
    expect(not driver.find_elements(By.ID, "logo-preview"), "an unsafe logo was shown")

    # A safe one: shown, and it loads as an image.
    driver.find_element(By.ID, "logo").send_keys(_file(".svg", LOGO))
    button(driver, "Upload logo").click()
    wait(driver, lambda d: "Saved the logo." in body_text(d), "the logo's saved message")
    preview = wait(driver, lambda d: d.find_element(By.ID, "logo-preview"), "the logo preview")
    wait(
        driver,
        lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", preview),
        "the uploaded logo to load",
    )

    # Switched into Brand Co, the header and the title are its.
    driver.get(f"{base}/tenants/{tenant_id}")
    button(driver, "Switch to this tenant").click()
    wait(driver, lambda d: d.find_element(By.ID, "product-name").text == "Brand Cloud", "the header's product name")
    expect("Brand Cloud" in driver.title, f"the title is {driver.title!r}")
    logo = driver.find_element(By.CSS_SELECTOR, "#brand img.brand-logo")
    expect(
        driver.execute_script("return arguments[0].naturalWidth", logo) > 0,
        "the header's logo did not load",
    )

    # Reset the name: the installation's own again.
    driver.get(f"{base}/tenants/{tenant_id}/branding")
    driver.find_element(By.ID, "reset-product_name").click()
    wait(driver, lambda d: "Reset to inherited." in body_text(d), "the reset message")
    wait(driver, lambda d: d.find_element(By.ID, "product-name").text == "tenantry", "the default name back")
    driver.find_element(By.ID, "return-home").click()


TESTS = [test_branding_page_saves_uploads_and_resets]
