"""Authentication: the cache, throttling, the guest account and callback authentication."""

import io
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode

import pytest

from appliance.accounts import users
from appliance.accounts.auth_callback import AuthCallback
from appliance.accounts.authenticator import Authenticator
from appliance.accounts.users import Principal
from appliance.store.inbox import Inbox
from appliance.store.models import OutboundMessage, User
from appliance.store.queue import Queue
from appliance.web.app import create_app
from appliance.web.diafaan.commands import HttpApiContext

PASSWORD = "correct horse"


class Verify:
    """A password check that counts how often the expensive check ran."""

    def __init__(self):
        self.calls = 0

    def __call__(self, name, password):
        self.calls += 1
        return Principal(1, name, False) if password == PASSWORD else None


NO_ROW = lambda name: None  # noqa: E731  the users of these tests have no row to change


def test_a_verified_pair_is_cached_and_expires(clock):
    verify = Verify()
    auth = Authenticator(ttl=60, clock=clock, verify=verify, standing=NO_ROW)
    assert auth.authenticate("alice", PASSWORD, address="10.0.0.1").name == "alice"
    assert auth.authenticate("alice", PASSWORD, address="10.0.0.1").name == "alice"
    assert verify.calls == 1
    clock.now += 61
    auth.authenticate("alice", PASSWORD, address="10.0.0.1")
    assert verify.calls == 2


def test_a_guessing_address_is_refused_without_checking_passwords(clock):
    verify = Verify()
    auth = Authenticator(clock=clock, verify=verify, standing=NO_ROW)
    for n in range(5):
        assert auth.authenticate("alice", f"guess {n}", address="192.0.2.1") is None
    assert verify.calls == 5
    for _ in range(1000):  # a flood while locked costs nothing
        assert auth.authenticate("alice", "guess", address="192.0.2.1") is None
    # not even the right password (already in the cache from another client) gets through
    assert auth.authenticate("alice", PASSWORD, address="10.0.0.1") is not None
    assert auth.authenticate("alice", PASSWORD, address="192.0.2.1") is None
    assert verify.calls == 6
    clock.now += 1  # the first lock is a second long
    assert auth.authenticate("alice", PASSWORD, address="192.0.2.1") is not None
    for n in range(5):  # and the success started the count afresh
        assert auth.authenticate("alice", f"guess {n}", address="192.0.2.1") is None
    assert verify.calls == 11


def test_distributed_guessing_locks_the_name_but_not_its_known_client(clock):
    verify = Verify()
    auth = Authenticator(clock=clock, verify=verify, standing=NO_ROW)
    assert auth.authenticate("alice", PASSWORD, address="10.0.0.1") is not None
    for n in range(20):
        assert auth.authenticate("alice", "guess", address=f"198.51.100.{n}") is None
    calls = verify.calls
    assert auth.authenticate("alice", PASSWORD, address="198.51.100.200") is None
    assert verify.calls == calls
    clock.now += 61  # the cache entry is gone: the known client's password is checked again
    assert auth.authenticate("alice", PASSWORD, address="10.0.0.1") is not None
    assert verify.calls == calls + 1


def test_an_overlong_name_is_refused_unchecked_and_counts_against_the_address(clock):
    verify = Verify()
    auth = Authenticator(clock=clock, verify=verify, standing=NO_ROW)
    for _ in range(5):
        assert auth.authenticate("x" * 100_000, PASSWORD, address="192.0.2.1") is None
    assert verify.calls == 0
    assert auth.authenticate("alice", PASSWORD, address="192.0.2.1") is None  # locked
    assert len(auth.throttle.by_name) == 1  # one entry for all of them, not 100 kB each


def test_callers_without_an_address_are_throttled_by_name(clock):
    auth = Authenticator(clock=clock, verify=Verify(), standing=NO_ROW)
    for _ in range(20):
        auth.authenticate("alice", "guess")
    assert auth.authenticate("alice", PASSWORD) is None
    assert auth.authenticate("bob", PASSWORD) is not None


# -- users.py: guest and external ----------------------------------------------------------

@pytest.fixture
def store(database):
    return database


def test_the_guest_must_be_an_existing_non_administrator(store):
    users.set_user("kiosk", PASSWORD)
    users.set_user("root", PASSWORD, admin=True)
    assert users.guest("kiosk") == Principal(users.authenticate("kiosk", PASSWORD).id, "kiosk", False)
    with pytest.raises(ValueError, match="no local user 'nobody'"):
        users.guest("nobody")
    with pytest.raises(ValueError, match="administrator"):
        users.guest("root")
    assert Authenticator(guest="root").guest() is None
    assert Authenticator(guest=None).guest() is None


def test_no_default_password_exists(store):
    first = users.ensure_admin()
    assert first is not None and len(first) >= 16
    assert users.authenticate("admin", "admin") is None
    assert users.authenticate("admin", first).is_admin
    assert users.ensure_admin() is None  # shown once


def test_the_first_start_password_is_marked_one_time_until_a_new_one_is_set(store):
    first = users.ensure_admin()
    assert first is not None
    assert User.get(User.name == "admin").must_change_password
    users.set_user("admin", "a new password", admin=True)
    assert not User.get(User.name == "admin").must_change_password


class CallbackServer:
    """A stand-in for the system that vouches for users: says OK to one pair."""

    def __init__(self, status=200, body=b"OK"):
        outer = self
        self.posts = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                outer.posts.append((self.headers["Content-Type"], parse_qs(self.rfile.read(length).decode())))
                ok = outer.posts[-1][1] == {"username": ["carol"], "password": [PASSWORD]}
                self.send_response(status if ok else 403)
                self.end_headers()
                self.wfile.write(body if ok else b"NO")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/check"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def callback():
    server = CallbackServer()
    yield server
    server.close()


def test_the_callback_vouches_for_unknown_names_only(store, callback):
    users.set_user("alice", PASSWORD)
    check = AuthCallback(callback.url)
    assert users.authenticate("carol", PASSWORD, external=check) == Principal(None, "carol", False, external=True)
    assert callback.posts[0] == ("application/x-www-form-urlencoded",
                                 {"username": ["carol"], "password": [PASSWORD]})
    assert users.authenticate("carol", "wrong one", external=check) is None
    # a local user's password is checked here, never sent away
    assert users.authenticate("alice", "wrong one", external=check) is None
    assert len(callback.posts) == 2


@pytest.mark.parametrize("status, body", [(200, b"NOT OK"), (200, b""), (202, b"OK"), (500, b"OK")])
def test_only_200_with_ok_vouches(store, status, body):
    server = CallbackServer(status, body)
    try:
        assert users.authenticate("carol", PASSWORD, external=AuthCallback(server.url)) is None
    finally:
        server.close()


def test_a_callback_that_does_not_answer_refuses(store):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts the connection, never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        assert AuthCallback(url, timeout=0.2)("carol", PASSWORD) is False
    assert AuthCallback("http://127.0.0.1:1/")("carol", PASSWORD) is False


def test_positive_callback_answers_are_cached(store, callback):
    auth = Authenticator(verify=lambda n, p: users.authenticate(n, p, external=AuthCallback(callback.url)))
    for _ in range(3):
        assert auth.authenticate("carol", PASSWORD, address="10.0.0.1").external
    assert len(callback.posts) == 1


# -- through the HTTP API ------------------------------------------------------------------

def call(app, params, address="192.0.2.1", **headers):
    environ = headers | {"REQUEST_METHOD": "GET", "PATH_INFO": "/http/send-message", "QUERY_STRING": urlencode(params),
               "SERVER_NAME": "test", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
               "REMOTE_ADDR": address, "wsgi.url_scheme": "http", "wsgi.errors": io.StringIO(),
               "wsgi.input": io.BytesIO()}
    return b"".join(app(environ, lambda status, headers, exc_info=None: None)).decode().strip()


def api(store, **authenticator):
    context = HttpApiContext(queue=Queue(store), authenticator=Authenticator(**authenticator), connector="HTTP API",
                             gateway_names=lambda: (), on_accepted=lambda: None, inbox=Inbox(store),
                             server_status=dict)
    return create_app(context)


def test_without_a_user_name_and_without_a_guest_the_answer_is_303(store):
    app = api(store)
    assert call(app, {"to": "+447700900123", "message": "Hi"}).startswith("ERROR:303 Guest login not available")
    assert OutboundMessage.select().count() == 0


def test_the_guest_account_sends_with_its_own_rights(store):
    kiosk = users.set_user("kiosk", PASSWORD)
    app = api(store, guest="kiosk")
    line = call(app, {"to": "+447700900123", "message": "Hi"})
    assert line.startswith("OK: ")
    assert OutboundMessage.get_by_id(line[4:]).user_id == kiosk.id


def test_a_guessing_client_gets_304_and_the_others_go_on(store):
    users.set_user("alice", PASSWORD)
    app = api(store)
    for n in range(6):
        assert call(app, {"username": "alice", "password": f"guess {n}"}).startswith("ERROR:304")
    assert call(app, {"username": "alice", "password": PASSWORD, "to": "+447700900123", "message": "Hi"},
                ).startswith("ERROR:304")
    assert call(app, {"username": "alice", "password": PASSWORD, "to": "+447700900123", "message": "Hi"},
                address="10.0.0.2").startswith("OK: ")


def test_x_forwarded_for_does_not_dodge_the_throttle(store):
    users.set_user("alice", PASSWORD)
    app = api(store)
    for n in range(5):
        call(app, {"username": "alice", "password": f"guess {n}"}, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    line = call(app, {"username": "alice", "password": PASSWORD, "to": "+447700900123", "message": "Hi"},
                HTTP_X_FORWARDED_FOR="203.0.113.99")
    assert line.startswith("ERROR:304")


def test_a_remembered_login_ends_with_a_change_to_its_user(database, clock):
    """A new password, a role taken away or the user deleted: known within a second (the
    user's row is read at most once a second), not when the remembered pair expires."""
    users.set_user("carol", "first password", admin=True)
    auth = Authenticator(clock=clock)
    assert auth.authenticate("carol", "first password").is_admin
    users.set_user("carol", "second password", admin=True)  # as the command line would, from outside
    clock.now += 1.01
    assert auth.authenticate("carol", "first password") is None
    assert auth.authenticate("carol", "second password").is_admin
    User.update(is_admin=False).where(User.name == "carol").execute()
    clock.now += 1.01
    assert auth.authenticate("carol", "second password").is_admin is False
    User.delete().where(User.name == "carol").execute()
    clock.now += 1.01
    assert auth.authenticate("carol", "second password") is None


def test_the_users_row_is_read_at_most_once_a_second(clock):
    reads = []
    auth = Authenticator(clock=clock, verify=lambda name, password: Principal(1, name, False),
                         standing=lambda name: reads.append(name) or "as before")
    for _ in range(100):
        assert auth.authenticate("carol", "pw") is not None
        clock.now += 0.05
    assert 5 <= len(reads) <= 7  # 5 s of requests: the first check, then about one read a second
