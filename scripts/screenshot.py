#!/usr/bin/env python3
"""Takes the README screenshot of the Tenants page from a running instance.

Usage: .venv/bin/python scripts/screenshot.py [base_url] [username] [password] [out.png]
Defaults match `make run`: http://127.0.0.1:8080 admin admin-password-123 docs/screenshot-tenants.png
"""
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

base, user, password, out = (sys.argv[1:] + [None] * 4)[:4]
base = base or "http://127.0.0.1:8080"
user = user or "admin"
password = password or "admin-password-123"
out = out or "docs/screenshot-tenants.png"

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--disable-background-networking", "--no-first-run", "--disable-component-update",
             "--disable-sync", "--window-size=1280,860", f"--user-data-dir={tempfile.mkdtemp()}"):
    options.add_argument(flag)
driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
try:
    driver.get(base + "/login")
    driver.find_element(By.NAME, "username").send_keys(user)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    driver.get(base + "/tenants?sort=users&dir=desc")
    driver.save_screenshot(out)
    print("wrote", out)
finally:
    driver.quit()
