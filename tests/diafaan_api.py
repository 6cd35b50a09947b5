"""The /http API built on a real store, with the service's callables faked, and a way to
call it by GET or form-encoded POST and see its raw reply (XML replies are not lines)."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

from appliance.accounts import users
from appliance.accounts.authenticator import Authenticator
from appliance.store.inbox import Inbox
from appliance.store.queue import Queue
from appliance.web.app import create_app
from appliance.web.diafaan.commands import HttpApiContext

PASSWORD = "correct horse"
CONNECTOR = "HTTP API"
ALICE, BOB, ROOT = "alice", "bob", "root"  # two users and an administrator


@dataclass
class Reply:
    content_type: str
    text: str

    @property
    def lines(self) -> list[str]:
        return self.text.split("\r\n")


class Api:
    def __init__(self, database, *, receivers: Callable[[str], list[str]] = lambda gateway: [CONNECTOR],
                 server_status: Callable[[], dict] = dict, clock=None) -> None:
        for name in (ALICE, BOB):
            users.set_user(name, PASSWORD)
        users.set_user(ROOT, PASSWORD, admin=True)
        options = {"clock": clock} if clock else {}
        self.queue = Queue(database, **options)
        self.inbox = Inbox(database, receivers=receivers, **options)
        self.context = HttpApiContext(queue=self.queue, authenticator=Authenticator(), connector=CONNECTOR,
                                      gateway_names=lambda: ("GSM Modem Gateway",), on_accepted=lambda: None,
                                      inbox=self.inbox, server_status=server_status)  # tests may replace it

    def call(self, command: str, params: dict | None = None, method: str = "GET", *,
             raw_query: str | None = None, user: str | None = ALICE) -> Reply:
        """``user`` adds username and password (None: neither); ``raw_query`` is sent as it is."""
        given = dict(params or {})
        if user is not None:
            given = {"username": user, "password": PASSWORD, **given}
        query = raw_query if raw_query is not None else urlencode(given)
        environ = {"REQUEST_METHOD": method, "PATH_INFO": f"/http/{command}"}
        if method == "POST":
            body = query.encode()
            environ.update(QUERY_STRING="", CONTENT_TYPE="application/x-www-form-urlencoded",
                           CONTENT_LENGTH=str(len(body)), **{"wsgi.input": io.BytesIO(body)})
        else:
            environ["QUERY_STRING"] = query
        setup_testing_defaults(environ)
        seen = {}

        def start_response(status, headers, exc_info=None):
            seen["status"], seen["headers"] = status, dict(headers)

        body = b"".join(create_app(self.context)(environ, start_response))
        assert seen["status"].startswith("200"), seen["status"]  # Diafaan answers 200 also for errors
        return Reply(seen["headers"]["Content-Type"], body.decode("utf-8"))


@contextmanager
def time_zone(name: str) -> Iterator[None]:
    """Run with the appliance's local time in zone ``name`` (a POSIX TZ string)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()
