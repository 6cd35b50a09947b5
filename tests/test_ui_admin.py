"""The administration pages without a browser: users, API keys, gateways and connectors.

Each action works; a wrong value is refused with the error naming its field and changes
nothing; a form without its CSRF token is 403 and changes nothing; a user who is no
administrator gets 403 on every URL and action, and sees no link to them; an API key's
token is on one page only."""

from __future__ import annotations

import re

import pytest
from test_ui import PASSWORD, Browser, status

from appliance.accounts import api_keys, users
from appliance.accounts.authenticator import Authenticator
from appliance.store.inbox import Inbox
from appliance.store.models import ApiKey, ConfigOverride, User
from appliance.web.app import create_app
from appliance.web.diafaan.commands import HttpApiContext
from appliance.web.ui.pages import HEADERS

NOTICE = re.compile(r'<p class="notice" role="status">([^<]*)</p>')
ERROR = re.compile(r'<p class="error" role="alert">([^<]*)</p>')


@pytest.fixture
def rig(control_rig):
    return control_rig()


@pytest.fixture
def site(rig):
    users.set_user("alice", PASSWORD)
    users.set_user("root", PASSWORD, admin=True)
    context = HttpApiContext(queue=rig.queue, authenticator=Authenticator(), connector="HTTP API",
                             gateway_names=lambda: ("GSM1", "GSM2"), on_accepted=lambda: None,
                             inbox=Inbox(rig.database), server_status=status,
                             control=rig.control)
    return create_app(context)


def admin(site) -> Browser:
    browser = Browser(site)
    assert browser.login("root").status == 303
    return browser


def post(browser: Browser, path: str, fields: dict | None = None, page: str = "/admin/users"):
    """``fields`` posted from ``page`` with its CSRF token, as the page's form does."""
    return browser.post(path, {"csrf": browser.csrf(page), **(fields or {})})


def shown(browser: Browser, answer, pattern=NOTICE) -> str:
    """The one-line result: on the page a redirect leads to, or on the page answered."""
    if answer.status == 303:
        answer = browser.get(answer.headers["Location"])
    match = pattern.search(answer.text)
    assert match, answer.text
    return match.group(1).replace("&#039;", "'")


def users_now() -> dict[str, bool]:
    return {u.name: u.is_admin for u in User.select()}


# -- who may ----------------------------------------------------------------------------

ADMIN_GETS = ("/admin", "/admin/users", "/admin/keys", "/admin/gateways")
ADMIN_POSTS = ("/admin/users", "/admin/users/alice/role", "/admin/users/alice/password", "/admin/users/root/delete",
               "/admin/keys", "/admin/keys/1/revoke", "/admin/gateways/GSM1/stop", "/admin/gateways/GSM1",
               "/admin/connectors/Hook/stop", "/admin/connectors/Hook")


def test_a_user_who_is_no_administrator_gets_403_everywhere_and_sees_no_link(site, rig):
    browser = Browser(site)
    browser.login("alice")
    assert "/admin" not in browser.get("/").text
    for path in ADMIN_GETS:
        answer = browser.get(path)
        assert answer.status == 403, path
        assert answer.headers["Content-Security-Policy"] == HEADERS["Content-Security-Policy"]
    before = users_now()
    for path in ADMIN_POSTS:
        fields = {"name": "mallory", "password": "long enough", "role": "administrator", "properties.Enabled": "0"}
        assert post(browser, path, fields, page="/").status == 403, path
    assert users_now() == before and ApiKey.select().count() == 0 and ConfigOverride.select().count() == 0
    assert rig.control.stopped_gateways == {"GSM2"} and not rig.control.stopped_connectors  # GSM2: disabled
    assert "/admin/users" in admin(site).get("/").text  # an administrator has the link


def test_any_other_admin_url_is_403_for_a_user_and_404_for_an_administrator(site):
    user = Browser(site)
    user.login("alice")
    root = admin(site)
    for method, path in (("GET", "/admin/users/alice/role"), ("GET", "/admin/keys/1/revoke"),
                         ("GET", "/admin/nothing"), ("POST", "/admin/nothing/here")):
        assert user.request(method, path).status == 403, (method, path)
        assert root.request(method, path).status == 404, (method, path)


def test_without_a_session_the_pages_send_to_the_login_page(site):
    for path in ADMIN_GETS:
        assert Browser(site).get(path).status == 303


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(site, rig):
    browser = admin(site)
    before = users_now()
    for path in ADMIN_POSTS:
        fields = {"name": "mallory", "password": "long enough", "role": "user", "user": "root",
                  "properties.SendLimitDay": "5"}
        assert browser.post(path, fields).status == 403, path
        assert browser.post(path, {**fields, "csrf": "forged"}).status == 403, path
    assert users_now() == before and ApiKey.select().count() == 0 and ConfigOverride.select().count() == 0
    assert rig.control.stopped_gateways == {"GSM2"} and not rig.control.stopped_connectors  # GSM2: disabled


# -- users ------------------------------------------------------------------------------

def test_an_administrator_creates_a_user_changes_its_role_and_password_and_deletes_it(site):
    browser = admin(site)
    answer = post(browser, "/admin/users", {"name": "bob", "password": "bob's secret", "role": "user"})
    assert answer.status == 303 and shown(browser, answer) == "User bob created, a user."
    assert users_now()["bob"] is False and users.authenticate("bob", "bob's secret") is not None
    assert "bob" in browser.get("/admin/users").text
    assert shown(browser, post(browser, "/admin/users/bob/role", {"role": "administrator"})) \
        == "bob is now an administrator."
    assert users_now()["bob"] is True
    bob = Browser(site)
    bob.login("bob", "bob's secret")
    assert shown(browser, post(browser, "/admin/users/bob/password", {"password": "another one"})) \
        == "New password set for bob."
    assert users.authenticate("bob", "another one") is not None
    assert bob.get("/").status == 303, "the new password ends bob's sessions"
    assert shown(browser, post(browser, "/admin/users/bob/delete")) == "User bob deleted."
    assert "bob" not in users_now()


@pytest.mark.parametrize(("fields", "error"), [
    ({"name": "a b", "password": "long enough", "role": "user"},
     "name: must be a user name of 1 to 64 letters, digits or . _ @ -, not 'a b'"),
    ({"name": "bob", "password": "short", "role": "user"}, "password: must be a string of at least 8 characters"),
    ({"name": "bob", "password": "long enough", "role": "king"},
     "role: must be one of user, administrator, not 'king'"),
    ({"name": "alice", "password": "long enough", "role": "user"}, "name: a user named 'alice' exists"),
])
def test_a_wrong_new_user_is_refused_naming_the_field(site, fields, error):
    browser = admin(site)
    before = users_now()
    answer = post(browser, "/admin/users", fields)
    assert answer.status in (409, 422) and shown(browser, answer, ERROR) == error
    assert users_now() == before


def test_the_last_administrator_and_ones_own_account_are_kept(site):
    browser = admin(site)
    answer = post(browser, "/admin/users/root/role", {"role": "user"})
    assert answer.status == 409
    assert shown(browser, answer, ERROR) == "root is the only administrator; taking the role would leave none"
    answer = post(browser, "/admin/users/root/delete")
    assert (answer.status, shown(browser, answer, ERROR)) == (409, "you cannot delete the account you are using")
    answer = post(browser, "/admin/users/alice/password", {"password": "short"})
    assert (answer.status, shown(browser, answer, ERROR)) \
        == (422, "password: must be a string of at least 8 characters")
    assert users_now() == {"alice": False, "root": True}
    assert users.authenticate("alice", PASSWORD) is not None
    assert post(browser, "/admin/users/nobody/delete").status == 404


# -- API keys ---------------------------------------------------------------------------

def test_an_api_key_is_made_shown_once_listed_by_its_prefix_and_revoked(site):
    browser = admin(site)
    answer = post(browser, "/admin/keys", {"user": "alice", "name": "<b>shop</b>"}, page="/admin/keys")
    assert answer.status == 201
    (token,) = re.findall(r'<code class="token">([^<]+)</code>', answer.text)
    principal = api_keys.authenticate(token)
    assert principal is not None and principal.name == "alice"
    key = ApiKey.get()
    listing = browser.get("/admin/keys").text
    assert token not in listing and key.prefix in listing and "&lt;b&gt;shop&lt;/b&gt;" in listing
    answer = post(browser, f"/admin/keys/{key.id}/revoke", page="/admin/keys")
    assert shown(browser, answer) == f"Key {key.prefix}… of alice revoked."
    assert ApiKey.select().count() == 0 and api_keys.authenticate(token) is None
    assert post(browser, f"/admin/keys/{key.id}/revoke", page="/admin/keys").status == 404


@pytest.mark.parametrize(("fields", "error"), [
    ({"user": "nobody", "name": "x"}, "user: user 'nobody' does not exist"),
    ({"user": "alice", "name": "x" * 65}, "name: is longer than 64 characters"),
    ({"user": "alice", "name": "tab\there"}, "name: a key's name is at most 64 printable characters"),
])
def test_a_wrong_api_key_is_refused_naming_the_field(site, fields, error):
    browser = admin(site)
    answer = post(browser, "/admin/keys", fields, page="/admin/keys")
    assert answer.status == 422 and shown(browser, answer, ERROR) == error
    assert "sk_" not in answer.text and ApiKey.select().count() == 0


# -- gateways and connectors ------------------------------------------------------------

def test_gateway_and_connector_actions_run_through_the_control(site, rig):
    browser = admin(site)
    page = "/admin/gateways"
    assert shown(browser, post(browser, "/admin/gateways/GSM1/pause", page=page)) == "GSM1: sending paused"
    assert "GSM1" in rig.router.paused
    assert shown(browser, post(browser, "/admin/gateways/GSM1/resume", page=page)) == "GSM1: sending resumed"
    assert "GSM1" not in rig.router.paused
    assert shown(browser, post(browser, "/admin/gateways/GSM1/reset-send-limit", page=page)) \
        == "GSM1: send limit reset"
    assert shown(browser, post(browser, "/admin/gateways/GSM1/stop", page=page)) == "GSM1: stopped"
    assert "GSM1" in rig.control.stopped_gateways
    assert shown(browser, post(browser, "/admin/gateways/GSM1/start", page=page)) == "GSM1: started"
    assert "GSM1" not in rig.control.stopped_gateways
    assert shown(browser, post(browser, "/admin/connectors/Hook/stop", page=page)) == "Hook: stopped"
    assert "Hook" in rig.control.stopped_connectors
    assert shown(browser, post(browser, "/admin/connectors/HTTP API/stop", page=page)) == "HTTP API: stopped"
    answer = post(browser, "/admin/gateways/GSM2/start", page=page)  # disabled: refused as by the API
    assert answer.status == 409
    assert shown(browser, answer, ERROR) == "GSM2: is disabled (Enabled is 0): set-gateway-property Enabled=1 starts it"
    answer = post(browser, "/admin/gateways/GSM9/stop", page=page)
    assert answer.status == 404 and "GSM9" in shown(browser, answer, ERROR)


def test_a_property_is_set_and_a_secret_never_shown(site, rig):
    browser = admin(site)
    page = browser.get("/admin/gateways").text
    assert "1234" not in page and "s3cret-token" not in page  # the PIN and the webhook's token
    answer = post(browser, "/admin/gateways/GSM1", {"properties.SendLimitDay": "20", "properties.Pin": "",
                                                   "properties.Port": "/dev/ttyUSB0", "reload": "1"},
                  page="/admin/gateways")
    assert shown(browser, answer) == "GSM1: set SendLimitDay; restarted."
    assert [(o.name, o.property, o.value) for o in ConfigOverride.select()] == [("GSM1", "SendLimitDay", "20")]
    assert rig.control.config.modems[0].send_limit_day == 20 and rig.control.config.modems[0].pin == "1234"
    answer = post(browser, "/admin/gateways/GSM1", {"properties.Pin": "4321"}, page="/admin/gateways")
    assert shown(browser, answer) == "GSM1: set Pin; applies at its next restart."
    assert rig.control.config.modems[0].pin == "4321" and "4321" not in browser.get("/admin/gateways").text
    answer = post(browser, "/admin/gateways/GSM1", {"properties.Pin": "", "clear.Pin": "1"}, page="/admin/gateways")
    assert shown(browser, answer) == "GSM1: set Pin; applies at its next restart."
    assert rig.control.config.modems[0].pin is None
    answer = post(browser, "/admin/connectors/Hook", {"properties.Timeout": "7", "routing.GSM2.Send": "0",
                                                      "reload": "1"}, page="/admin/gateways")
    assert shown(browser, answer) == "Hook: set Timeout, GSM2.Send; restarted."


@pytest.mark.parametrize(("path", "fields", "error"), [
    ("/admin/gateways/GSM1", {"properties.SendLimitDay": "lots", "properties.Model": "x"},
     "SendLimitDay: must be a whole number, not 'lots'"),
    ("/admin/gateways/GSM1", {"properties.Colour": "red"}, "Colour: not a gateway property (there are: Enabled, Port, "
     "Baudrate, Model, Pin, Smsc, DeliveryReports, SendLimitDay, SendLimitMonth, SendRatePerMinute)"),
    ("/admin/connectors/HTTP API", {"properties.Url": "http://x"},
     "Url: only a webhook connector has one; 'HTTP API' is of type 'http'"),
])
def test_a_wrong_property_is_refused_naming_the_field_and_nothing_is_kept(site, rig, path, fields, error):
    browser = admin(site)
    answer = post(browser, path, {**fields, "reload": "1"}, page="/admin/gateways")
    assert (answer.status, shown(browser, answer, ERROR)) == (422, error)
    assert ConfigOverride.select().count() == 0 and rig.control.config == rig.config and not rig.control.pending
