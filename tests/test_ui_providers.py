"""Provider gateways on /admin/gateways and "add a gateway" (/admin/providers/add): the
running service with a fake SMSAPI over HTTPS, the pages without a browser."""

from __future__ import annotations

import re

import pytest
from test_gateway_test_sms import PASSWORD, TOKEN, fake, service  # noqa: F401  the fixtures
from test_ui import Browser
from test_ui_admin import ERROR, NOTICE, shown

from appliance.app import service as service_module
from appliance.store.models import ConfigOverride, OutboundMessage

SECRET = "p@ss-Word-42"


@pytest.fixture
def site(request, monkeypatch):
    """The running service's own WSGI application, for a Browser."""
    apps = []
    create = service_module.create_app

    def recorded(*args, **kwargs):
        apps.append(create(*args, **kwargs))
        return apps[-1]
    monkeypatch.setattr(service_module, "create_app", recorded)
    request.getfixturevalue("service")
    return apps[0]


def login(site, name: str) -> Browser:
    browser = Browser(site)
    assert browser.login(name, PASSWORD).status == 303
    return browser


def test_the_gateways_page_lists_providers_with_their_secrets_masked(site):
    page = login(site, "root").get("/admin/gateways")
    assert page.status == 200
    row = re.search(r'<tr data-name="SMSAPI I">.*?</tr>', page.text, re.S).group(0)
    assert "SMSAPI" in row and "127.0.0.1" in row and "token: ***" in row and "ready" in row
    assert TOKEN not in page.text
    assert 'src="/ui/static/providers/smsapi.svg"' in page.text
    logo = login(site, "root").get("/ui/static/providers/smsapi.svg")
    assert logo.status == 200 and logo.text.startswith("<svg")


def test_the_action_buttons_work_for_a_provider_gateway(site):
    browser = login(site, "root")
    answer = browser.post("/admin/gateways/SMSAPI I/pause", {"csrf": browser.csrf("/admin/gateways")})
    assert shown(browser, answer) == "SMSAPI I: sending paused"
    answer = browser.post("/admin/gateways/SMSAPI I/resume", {"csrf": browser.csrf("/admin/gateways")})
    assert shown(browser, answer) == "SMSAPI I: sending resumed"


def test_the_test_button_sends_and_shows_the_providers_answer(site, fake):  # noqa: F811
    browser = login(site, "root")
    answer = browser.post("/admin/gateways/SMSAPI II/test", {"csrf": browser.csrf("/admin/gateways"),
                                                               "to": "+48500000009", "text": "from the page"})
    (accepted,) = fake.accepted
    assert accepted["text"] == "from the page"
    notice = shown(browser, answer, NOTICE)
    assert notice.startswith("SMSAPI II: test SMS to +48500000009: sent") and accepted["id"] in notice
    answer = browser.post("/admin/gateways/SMSAPI II/test", {"csrf": browser.csrf("/admin/gateways"),
                                                               "to": "", "text": "x"})
    assert answer.status == 422 and "to" in shown(browser, answer, ERROR)


def test_no_administrator_no_test_and_no_csrf_no_test(site, fake):  # noqa: F811
    alice = login(site, "alice")
    for path in ("/admin/gateways", "/admin/providers/add"):
        assert alice.get(path).status == 403, path
    fields = {"to": "+48500000009", "text": "x"}
    assert alice.post("/admin/gateways/SMSAPI I/test", {"csrf": alice.csrf("/"), **fields}).status == 403
    assert alice.post("/admin/providers/add", {"csrf": alice.csrf("/"), "name": "x"}).status == 403
    root = login(site, "root")
    assert root.post("/admin/gateways/SMSAPI I/test", {"csrf": "forged", **fields}).status == 403
    assert OutboundMessage.select().count() == 0 and fake.requests == 0


def test_add_a_gateway_lists_the_types_and_loads_nothing_remote(site):
    page = login(site, "root").get("/admin/providers/add")
    assert page.status == 200
    for kind in ("smsapi", "twilio", "clickatell", "infobip", "http"):
        assert f'src="/ui/static/providers/{kind}.svg"' in page.text
    assert not re.search(r'(src|href)="(https?:)?//', page.text)


def test_add_a_gateway_answers_with_the_table_once_escaped_and_stores_nothing(site):
    browser = login(site, "root")
    fields = {"csrf": browser.csrf("/admin/providers/add"), "type": "smsapi", "name": 'Clinic <b>"x"</b>',
              "username": "clinic", "password": SECRET}
    answer = browser.post("/admin/providers/add", fields)
    assert answer.status == 200
    assert "<b>" not in answer.text and "&lt;b&gt;" in answer.text
    assert "[[provider]]" in answer.text and answer.text.count(SECRET) == 1  # in the table, not in the form
    assert 'type = &quot;smsapi&quot;' in answer.text
    assert ConfigOverride.select().count() == 0


def test_add_a_gateway_refuses_a_table_the_config_file_would_refuse(site):
    browser = login(site, "root")
    answer = browser.post("/admin/providers/add", {"csrf": browser.csrf("/admin/providers/add"), "type": "smsapi",
                                                   "name": "", "token": SECRET})
    assert answer.status == 422 and "name" in shown(browser, answer, ERROR)
    assert SECRET not in answer.text


def test_the_property_form_changes_a_providers_settings_and_refuses_a_bad_one(site):
    browser = login(site, "root")
    page = browser.get("/admin/gateways").text
    assert 'name="properties.Token" type="password" value=""' in page and TOKEN not in page
    answer = browser.post("/admin/gateways/SMSAPI I", {"csrf": browser.csrf("/admin/gateways"), "reload": "1",
                                                       "properties.Sender": "Clinic", "properties.Token": ""})
    assert shown(browser, answer) == "SMSAPI I: set Sender; restarted."   # an empty secret keeps the token
    assert ConfigOverride.get().property == "Sender"
    answer = browser.post("/admin/gateways/SMSAPI I", {"csrf": browser.csrf("/admin/gateways"), "reload": "1",
                                                       "properties.Username": "clinic"})
    assert answer.status == 422
    assert shown(browser, answer, ERROR) == "Username: give token, or a username and password, not both"
    assert ConfigOverride.select().count() == 1
