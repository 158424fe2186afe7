"""Render docs/steps.html and its screenshot docs/steps.png: the step-through page of
``(x @ W + b).tanh().sum()`` (the README's graph), at its third step.

Writes the page with ``autograd-lite graph ... --steps`` and photographs it in headless
Chromium (``make chromium`` installs it). Run from the repository root:
``python docs/step_through.py``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from autograd_lite.cli import main as cli

DOCS = Path(__file__).resolve().parent
STEP = 3  # the broadcast add: its gradient to b is summed over the rows


def main() -> None:
    """Write the page, open it, press next STEP times, save the screenshot."""
    page = DOCS / "steps.html"
    status = cli(["graph", "(x @ W + b).tanh().sum()", "--var", "x=3,4", "--var", "W=4,2",
                  "--var", "b=2", "--steps", "--force", "-o", str(page)])
    if status:
        raise SystemExit(status)
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    with tempfile.TemporaryDirectory() as profile:
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,560",
                     "--no-first-run", "--disable-background-networking", "--disable-sync",
                     "--disable-component-update", f"--user-data-dir={profile}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            driver.get(page.as_uri())
            for _ in range(STEP):
                driver.find_element(By.ID, "next").click()
            driver.save_screenshot(str(DOCS / "steps.png"))
        finally:
            driver.quit()
    print(f"wrote {page} and {DOCS / 'steps.png'}")


if __name__ == "__main__":
    main()
