"""The step-through page in a real browser: headless Chromium driven by selenium.

The page written by ``animate_backward(...).save`` is loaded from a file:// URL; the test
presses next (keys and the button) through every step and reads what the page shows:
the highlighted op, the gradient arriving at its output, the gradients sent to its
inputs and the leaves' accumulated gradients. Each is compared, to the 4 significant
digits displayed, with ``backward_steps()`` on the same computation. Chromium and
chromedriver come from Debian (``make test`` installs them); nothing is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

import autograd_lite as ag

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|nan|-?inf")
RTOL = 5e-4  # half a unit in the 4th significant digit


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    for path in (CHROMIUM, CHROMEDRIVER):
        assert Path(path).exists(), f"{path} is missing: run `make test` as root, or " \
                                    f"`sudo apt-get install chromium chromium-driver`"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1400,900",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def build(values: dict[str, np.ndarray]) -> tuple[ag.Tensor, dict[str, ag.Tensor]]:
    """A loss with fan-out (x feeds two branches), broadcasting and a named intermediate."""
    x = ag.tensor(values["x"], requires_grad=True, name="x")
    W = ag.tensor(values["W"], requires_grad=True, name="W")
    b = ag.tensor(values["b"], requires_grad=True, name="b")
    hidden = (x @ W + b).tanh()
    hidden.name = "hidden"
    loss = (hidden.sum() * x.sum() + (x * 1e-5).sum()).exp()
    return loss, {"x": x, "W": W, "b": b}


def numbers(text: str) -> np.ndarray:
    return np.array([float(n) for n in NUMBER.findall(text)])


def shown(array: np.ndarray, text: str) -> np.ndarray:
    """The elements of ``array`` a text shows: all, or the first and last 3 after "…"."""
    flat = np.asarray(array, dtype=np.float64).reshape(-1)
    return np.concatenate([flat[:3], flat[-3:]]) if "…" in text else flat


def assert_displays(text: str, array: np.ndarray) -> None:
    np.testing.assert_allclose(numbers(text), shown(array, text), rtol=RTOL, atol=0)


def test_the_page_replays_backward_steps_in_chromium(browser: WebDriver, tmp_path: Path,
                                                    rng: np.random.Generator) -> None:
    values = {"x": rng.standard_normal((2, 3)) * 0.5, "W": rng.standard_normal((3, 2)),
              "b": rng.standard_normal(2)}
    loss, leaves = build(values)
    page = ag.animate_backward(loss).save(tmp_path / "steps.html")
    reference, ref_leaves = build(values)
    steps = list(reference.backward_steps())
    assert len(steps) >= 8

    browser.get(page.as_uri())
    counter = browser.find_element(By.ID, "counter")
    assert counter.text == f"step 0 / {len(steps)}"
    assert not browser.find_elements(By.CSS_SELECTOR, "#graph g.node.current")
    assert "forward values" in browser.find_element(By.ID, "heading").text
    body = browser.find_element(By.TAG_NAME, "body")
    for k, step in enumerate(steps, start=1):
        if k % 3 == 0:
            browser.find_element(By.ID, "next").click()
        else:
            body.send_keys(Keys.ARROW_RIGHT if k % 2 else "n")
        assert counter.text == f"step {k} / {len(steps)}"
        (current,) = browser.find_elements(By.CSS_SELECTOR, "#graph g.node.current")
        label = current.find_element(By.TAG_NAME, "text").text
        assert label.split(" ")[0] == step.op, (k, label)
        assert browser.find_element(By.ID, "heading").text == f"Step {k}: VJP of {step.op}"
        assert browser.find_element(By.ID, "rule").text == (step.node.op.rule or step.op)
        assert_displays(browser.find_element(By.CSS_SELECTOR, "#arriving .grad").text,
                        step.grad_output)
        sent = browser.find_elements(By.CSS_SELECTOR, "#sent li")
        expected = [(i, g) for i, g in enumerate(step.grad_inputs) if g is not None]
        assert len(sent) == len(expected)
        for li, (i, g) in zip(sent, expected):
            assert li.text.startswith(f"to input {i} (")
            assert_displays(li.find_element(By.CLASS_NAME, "grad").text, g)

    # after the last step the table holds every leaf's gradient, x's summed from 3 uses
    rows = browser.find_elements(By.CSS_SELECTOR, "#leaves tr.leaf")
    table = {r.find_element(By.CLASS_NAME, "name").text: r for r in rows}
    assert set(table) == {"x", "W", "b"}
    for name, leaf in ref_leaves.items():
        assert_displays(table[name].find_element(By.CLASS_NAME, "grad").text, leaf.grad.data)
        np.testing.assert_allclose(leaves[name].grad.data, leaf.grad.data, rtol=1e-12)
    assert "sum of 3 contributions" in table["x"].text

    body.send_keys(Keys.ARROW_LEFT)
    body.send_keys("p")
    assert counter.text == f"step {len(steps) - 2} / {len(steps)}"
    browser.find_element(By.ID, "prev").click()
    assert counter.text == f"step {len(steps) - 3} / {len(steps)}"

    shot = tmp_path / "steps.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes().startswith(b"\x89PNG")
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert not errors, errors
