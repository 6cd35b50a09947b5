"""The web pages in a real browser: Debian's chromium, driven by selenium through
chromium-driver, against the real service on simulated modems.

What only a browser shows: the pages work with the Content-Security-Policy they are sent
(no inline script to be blocked), the dashboard's script updates it without a reload,
and text from strangers stays text: no alert dialog opens and the console stays clean.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from hil.waiting import wait_for

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "alice's password"
ADMIN_PASSWORD = "the admin's own password"
XSS = ("<img src=x onerror=alert(1)>", "</script><script>alert(1)</script>")
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")

if CHROMIUM is None or DRIVER is None:
    if os.environ.get("CI"):
        raise RuntimeError("chromium and chromium-driver are missing on CI: the Makefile's test target installs them")
    pytest.skip("chromium and chromium-driver (Debian packages) are not installed: `make test` installs them",
                allow_module_level=True)

from selenium import webdriver  # noqa: E402  only once the browser is known to be there
from selenium.common.exceptions import (  # noqa: E402
    NoAlertPresentException,
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

DEADLINE = 60  # seconds: the modems' start-up on a loaded machine included


def _cli(data: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "appliance", *args, "--data", str(data)], cwd=ROOT, check=True,
                   capture_output=True)


class Appliance:
    """``sms-appliance run --simulate 2`` in a process of its own, its console collected."""

    def __init__(self, data: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.lines: list[str] = []
        self.admin_replaced = False  # the first-start password: replaced by _log_in_as_admin
        self.process = subprocess.Popen(
            [sys.executable, "-m", "appliance", "run", "--simulate", "2", "--data", str(data),
             "--listen", f"127.0.0.1:{self.port}"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        threading.Thread(target=self._read, daemon=True).start()
        wait_for(lambda: self.admin_password() or self.process.poll() is not None, DEADLINE, "the service to start")
        assert self.process.poll() is None, "\n".join(self.lines)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def admin_password(self) -> str | None:
        for line in self.lines:
            match = re.search(r"Admin login: user 'admin', password '([^']+)'", line)
            if match:
                return match.group(1)
        return None

    def post(self, path: str, **fields: str) -> str:
        request = urllib.request.Request(self.url + path, data=urllib.parse.urlencode(fields).encode(),
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read().decode()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[Appliance]:
    data = tmp_path_factory.mktemp("browser")
    _cli(data, "user", "set", "alice", "--password", PASSWORD)
    _cli(data, "receive-connector", "set", "inbound", "--no-token")
    running = Appliance(data)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or ""
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=420,900"):
        options.add_argument(argument)  # a phone's width
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER or ""))
    yield driver
    driver.quit()


@pytest.fixture
def page(browser, service) -> Iterator[webdriver.Chrome]:
    """The browser, logged out, its console emptied."""
    browser.get(service.url + "/login")
    browser.delete_all_cookies()
    browser.get_log("browser")
    yield browser


def _wait(driver: webdriver.Chrome, condition, what: str) -> None:
    """Until ``condition(driver)`` holds; an element read from the page the browser is just
    leaving (stale) is only a look too early, as is one not there yet."""
    WebDriverWait(driver, DEADLINE, poll_frequency=0.05,
                  ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
                  ).until(condition, message=what)


def _log_in(driver: webdriver.Chrome, service: Appliance, name: str, password: str) -> None:
    driver.get(service.url + "/login")
    driver.find_element(By.NAME, "username").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form.panel button").click()
    # every page of a logged-in user, and only those, has the Log out button
    _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "form.logout"), "the login to go through")


def _text(driver: webdriver.Chrome, selector: str) -> list[str]:
    return [element.text for element in driver.find_elements(By.CSS_SELECTOR, selector)]


def _screenshot(driver: webdriver.Chrome, name: str) -> None:
    """With UI_SCREENSHOTS=<folder> (docs/screenshots for the README's), the page as this run shows it."""
    folder = os.environ.get("UI_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(Path(folder) / f"{name}.png"))


def _console_errors(driver: webdriver.Chrome) -> list[dict]:
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def _log_in_as_admin(driver: webdriver.Chrome, service: Appliance) -> None:
    """The administrator with their own password: the first-start one is replaced on the
    way, by whichever test logs in as the administrator first (each runs alone too)."""
    if service.admin_replaced:
        _log_in(driver, service, "admin", ADMIN_PASSWORD)
        return
    _log_in(driver, service, "admin", service.admin_password() or "")
    assert driver.current_url.endswith("/password")
    driver.find_element(By.NAME, "current").send_keys(service.admin_password() or "")
    driver.find_element(By.NAME, "password").send_keys(ADMIN_PASSWORD)
    driver.find_element(By.NAME, "confirm").send_keys(ADMIN_PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form.panel button").click()
    _wait(driver, lambda d: d.current_url.rstrip("/") == service.url, "the dashboard after the new password")
    service.admin_replaced = True


def test_the_first_start_password_is_replaced_then_the_dashboard_shows_the_modems(page, service):
    _log_in_as_admin(page, service)
    _wait(page, lambda d: _text(d, "[data-gateway] [data-field=state]") == ["ready", "ready"],
          "both simulated modems shown ready")
    _wait(page, lambda d: all(s.endswith(" dBm") for s in _text(d, "[data-gateway] [data-field=signal]")),
          "each modem's signal in dBm")
    assert len(_text(page, "[data-gateway] h2")) == 2
    _screenshot(page, "dashboard")
    assert _console_errors(page) == []


def test_the_dashboard_follows_a_sent_sms_without_a_reload(page, service):
    _log_in(page, service, "alice", PASSWORD)
    _wait(page, lambda d: _text(d, "[data-gateway] [data-field=state]") == ["ready", "ready"], "modems ready")
    page.execute_script("window.notReloaded = true;")
    def sent_today(driver):  # each card's "N today, M in all"
        return sum(int(n.split()[0]) for n in _text(driver, "[data-gateway] [data-field=sent]"))
    before = sent_today(page)
    reply = service.post("/http/send-message", username="alice", password=PASSWORD, to="+447700900123",
                         message="from the browser test")
    assert reply.startswith("OK"), reply
    _wait(page, lambda d: sent_today(d) == before + 1,
          "the dashboard to count the SMS sent")
    assert page.execute_script("return window.notReloaded === true;")
    page.get(service.url + "/messages")
    _wait(page, lambda d: "from the browser test" in _text(d, ".message .text"), "the SMS in the sent list")
    _screenshot(page, "sent")
    assert _console_errors(page) == []


def test_a_received_sms_carrying_markup_shows_as_text_and_runs_nothing(page, service):
    for payload in XSS:
        assert '"duplicate": false' in service.post("/receive/inbound", **{"from": "+447700900999", "message": payload})
    _log_in(page, service, "alice", PASSWORD)
    page.get(service.url + "/received")
    _wait(page, lambda d: set(XSS) <= set(_text(d, ".message .text")), "both payloads listed as text")
    with pytest.raises(NoAlertPresentException):
        page.switch_to.alert  # noqa: B018  no dialog opened
    assert page.find_elements(By.CSS_SELECTOR, "main img, main script") == []
    _screenshot(page, "received")
    assert _console_errors(page) == []


def test_a_form_sent_without_its_csrf_token_changes_nothing(page, service):
    _log_in(page, service, "alice", PASSWORD)
    page.get(service.url + "/password")
    page.execute_script("document.querySelector('form.panel input[name=csrf]').remove();")
    page.find_element(By.NAME, "current").send_keys(PASSWORD)
    page.find_element(By.NAME, "password").send_keys("a password of the attacker")
    page.find_element(By.NAME, "confirm").send_keys("a password of the attacker")
    page.find_element(By.CSS_SELECTOR, "form.panel button").click()
    _wait(page, lambda d: "CSRF" in d.find_element(By.CSS_SELECTOR, "main").text, "the refusal")
    page.delete_all_cookies()
    _log_in(page, service, "alice", PASSWORD)  # the password is still alice's
    assert page.current_url.rstrip("/") == service.url


def test_a_test_sms_sent_from_the_form_turns_sent_on_its_page_without_a_reload(page, service):
    _log_in(page, service, "alice", PASSWORD)
    page.get(service.url + "/send")
    page.find_element(By.NAME, "number").send_keys("+447700900123")
    page.find_element(By.ID, "text").send_keys("Привет from the form")
    # the count of the whole text: one asked for while typing may hold only its start
    _wait(page, lambda d: (d.find_element(By.ID, "encoding").text, d.find_element(By.ID, "left").text)
          == ("UCS-2", str(70 - len("Привет from the form"))), "the count to follow the typing")
    _screenshot(page, "send")
    page.find_element(By.CSS_SELECTOR, "form.send button").click()
    _wait(page, lambda d: re.search(r"/messages/[^/]+$", d.current_url), "the message's page")
    page.execute_script("window.notReloaded = true;")
    _wait(page, lambda d: d.find_element(By.ID, "state").text in ("Sent", "Delivered"), "the message to turn Sent")
    # the simulated network reports delivery seconds later: only the page's polling shows it
    _wait(page, lambda d: d.find_element(By.ID, "state").text == "Delivered", "the message to turn Delivered")
    _wait(page, lambda d: _text(d, "#parts td:nth-child(6)") and "no report yet" not in _text(d, "#parts td"),
          "the part's delivery report")
    assert page.execute_script("return window.notReloaded === true;")
    assert page.find_element(By.CSS_SELECTOR, "#message .text").text == "Привет from the form"
    _screenshot(page, "message")
    errors = _console_errors(page)
    assert errors == [], errors


def test_logout_ends_the_session(page, service):
    _log_in(page, service, "alice", PASSWORD)
    page.find_element(By.CSS_SELECTOR, "form.logout button").click()
    _wait(page, lambda d: d.current_url.endswith("/login"), "the login page after logging out")
    page.get(service.url + "/")
    assert page.current_url.endswith("/login")
    assert page.find_elements(By.CSS_SELECTOR, "form.logout") == []


def test_an_administrator_creates_a_user_and_a_key_that_user_gets_403_on_administration(page, service):
    _log_in_as_admin(page, service)
    page.find_element(By.LINK_TEXT, "Administration").click()
    _wait(page, lambda d: d.current_url.endswith("/admin/users"), "the users page")
    page.find_element(By.CSS_SELECTOR, "form.panel input[name=name]").send_keys("carol")
    page.find_element(By.CSS_SELECTOR, "form.panel input[name=password]").send_keys("carol's password")
    page.find_element(By.CSS_SELECTOR, "form.panel button").click()
    _wait(page, lambda d: _text(d, ".notice") == ["User carol created, a user."], "the user created")
    page.find_element(By.LINK_TEXT, "API keys").click()
    _wait(page, lambda d: d.current_url.endswith("/admin/keys"), "the keys page")
    page.find_element(By.CSS_SELECTOR, "form.panel select[name=user] option[value=carol]").click()
    page.find_element(By.CSS_SELECTOR, "form.panel input[name=name]").send_keys("shop")
    page.find_element(By.CSS_SELECTOR, "form.panel button").click()
    _wait(page, lambda d: _text(d, "code.token"), "the new key's token")
    (token,) = _text(page, "code.token")
    assert token.startswith("sk_")
    page.get(service.url + "/admin/keys")  # shown once: never again
    _wait(page, lambda d: "shop" in _text(d, "table.admin td"), "the key listed")
    assert token not in page.page_source and _text(page, "code.token") == []
    assert _console_errors(page) == []
    page.delete_all_cookies()
    _log_in(page, service, "carol", "carol's password")
    assert page.find_elements(By.LINK_TEXT, "Administration") == []
    page.get(service.url + "/admin/users")
    _wait(page, lambda d: "Administrators only" in _text(d, "main h1"), "the refusal")
    assert "carol's password" not in page.page_source
