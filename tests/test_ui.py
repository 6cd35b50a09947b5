"""The web pages without a browser: headers, login and its throttle, sessions, CSRF, the
one-time password, the dashboard's data and the received list's escaping and paging."""

from __future__ import annotations

import io
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

import pytest

from appliance.accounts import users
from appliance.accounts.authenticator import Authenticator
from appliance.store.inbox import Inbox
from appliance.store.models import InboundMessage, User
from appliance.store.queue import NewMessage, Queue
from appliance.web.app import create_app
from appliance.web.diafaan.commands import HttpApiContext
from appliance.web.ui import dashboard, messages, received
from appliance.web.ui.pages import HEADERS
from appliance.web.ui.sessions import Sessions

PASSWORD = "correct horse"
XSS = ("<img src=x onerror=alert(1)>", "</script><script>alert(1)</script>")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def status() -> dict:
    """A status as control.server_status.collect gives it, for one modem."""
    return {
        "storage": "OK",
        "messages": {"queued": 2, "sending": 1},
        "queue": {"total": 2, "scheduled": 1, "retrying": 0, "oldest_due": time.time() - 300},
        "webhooks": {"Helpdesk <b>": (4, time.time() - 90)},
        "gateways": [{
            "name": "GSM1", "state": "ready", "detail": "", "paused": False, "sent": 5, "failed": 1,
            "received": 3, "in_send_queue": 2, "send_limit_day": 500, "send_limit_month": None,
            "send_rate_per_minute": None, "today": {"sent": 4, "failed": 0, "received": 2}, "limits_used": (4, 9),
            "credit": {"amount": 12.5, "currency": "GBP", "text": "Balance 12.50 GBP", "at": time.time(),
                       "error": "no USSD answer"},
            "properties": {"signal_dbm": -73, "operator": "Test Net", "registration": "home", "storage": "1/30"},
        }],
        "connectors": [
            {"name": "HTTP API", "type": "http", "running": True, "sent": 5, "failed": 1, "in_send_queue": 2},
            {"name": "Helpdesk <b>", "type": "webhook", "running": False, "sent": 0, "failed": 0,
             "in_send_queue": 0},
        ],
    }


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    cookies: list[str]
    text: str


class Browser:
    """Calls the WSGI app as a browser would, keeping the session cookie."""

    def __init__(self, app) -> None:
        self.app = app
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, fields: dict | None = None, **environ: str) -> Answer:
        path, _, query = path.partition("?")
        env = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, **environ}
        if method == "POST":
            body = urlencode(fields or {}).encode()
            env.update(CONTENT_TYPE="application/x-www-form-urlencoded", CONTENT_LENGTH=str(len(body)),
                       **{"wsgi.input": io.BytesIO(body)})
        if self.cookies:
            env["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        setup_testing_defaults(env)
        seen = {}

        def start_response(status, headers, exc_info=None):
            seen["status"], seen["headers"] = status, headers

        body = b"".join(self.app(env, start_response))
        set_cookies = [value for name, value in seen["headers"] if name.lower() == "set-cookie"]
        for line in set_cookies:
            for name, morsel in SimpleCookie(line).items():
                if morsel.value and morsel["max-age"] != "0" and not morsel["expires"].startswith("Thu, 01"):
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return Answer(int(seen["status"][:3]), dict(seen["headers"]), set_cookies, body.decode())

    def get(self, path: str, **environ: str) -> Answer:
        return self.request("GET", path, **environ)

    def post(self, path: str, fields: dict | None = None, **environ: str) -> Answer:
        return self.request("POST", path, fields, **environ)

    def login(self, name: str, password: str = PASSWORD, **environ: str) -> Answer:
        return self.post("/login", {"username": name, "password": password}, **environ)

    def csrf(self, path: str = "/") -> str:
        match = CSRF.search(self.get(path).text)
        assert match, "the page has no CSRF field"
        return match.group(1)


def site_for(database, server_status):
    """The app over ``database``, its status told by ``server_status``, with alice and root."""
    users.set_user("alice", PASSWORD)
    users.set_user("root", PASSWORD, admin=True)
    context = HttpApiContext(queue=Queue(database), authenticator=Authenticator(), connector="HTTP API",
                             gateway_names=lambda: ("GSM1",), on_accepted=lambda: None,
                             inbox=Inbox(database), server_status=server_status)
    return create_app(context)


@pytest.fixture
def site(database):
    return site_for(database, status)


def test_every_page_answer_carries_the_security_headers(site):
    browser = Browser(site)
    for answer in (browser.get("/login"), browser.get("/"), browser.login("alice", "wrong password"),
                   browser.get("/ui/static/ui.css")):
        for name, value in HEADERS.items():
            assert answer.headers.get(name) == value, (name, answer.status)
    policy = HEADERS["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy and "frame-ancestors 'none'" in policy


def test_the_pages_use_no_inline_script_and_fit_a_narrow_screen(site):
    browser = Browser(site)
    browser.login("alice")
    page = browser.get("/").text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/ui/static/ui.js" defer>']
    assert " on" not in " ".join(re.findall(r"<[^>]+>", page)).replace(" one", "")  # no onclick= etc.


def test_static_files_come_from_the_appliance_with_their_types(site):
    browser = Browser(site)
    css, js = browser.get("/ui/static/ui.css"), browser.get("/ui/static/ui.js")
    assert (css.status, css.headers["Content-Type"]) == (200, "text/css; charset=utf-8")
    assert (js.status, js.headers["Content-Type"]) == (200, "text/javascript; charset=utf-8")
    assert "textContent" in js.text and "innerHTML" not in js.text
    assert browser.get("/ui/static/sessions.py").status == 404
    assert browser.get("/ui/static/..%2Fpages.py").status == 404
    for page in ("/login", "/"):  # nothing fetched from elsewhere
        assert "http://" not in browser.get(page).text and "https://" not in browser.get(page).text


def test_a_page_without_a_session_sends_to_the_login_page(site):
    browser = Browser(site)
    for path in ("/", "/received", "/password"):
        answer = browser.get(path)
        assert (answer.status, answer.headers["Location"].rsplit("/", 1)[-1]) == (303, "login"), path
    assert browser.get("/ui/status.json").status == 401


def test_login_sets_a_strict_http_only_cookie_secure_behind_https(site):
    plain = Browser(site).login("alice")
    assert plain.status == 303 and plain.headers["Location"].endswith("/")
    cookie = plain.cookies[0].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie and "secure" not in cookie
    for environ in ({"wsgi.url_scheme": "https"}, {"HTTP_X_FORWARDED_PROTO": "https"}):
        assert "secure" in Browser(site).login("alice", **environ).cookies[0].lower()


def test_a_wrong_password_is_refused_and_the_throttle_applies(site):
    browser = Browser(site)
    wrong = browser.login("alice", "wrong password")
    assert wrong.status == 401 and "wrong password" in wrong.text and not browser.cookies
    for _ in range(20):
        browser.login("alice", "wrong password")
    locked = browser.login("alice")  # the right password, after too many wrong ones from this address
    assert locked.status == 401 and not browser.cookies
    assert Browser(site).login("alice", REMOTE_ADDR="192.0.2.7").status == 401  # and for this name
    assert browser.get("/").status == 303


def test_logout_ends_the_session_for_good(site):
    browser = Browser(site)
    browser.login("alice")
    stolen = dict(browser.cookies)
    token = browser.csrf()
    answer = browser.post("/logout", {"csrf": token})
    assert answer.status == 303 and answer.headers["Location"].endswith("/login")
    assert not browser.cookies
    browser.cookies = stolen  # the old cookie is worth nothing now
    assert browser.get("/").status == 303


@pytest.mark.parametrize("token", [None, "", "not-the-token"])
def test_a_form_without_the_sessions_csrf_token_is_refused_and_changes_nothing(site, token):
    browser = Browser(site)
    browser.login("alice")
    before = User.get(User.name == "alice").password_hash
    fields = {"current": PASSWORD, "password": "a new password", "confirm": "a new password"}
    if token is not None:
        fields["csrf"] = token
    answer = browser.post("/password", fields)
    assert answer.status == 403 and "CSRF" in answer.text
    assert User.get(User.name == "alice").password_hash == before
    assert browser.post("/logout", {k: v for k, v in fields.items() if k == "csrf"}).status == 403
    assert browser.get("/").status == 200  # still logged in


def test_a_token_of_another_session_is_refused(site):
    alice, root = Browser(site), Browser(site)
    alice.login("alice")
    root.login("root")
    answer = alice.post("/password", {"csrf": root.csrf(), "current": PASSWORD, "password": "a new password",
                                       "confirm": "a new password"})
    assert answer.status == 403


def test_a_form_posted_by_another_sites_page_is_refused(site):
    browser = Browser(site)
    answer = browser.login("alice", HTTP_SEC_FETCH_SITE="cross-site")
    assert answer.status == 403 and not browser.cookies


def test_the_first_start_password_must_be_replaced_before_any_page(site):
    User.delete().where(User.name == "root").execute()  # a first start: no administrator yet
    printed = users.ensure_admin()
    assert printed is not None
    browser = Browser(site)
    assert browser.login("admin", printed).status == 303
    for path in ("/", "/received", "/messages"):
        assert browser.get(path).headers.get("Location", "").endswith("/password"), path
    assert browser.get("/ui/status.json").status == 401
    token = browser.csrf("/password")
    same = browser.post("/password", {"csrf": token, "current": printed, "password": printed, "confirm": printed})
    assert same.status == 400 and "printed at first start" in same.text
    short = browser.post("/password", {"csrf": token, "current": printed, "password": "short", "confirm": "short"})
    assert short.status == 400 and "at least 8 characters" in short.text
    differ = browser.post("/password", {"csrf": token, "current": printed, "password": "one password",
                                        "confirm": "another one"})
    assert differ.status == 400 and "differ" in differ.text
    assert User.get(User.name == "admin").must_change_password  # none of these changed anything
    wrong = browser.post("/password", {"csrf": token, "current": "not the password", "password": "my own password",
                                       "confirm": "my own password"})
    assert wrong.status == 400 and "current password: wrong" in wrong.text
    done = browser.post("/password", {"csrf": token, "current": printed, "password": "my own password",
                                      "confirm": "my own password"})
    assert done.status == 303
    assert browser.get("/").status == 200 and browser.get("/ui/status.json").status == 200
    assert users.authenticate("admin", "my own password") is not None


def test_a_password_change_logs_out_the_users_other_sessions(site):
    here, there = Browser(site), Browser(site)
    here.login("alice")
    there.login("alice")
    here.post("/password", {"csrf": here.csrf(), "current": PASSWORD, "password": "a new password",
                            "confirm": "a new password"})
    assert here.get("/").status == 200
    assert there.get("/").status == 303


def test_the_dashboard_shows_each_gateway_in_words_with_its_signal(site):
    browser = Browser(site)
    browser.login("alice")
    page = browser.get("/").text
    assert 'data-gateway="GSM1"' in page and ">ready<" in page and "-73 dBm" in page and 'data-bars="4"' in page
    assert "Test Net" in page and "500 a day (496 left)" in page
    assert "4 today, 5 in all" in page and "2 today, 3 in all" in page  # sent, received
    assert "12.5 GBP (" in page and "latest reading failed: no USSD answer" in page
    assert '<dd id="scheduled">1</dd>' in page and '<dd id="oldest">5 min</dd>' in page
    assert "Helpdesk &lt;b&gt;" in page and "4, oldest 90 s" in page and ">stopped<" in page
    live = browser.get("/ui/status.json")
    assert live.headers["Content-Type"].startswith("application/json")
    assert '"signal": "-73 dBm"' in live.text and '"queued": 2' in live.text
    assert json.loads(live.text)["connectors"][1] == {
        "name": "Helpdesk <b>", "type": "webhook", "running": "stopped", "waiting": 0, "sent": 0, "failed": 0,
        "backlog": "4, oldest 90 s"}


@pytest.mark.parametrize(("state", "paused", "words", "tone"), [
    ("ready", False, "ready", "ok"), ("ready", True, "paused (ready)", "off"),
    ("sim-pin-required", False, "PIN needed", "bad"), ("not-registered", False, "no network", "warn"),
    ("something new", False, "something new", "warn"),
])
def test_a_gateway_state_is_shown_in_words_and_colour(state, paused, words, tone):
    card = dashboard.gateway_card({**status()["gateways"][0], "state": state, "paused": paused})
    assert (card["state"], card["tone"]) == (words, tone)


def test_a_provider_card_shows_its_api_not_a_radio(database):
    status_now = status()
    status_now["gateways"].append({**status_now["gateways"][0], "name": "Infobip <I>", "credit": None,
                                   "properties": {"type": "infobip", "host": "xyz.api.infobip.com", "in_flight": 2,
                                                  "last_answer": "HTTP 200"}})
    card = dashboard.gateway_card(status_now["gateways"][1])
    assert (card["provider"], card["host"], card["in_flight"], card["last_answer"]) == (
        "infobip", "xyz.api.infobip.com", 2, "HTTP 200")
    assert dashboard.gateway_card(status_now["gateways"][0])["provider"] == ""
    browser = Browser(site_for(database, lambda: status_now))
    browser.login("alice")
    page = browser.get("/").text
    provider = page[page.index('data-gateway="Infobip &lt;I&gt;"'):]
    assert "xyz.api.infobip.com" in provider and "HTTP 200" in provider and "data-bars" not in provider


def test_signal_bars_follow_the_dbm():
    assert [dashboard.bars(d) for d in (None, -113, -100, -90, -80, -60)] == [0, 0, 1, 2, 3, 4]


def _receive(text: str, originator: str = "+447700900001", at: float = 1_800_000_000.0, index: int = 0) -> None:
    InboundMessage.create(id=f"m{index}", gateway="GSM1", originator=originator, text=text, received_at=at)


@pytest.mark.parametrize("payload", XSS)
def test_a_received_sms_carrying_markup_is_shown_as_text(site, payload):
    _receive(payload, originator=payload)
    browser = Browser(site)
    browser.login("alice")
    page = browser.get("/received").text
    assert payload not in page
    escaped = payload.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert page.count(escaped) == 2  # its text and its originator


def test_the_received_list_pages_newest_first_along_the_index(site, database):
    for index in range(received.PAGE + 5):
        _receive(f"message {index}", at=1_800_000_000.0 + index // 2, index=index)  # pairs share a time
    browser = Browser(site)
    browser.login("alice")
    first = browser.get("/received").text
    shown = re.findall(r"message (\d+)", first)
    assert len(shown) == received.PAGE
    cursor = re.search(r'href="/received\?before=([^"]+)"', first).group(1)
    rest = re.findall(r"message (\d+)", browser.get(f"/received?before={cursor}").text)
    everything = [int(n) for n in shown + rest]
    assert sorted(everything, reverse=True) == sorted(range(received.PAGE + 5), reverse=True)
    assert len(set(everything)) == received.PAGE + 5  # none twice, none lost at a shared time
    assert everything == sorted(everything, key=lambda n: n // 2, reverse=True)
    bad = browser.get("/received?before=nonsense")
    assert bad.status == 400 and "before" in bad.text


@pytest.mark.parametrize(("before", "reads"), [
    (None, "USING INDEX inboundmessage_removed_received_at (removed=?)"),
    ((1_800_000_000.0, 7), "USING INDEX inboundmessage_removed_received_at (removed=? AND received_at<?)"),
])
def test_a_received_page_is_one_range_read_of_the_index(database, before, reads):
    sql, params = received.query(before).sql()
    plan = " ".join(row[3] for row in database.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
    assert reads in plan and "TEMP B-TREE" not in plan, plan


def test_a_session_ends_when_idle_and_at_its_lifetime_whatever_its_use(clock):
    sessions = Sessions(idle=60, lifetime=600, clock=clock)
    idle, busy = sessions.create(1), sessions.create(2)
    for _ in range(9):  # one request every 59 s keeps it alive, up to its lifetime
        clock.now += 59
        assert sessions.get(busy) is not None
    assert sessions.get(idle) is None  # 9 x 59 s without a request
    clock.now += 70
    assert sessions.get(busy) is None  # 601 s after its login
    assert len(sessions) == 0


def test_sessions_are_bounded_and_the_longest_idle_gives_way(clock):
    sessions = Sessions(limit=3, clock=clock)
    first, second, third = (sessions.create(n) for n in (1, 2, 3))
    sessions.get(first)  # seen again: now second is the idlest
    fourth = sessions.create(4)
    assert len(sessions) == 3
    assert sessions.get(second) is None
    assert all(sessions.get(sid) is not None for sid in (first, third, fourth))


def _send(database, name: str, texts: list[str]) -> None:
    Queue(database).accept([NewMessage("+447700900123", text, user_id=User.get(User.name == name).id)
                            for text in texts])


def test_a_user_sees_their_own_sent_messages_and_an_administrator_everyones(site, database):
    _send(database, "alice", ["from alice"])
    _send(database, "root", ["from root"])
    alice, root = Browser(site), Browser(site)
    alice.login("alice")
    root.login("root")
    mine = alice.get("/messages").text
    assert "from alice" in mine and "from root" not in mine
    everyone = root.get("/messages").text
    assert "from alice" in everyone and "from root" in everyone


@pytest.mark.parametrize("payload", XSS)
def test_a_sent_message_carrying_markup_is_shown_as_text(site, database, payload):
    _send(database, "alice", [payload])
    browser = Browser(site)
    browser.login("alice")
    page = browser.get("/messages").text
    assert payload not in page
    assert payload.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in page


def test_the_sent_list_pages_newest_first(site, database):
    _send(database, "alice", [f"message {n}" for n in range(messages.PAGE + 5)])
    browser = Browser(site)
    browser.login("alice")
    first = browser.get("/messages").text
    cursor = re.search(r'href="/messages\?before=(\d+)"', first).group(1)
    shown = [int(n) for n in re.findall(r"message (\d+)", first + browser.get(f"/messages?before={cursor}").text)]
    assert shown == list(reversed(range(messages.PAGE + 5)))
    assert browser.get("/messages?before=1e9").status == 400


@pytest.mark.parametrize(("user_id", "before", "reads"), [
    (None, None, "SCAN t1"), (None, 1000, "SEARCH t1 USING INTEGER PRIMARY KEY (rowid<?)"),
    (1, None, "USING INDEX outboundmessage_user_id (user_id=?)"),
    (1, 1000, "USING INDEX outboundmessage_user_id (user_id=? AND rowid<?)"),
])
def test_a_sent_page_is_one_range_read(database, user_id, before, reads):
    """Along the table backwards for an administrator, along the index on the user for a user: no sort."""
    sql, params = messages.query(user_id, before).sql()
    plan = " ".join(row[3] for row in database.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
    assert reads in plan and "TEMP B-TREE" not in plan, plan


def test_the_dashboard_is_gathered_once_per_half_second_for_all_viewers(clock):
    gatherings = itertools.count(1)
    latest = dashboard.Latest(lambda: {"n": next(gatherings)}, clock=clock)
    assert [latest.get()["n"] for _ in range(5)] == [1] * 5
    clock.now += dashboard.MAX_AGE + 0.01
    assert latest.get()["n"] == 2


def test_a_slow_gathering_is_repeated_at_most_a_tenth_of_the_time(clock):
    gatherings = itertools.count(1)

    def slow() -> dict:
        clock.now += 2.0  # a large store: the counts take 2 s
        return {"n": next(gatherings)}

    latest = dashboard.Latest(slow, clock=clock)
    assert latest.get()["n"] == 1
    clock.now += 17.9
    assert latest.get()["n"] == 1
    clock.now += 0.2  # 18 s after it ended: 9 times its 2 s
    assert latest.get()["n"] == 2


def test_while_one_viewer_gathers_the_others_get_the_last_view_at_once(clock):
    release, started = threading.Event(), threading.Event()
    gatherings = itertools.count(1)

    def gather() -> dict:
        n = next(gatherings)
        if n == 2:
            started.set()
            assert release.wait(30)
        return {"n": n}

    latest = dashboard.Latest(gather, clock=clock)
    assert latest.get()["n"] == 1
    clock.now += 1.0
    slow = threading.Thread(target=latest.get)
    slow.start()
    assert started.wait(30)
    assert latest.get()["n"] == 1  # not blocked behind the gathering
    release.set()
    slow.join(30)
    assert latest.get()["n"] == 2
