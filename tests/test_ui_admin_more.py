"""The receive connectors' administration page and the contacts page, without a browser.

Each action works; a wrong value is refused with a message naming its field and changes
nothing; a form without its CSRF token is 403 and changes nothing; a user who is no
administrator gets 403 on the receive connectors and sees only their own contacts; a
receive connector's token is on one page only and stored as its hash; names are escaped."""

from __future__ import annotations

import re

import pytest
from test_ui import PASSWORD, Browser
from test_ui_admin import ERROR, admin, post, rig, shown, site  # noqa: F401  rig, site: the fixtures

from appliance.accounts import users
from appliance.connectors import receive
from appliance.messages import contacts
from appliance.store.models import Contact, ContactGroup, ReceiveConnector, User

TOKEN = re.compile(r'<code class="token">([^<]+)</code>')
PAGE = "/admin/receive"


def connectors_now() -> list[tuple]:
    return [(c.name, c.number, c.routing, c.target, c.subject, c.require_token, c.token_hash)
            for c in ReceiveConnector.select().order_by(ReceiveConnector.name)]


def book_now() -> tuple[list[tuple], list[tuple]]:
    """Every user's contacts and groups (with their members), as stored."""
    people = [(c.user.name, c.name, c.number) for c in Contact.select().order_by(Contact.id)]
    groups = [(g.user.name, g.name, tuple(m.contact.name for m in g.members.order_by("position")))
              for g in ContactGroup.select().order_by(ContactGroup.id)]
    return people, groups


def user(site, name: str = "alice") -> Browser:  # noqa: F811
    browser = Browser(site)
    assert browser.login(name).status == 303
    return browser


# -- receive connectors -----------------------------------------------------------------

RECEIVE_POSTS = (PAGE, f"{PAGE}/shop", f"{PAGE}/shop/token", f"{PAGE}/shop/delete")


def test_a_user_who_is_no_administrator_gets_403_on_the_receive_connectors(site):  # noqa: F811
    receive.set_connector("shop", {"HTTP API": "http"})
    before = connectors_now()
    browser = user(site)
    assert "/admin/receive" not in browser.get("/").text
    assert browser.get(PAGE).status == 403
    for path in RECEIVE_POSTS:
        answer = post(browser, path, {"name": "mallory", "routing": "inbox", "token": "1"}, page="/")
        assert answer.status == 403, path
        assert not TOKEN.search(answer.text)
    assert connectors_now() == before
    assert "/admin/receive" in admin(site).get("/admin/users").text  # an administrator has the link


def test_a_receive_form_without_its_csrf_token_is_refused_and_changes_nothing(site):  # noqa: F811
    receive.set_connector("shop", {"HTTP API": "http"})
    before = connectors_now()
    browser = admin(site)
    for path in RECEIVE_POSTS:
        fields = {"name": "other", "routing": "inbox", "number": "+447700900123"}
        assert browser.post(path, fields).status == 403, path
        assert browser.post(path, {**fields, "csrf": "forged"}).status == 403, path
    assert connectors_now() == before


def test_a_receive_connector_is_made_with_its_token_shown_once_and_stored_as_its_hash(site):  # noqa: F811
    browser = admin(site)
    answer = post(browser, PAGE, {"name": "shop", "number": "+44 7700 900123", "routing": "inbox", "target": "",
                                  "subject": "", "token": "1"}, page=PAGE)
    assert answer.status == 201
    (token,) = TOKEN.findall(answer.text)
    stored = ReceiveConnector.get(ReceiveConnector.name == "shop")
    assert (stored.number, stored.routing, stored.target, stored.require_token) \
        == ("+447700900123", "inbox", "HTTP API", True)
    assert stored.token_hash == receive.hash_token(token) and token not in stored.token_hash
    assert receive.token_matches(stored, token)
    listing = browser.get(PAGE).text
    assert token not in listing and not TOKEN.search(listing)
    assert "/receive/shop" in listing and "+447700900123" in listing and "required" in listing


def test_a_new_token_replaces_the_old_one(site):  # noqa: F811
    _, old = receive.set_connector("shop", {"HTTP API": "http"})
    browser = admin(site)
    answer = post(browser, f"{PAGE}/shop/token", page=PAGE)
    assert answer.status == 200
    (token,) = TOKEN.findall(answer.text)
    stored = ReceiveConnector.get(ReceiveConnector.name == "shop")
    assert token != old and receive.token_matches(stored, token) and not receive.token_matches(stored, old)
    assert token not in browser.get(PAGE).text


def test_a_receive_connector_is_changed_and_removed(site):  # noqa: F811
    receive.set_connector("shop", {"HTTP API": "http"})
    browser = admin(site)
    fields = {"number": "", "routing": "webhook", "target": "Hook", "subject": "orders"}  # token unticked
    answer = post(browser, f"{PAGE}/shop", fields, page=PAGE)
    assert shown(browser, answer) == "Receive connector shop saved."
    assert connectors_now() == [("shop", "", "webhook", "Hook", "orders", False, "")]
    answer = post(browser, f"{PAGE}/shop", {**fields, "token": "1"}, page=PAGE)  # a token again: a new one
    (token,) = TOKEN.findall(answer.text)
    assert receive.token_matches(ReceiveConnector.get(), token)
    answer = post(browser, f"{PAGE}/shop/delete", page=PAGE)
    assert shown(browser, answer) == "Receive connector shop removed."
    assert connectors_now() == []
    assert post(browser, f"{PAGE}/shop/delete", page=PAGE).status == 404


def test_a_receive_connector_without_a_token(site):  # noqa: F811
    browser = admin(site)
    answer = post(browser, PAGE, {"name": "open", "routing": "inbox"}, page=PAGE)
    assert shown(browser, answer) == "Receive connector open created; it takes messages without a token."
    assert connectors_now() == [("open", "", "inbox", "HTTP API", "", False, "")]


@pytest.mark.parametrize(("fields", "error"), [
    ({"name": "a b", "routing": "inbox"}, "name must be 1 to 64 letters, digits or . _ - (it is part of the URL)"),
    ({"name": "shop", "routing": "inbox"}, "name: a receive connector named 'shop' exists"),
    ({"name": "new", "routing": "pigeon"}, "routing: 'pigeon' is not one of inbox, webhook"),
    ({"name": "new", "routing": "inbox", "number": "call me"}, "number: "),
    ({"name": "new", "routing": "inbox", "target": "Hook"},
     "target: connector 'Hook' is of type 'webhook'; routing 'inbox' needs a connector of type 'http'"),
    ({"name": "new", "routing": "webhook", "target": "Nowhere"},
     "target: no connector named 'Nowhere' is configured (there are: HTTP API, Hook)"),
    ({"name": "new", "routing": "inbox", "subject": "s" * 201}, "subject: longer than 200 characters"),
])
def test_a_wrong_receive_connector_is_refused_naming_the_field(site, fields, error):  # noqa: F811
    receive.set_connector("shop", {"HTTP API": "http"})
    before = connectors_now()
    browser = admin(site)
    answer = post(browser, PAGE, {**fields, "token": "1"}, page=PAGE)
    assert answer.status in (409, 422)
    assert shown(browser, answer, ERROR).startswith(error)
    assert connectors_now() == before and not TOKEN.search(answer.text)
    answer = post(browser, f"{PAGE}/shop", {**fields, "token": "1"}, page=PAGE)
    if "name" not in error:  # the same setting refused when changing one, which keeps its token
        assert answer.status == 422 and shown(browser, answer, ERROR).startswith(error)
        assert connectors_now() == before and not TOKEN.search(answer.text)


def test_a_receive_connector_name_with_html_shows_escaped(site):  # noqa: F811
    browser = admin(site)
    answer = post(browser, PAGE, {"name": "<b>x</b>", "routing": "inbox", "subject": "<img src=x>"}, page=PAGE)
    assert answer.status == 422 and "<b>x</b>" not in answer.text and "&lt;b&gt;x&lt;/b&gt;" in answer.text
    receive.set_connector("shop", {"HTTP API": "http"}, subject="<img src=x onerror=alert(1)>")
    page = browser.get(PAGE).text
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


# -- contacts and groups ----------------------------------------------------------------

def test_a_user_adds_changes_and_deletes_contacts_and_groups(site):  # noqa: F811
    browser = user(site)
    assert "/contacts" in browser.get("/").text
    answer = post(browser, "/contacts", {"name": "Bob", "number": "+44 7700 900123"}, page="/contacts")
    assert shown(browser, answer) == "Contact Bob added: +447700900123."
    post(browser, "/contacts", {"name": "Carol", "number": "+447700900456"}, page="/contacts")
    bob, carol = Contact.select().order_by(Contact.name)
    answer = post(browser, f"/contacts/{bob.id}", {"name": "Bob", "number": "+447700900999"}, page="/contacts")
    assert shown(browser, answer) == "Contact Bob saved: +447700900999."
    answer = post(browser, "/contacts/groups", {"name": "team", "members": "Carol\r\nBob\r\n"}, page="/contacts")
    assert shown(browser, answer) == "Group team created with 2 member(s)."
    assert [r.number for r in contacts.resolve(User.get(User.name == "alice").id, ["team"])] \
        == ["+447700900456", "+447700900999"]  # as send-message's contact-name finds them
    group = ContactGroup.get()
    answer = post(browser, f"/contacts/groups/{group.id}", {"name": "team", "members": "Bob"}, page="/contacts")
    assert shown(browser, answer) == "Group team saved with 1 member(s)."
    assert book_now()[1] == [("alice", "team", ("Bob",))]
    answer = post(browser, f"/contacts/{carol.id}/delete", page="/contacts")
    assert shown(browser, answer) == "Contact Carol deleted."
    answer = post(browser, f"/contacts/groups/{group.id}/delete", page="/contacts")
    assert shown(browser, answer) == "Group team deleted."
    assert book_now() == ([("alice", "Bob", "+447700900999")], [])


@pytest.mark.parametrize(("path", "fields", "error"), [
    ("/contacts", {"name": "Dave", "number": "call me"}, "number: "),
    ("/contacts", {"name": "", "number": "+447700900123"}, "name: "),
    ("/contacts", {"name": "a;b", "number": "+447700900123"}, "name: "),
    ("/contacts", {"name": "Bob", "number": "+447700900777"}, "name: you already have a contact named 'Bob'"),
    ("/contacts/groups", {"name": "new", "members": "Bob\nNobody"}, "members: you have no contact named 'Nobody'"),
    ("/contacts/groups", {"name": "new", "members": "Bob\nBob"}, "members: a contact is listed twice"),
    ("/contacts/groups", {"name": "team", "members": "Bob"}, "name: you already have a group named 'team'"),
])
def test_a_wrong_contact_or_group_is_refused_naming_the_field(site, path, fields, error):  # noqa: F811
    contacts.set_contact("alice", "Bob", "+447700900123")
    contacts.set_group("alice", "team", ["Bob"])
    before = book_now()
    browser = user(site)
    answer = post(browser, path, fields, page="/contacts")
    assert answer.status in (409, 422), answer.text
    assert shown(browser, answer, ERROR).startswith(error)
    assert book_now() == before


def test_a_contact_change_refused_keeps_the_contact(site):  # noqa: F811
    bob = contacts.set_contact("alice", "Bob", "+447700900123")
    contacts.set_contact("alice", "Carol", "+447700900456")
    before = book_now()
    browser = user(site)
    answer = post(browser, f"/contacts/{bob.id}", {"name": "Carol", "number": "+447700900123"}, page="/contacts")
    assert (answer.status, shown(browser, answer, ERROR)) == (409, "name: you already have a contact named 'Carol'")
    answer = post(browser, f"/contacts/{bob.id}", {"name": "Bob", "number": "nope"}, page="/contacts")
    assert answer.status == 422 and shown(browser, answer, ERROR).startswith("number: ")
    assert book_now() == before


def test_a_contact_form_without_its_csrf_token_changes_nothing(site):  # noqa: F811
    bob = contacts.set_contact("alice", "Bob", "+447700900123")
    group = contacts.set_group("alice", "team", ["Bob"])
    before = book_now()
    browser = user(site)
    for path in ("/contacts", f"/contacts/{bob.id}", f"/contacts/{bob.id}/delete", "/contacts/groups",
                 f"/contacts/groups/{group.id}", f"/contacts/groups/{group.id}/delete"):
        fields = {"name": "Eve", "number": "+447700900666", "members": "Bob"}
        assert browser.post(path, fields).status == 403, path
        assert browser.post(path, {**fields, "csrf": "forged"}).status == 403, path
    assert book_now() == before


def test_a_user_sees_and_changes_only_their_own_book_an_administrator_any(site):  # noqa: F811
    users.set_user("bob", PASSWORD)
    theirs = contacts.set_contact("bob", "Secret friend", "+447700900321")
    group = contacts.set_group("bob", "bobs", ["Secret friend"])
    before = book_now()
    alice = user(site)
    assert "Secret friend" not in alice.get("/contacts").text
    assert alice.get("/contacts?user=bob").status == 403
    assert post(alice, "/contacts", {"user": "bob", "name": "x", "number": "+447700900111"},
                page="/contacts").status == 403
    for path in (f"/contacts/{theirs.id}", f"/contacts/{theirs.id}/delete", f"/contacts/groups/{group.id}/delete"):
        assert post(alice, path, {"name": "x", "number": "+447700900111"}, page="/contacts").status == 404, path
    assert book_now() == before
    root = admin(site)
    assert "Secret friend" in root.get("/contacts?user=bob").text
    assert root.get("/contacts?user=nobody").status == 404
    answer = post(root, "/contacts", {"user": "bob", "name": "Dan", "number": "+447700900222"}, page="/contacts")
    assert answer.headers["Location"] == "/contacts?user=bob" and shown(root, answer) == \
        "Contact Dan added: +447700900222."
    assert ("bob", "Dan", "+447700900222") in book_now()[0]


def test_a_contact_name_with_html_shows_escaped(site):  # noqa: F811
    contacts.set_contact("alice", "<img src=x onerror=alert(1)>", "+447700900123")
    contacts.set_group("alice", "</script><script>alert(1)</script>", ["<img src=x onerror=alert(1)>"])
    page = user(site).get("/contacts").text
    assert "<img src=x" not in page and "<script>alert" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "&lt;/script&gt;&lt;script&gt;" in page
