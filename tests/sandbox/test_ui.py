"""The sandbox inbox page in headless Chromium: a delivered message, a user's inbox, a fault."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import USER1, Sandbox, wait_for

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
DOCS = Path(__file__).resolve().parents[2] / "docs"

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver;"
    " .ci/run installs them)",
)


@pytest.fixture
def browser() -> Iterator[object]:
    """Headless Chromium driven by Selenium."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or ""
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def test_inbox_shows_messages_and_toggles_a_fault(sandbox: Sandbox, browser: object) -> None:
    from selenium.webdriver.common.by import By

    driver = browser  # type: ignore[assignment]
    token = sandbox.app_token()
    body = {
        "From": "mxitdemo",
        "To": USER1,
        "Body": "Hello *world*, try {0}",
        "ContainsMarkup": True,
        "Links": [{"CreateTemporaryContact": True, "TargetService": "quiz", "Text": "the quiz"}],
    }
    resp = requests.post(
        f"{sandbox.urls.api}/message/send/", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert resp.status_code == 200
    driver.get(f"{sandbox.urls.control}/ui")  # type: ignore[attr-defined]

    def text() -> str:
        return driver.find_element(By.ID, "messages").text  # type: ignore[attr-defined]

    # Markup is rendered as text: the bold word and the link's label, no asterisks or {0}.
    wait_for(lambda: "Hello world, try the quiz" in text(), timeout=15)
    assert driver.find_element(By.CSS_SELECTOR, "#messages .body b").text == "world"  # type: ignore[attr-defined]

    search = driver.find_element(By.ID, "q")  # type: ignore[attr-defined]
    search.send_keys(USER1)
    user = wait_for(
        lambda: [u for u in driver.find_elements(By.CSS_SELECTOR, ".user") if USER1 in u.text]  # type: ignore[attr-defined]
    )[0]
    user.click()
    title = lambda: driver.find_element(By.ID, "inbox-title").text.lower()  # type: ignore[attr-defined]  # noqa: E731
    wait_for(lambda: "inbox of " + USER1 in title())
    wait_for(lambda: "Hello world" in text())

    pattern = driver.find_element(By.ID, "f-pattern")  # type: ignore[attr-defined]
    pattern.clear()
    pattern.send_keys("POST /api/message/send*")
    driver.find_element(By.ID, "f-add").click()  # type: ignore[attr-defined]
    faults = wait_for(lambda: sandbox.control.call("GET", "/faults")["faults"])
    assert faults[0]["pattern"] == "POST /api/message/send*" and faults[0]["error_status"] == 503
    wait_for(lambda: "POST /api/message/send*" in driver.find_element(By.ID, "faults").text)  # type: ignore[attr-defined]
    DOCS.mkdir(exist_ok=True)
    driver.save_screenshot(str(DOCS / "inbox.png"))  # type: ignore[attr-defined]
    driver.find_element(By.ID, "f-clear").click()  # type: ignore[attr-defined]
    wait_for(lambda: sandbox.control.call("GET", "/faults")["faults"] == [])
