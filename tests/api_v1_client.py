"""A WSGI client for /api/v1 over a real store, shared by the tests/test_api_v1_*.py files."""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from wsgiref.headers import Headers

import cbor2

from appliance.accounts import api_keys, users
from appliance.accounts.authenticator import Authenticator
from appliance.control import server_status
from appliance.gateways.assignment import Routing
from appliance.gateways.router import Router
from appliance.store import db as store_db
from appliance.store.inbox import Inbox
from appliance.store.models import User
from appliance.store.queue import Queue
from appliance.web.api_v1 import ApiV1Context
from appliance.web.app import create_app
from appliance.web.diafaan.commands import HttpApiContext

PASSWORD = "correct horse"
CONNECTOR = "HTTP API"


@dataclass
class Response:
    status: int
    headers: Headers              # names compare case-insensitively, as in HTTP
    body: bytes

    @property
    def data(self) -> Any:
        if not self.body:
            return None
        if (self.headers.get("Content-Type") or "").startswith("application/cbor"):
            return cbor2.loads(self.body)
        assert self.headers["Content-Type"].startswith("application/json"), self.headers
        return json.loads(self.body)

    @property
    def error(self) -> dict:
        return self.data["error"]


def basic(name: str, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()


class Client:
    def __init__(self, app, authorization: str | None = None):
        self.app = app
        self.authorization = authorization

    def as_(self, authorization: str | None) -> Client:
        return Client(self.app, authorization)

    def call(self, method: str, path: str, *, json_body: Any = None, cbor_body: Any = None,
             raw: bytes | None = None, content_type: str | None = None, query: dict | None = None,
             headers: dict[str, str] | None = None, address: str = "192.0.2.1") -> Response:
        body = b""
        if json_body is not None:
            body, content_type = json.dumps(json_body).encode(), content_type or "application/json"
        elif cbor_body is not None:
            body, content_type = cbor2.dumps(cbor_body), content_type or "application/cbor"
        elif raw is not None:
            body = raw
        environ = {
            "REQUEST_METHOD": method, "PATH_INFO": "/api/v1" + path,
            "QUERY_STRING": urlencode(query or {}, doseq=True),
            "SERVER_NAME": "test", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http", "wsgi.errors": io.StringIO(), "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": address,
        }
        if content_type:
            environ["CONTENT_TYPE"] = content_type
        if self.authorization:
            environ["HTTP_AUTHORIZATION"] = self.authorization
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        status = {}

        def start_response(line, response_headers, exc_info=None):
            status["line"], status["headers"] = line, Headers(list(response_headers))

        content = b"".join(self.app(environ, start_response))
        return Response(int(status["line"].split()[0]), status["headers"], content)

    def get(self, path: str, **kwargs) -> Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs) -> Response:
        return self.call("POST", path, json_body=body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs) -> Response:
        return self.call("PUT", path, json_body=body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs) -> Response:
        return self.call("PATCH", path, json_body=body, **kwargs)

    def delete(self, path: str, **kwargs) -> Response:
        return self.call("DELETE", path, **kwargs)


@dataclass
class Env:
    app: Any
    queue: Queue
    inbox: Inbox
    kicks: list
    keys: dict[str, str]           # a token per user name

    def client(self, user: str | None = "alice") -> Client:
        return Client(self.app, None if user is None else "Bearer " + self.keys[user])


def build_env(tmp_path, clock=None, authenticator: Authenticator | None = None, database=None,
              **http_options: Any) -> tuple[Env, Any]:
    """alice and bob (users) and root (administrator), each with an API key; ``database``: a
    store already open (a ControlRig's), ``http_options``: other HttpApiContext fields."""
    database = database or store_db.open_database(tmp_path)
    users.set_user("alice", PASSWORD)
    users.set_user("bob", PASSWORD)
    users.set_user("root", PASSWORD, admin=True)
    keys = {name: api_keys.create(User.get(User.name == name), "tests")[1] for name in ("alice", "bob", "root")}
    kicks: list = []
    queue = Queue(database)
    inbox = Inbox(database, receivers=lambda gateway: [CONNECTOR])
    idle = Router(None, queue, [], Routing([]))   # a service without gateways, for /status
    http = HttpApiContext(**{"queue": queue, "authenticator": authenticator or Authenticator(), "connector": CONNECTOR,
                             "gateway_names": lambda: ("GSM Modem Gateway", "Backup"),
                             "on_accepted": lambda: kicks.append(1), "inbox": inbox,
                             "server_status": lambda: server_status.collect(idle, started_at=0.0),
                             **http_options})
    context = ApiV1Context(http=http, version="1.2.3")
    if clock is not None:
        context.clock = clock
    return Env(create_app(http, context), queue, inbox, kicks, keys), database
