"""/api/v1 authentication (API keys, HTTP Basic), permissions, the wire format, CBOR."""

import base64

import cbor2
import pytest
from api_v1_client import PASSWORD, Client, basic, build_env

from appliance.accounts.users import Principal
from appliance.config import properties
from appliance.store.models import ApiKey, OutboundMessage
from appliance.web import submission
from appliance.web.api_v1.wire import MAX_BODY


def test_no_credentials_is_401_with_a_challenge(env):
    reply = Client(env.app).get("/status")
    assert reply.status == 401 and reply.error["code"] == "unauthenticated"
    assert "Bearer" in reply.headers["WWW-Authenticate"] and "Basic" in reply.headers["WWW-Authenticate"]


@pytest.mark.parametrize("authorization", [
    "Bearer sk_not-a-key", "Bearer something", basic("alice", "wrong password"), basic("mallory"),
    "Basic !!!", "Basic " + base64.b64encode(b"no colon").decode(), "Digest username=alice",
])
def test_wrong_credentials_are_401_and_say_nothing_about_which_part(env, authorization):
    reply = Client(env.app, authorization).post("/messages", {"to": ["+441"], "message": "x"})
    assert reply.status == 401 and "WWW-Authenticate" in reply.headers
    assert OutboundMessage.select().count() == 0


def test_basic_and_bearer_both_identify_the_user(env):
    for client in (Client(env.app, basic("alice")), env.client("alice")):
        assert client.post("/messages", {"to": ["+441"], "message": "x"}).status == 201
    assert {m.user.name for m in OutboundMessage.select()} == {"alice"}


def test_a_key_records_its_use_at_most_once_a_minute(env, monkeypatch):
    from appliance.accounts import api_keys

    now = [1_800_000_000.0]
    monkeypatch.setattr(api_keys.time, "time", lambda: now[0])
    key = ApiKey.get(ApiKey.prefix == env.keys["alice"][:api_keys.SHOWN_PREFIX])
    assert key.last_used_at is None
    env.client().get("/status")
    assert ApiKey.get_by_id(key.id).last_used_at == now[0]
    now[0] += 30
    env.client().get("/status")
    assert ApiKey.get_by_id(key.id).last_used_at == now[0] - 30
    now[0] += 31
    env.client().get("/status")
    assert ApiKey.get_by_id(key.id).last_used_at == now[0]


def test_a_revoked_key_no_longer_works(env):
    key_id = env.client().get("/keys").data["keys"][0]["id"]
    assert env.client().delete(f"/keys/{key_id}").status == 204
    assert env.client().get("/status").status == 401


def test_status_says_version_and_uptime(env):
    data = env.client().get("/status").data
    assert data["version"] == "1.2.3" and data["uptime"] >= 0


def test_cbor_in_and_out(env):
    client = env.client()
    reply = client.call("POST", "/messages", cbor_body={"to": ["+441"], "message": "Grüße"},
                        headers={"Accept": "application/cbor"})
    assert reply.status == 201 and reply.headers["Content-Type"] == "application/cbor"
    message_id = cbor2.loads(reply.body)["messages"][0]["id"]
    got = client.get(f"/messages/{message_id}", headers={"Accept": "application/cbor"})
    assert cbor2.loads(got.body)["message"] == "Grüße"
    error = client.call("POST", "/messages", cbor_body={"message": "x"}, headers={"Accept": "application/cbor"})
    assert error.status == 422 and cbor2.loads(error.body)["error"]["code"] == "no_recipients"
    # JSON stays the answer unless CBOR is preferred
    for accept in ("application/json, application/cbor;q=0.5", "*/*", ""):
        assert client.get("/status", headers={"Accept": accept}).headers["Content-Type"] == "application/json"
    assert client.get("/status", headers={"Accept": "application/cbor, application/json;q=0.9"}
                      ).headers["Content-Type"] == "application/cbor"


@pytest.mark.parametrize("raw, content_type, status, code", [
    (b'{"to": ["+441"], "message": "x"}', "text/plain", 415, "unsupported_media_type"),
    (b'{"to": ["+441"], "message": "x"}', None, 415, "unsupported_media_type"),
    (b'{"to": [', "application/json", 400, "malformed_body"),
    (b"\xff\xfe", "application/json", 400, "malformed_body"),
    (b"\x9f", "application/cbor", 400, "malformed_body"),
    (b"", "application/json", 400, "malformed_body"),
    (b'{"to": ["+441"], "message": "half a pair: \\ud800"}', "application/json", 400, "malformed_body"),
    (b" " * (MAX_BODY + 1), "application/json", 413, "body_too_large"),
])
def test_bodies_that_cannot_be_read_are_refused(env, raw, content_type, status, code):
    reply = env.client().call("POST", "/messages", raw=raw, content_type=content_type)
    assert (reply.status, reply.error["code"]) == (status, code)
    assert OutboundMessage.select().count() == 0


def test_unknown_paths_and_methods_answer_in_the_api_format(env):
    reply = env.client().get("/nothing/here")
    assert reply.status == 404 and reply.error["code"] == "not_found"
    reply = env.client().call("PATCH", "/messages")
    assert reply.status == 405 and reply.headers["Allow"] == "GET, POST"


def test_the_openapi_document_needs_no_login_and_lists_every_route(env):
    document = Client(env.app).get("/openapi.json").data
    assert document["openapi"].startswith("3.") and document["info"]["version"] == "1.2.3"
    documented = {(method.upper(), "/api/v1" + path.replace("{", "<").replace("}", ">"))
                  for path, operations in document["paths"].items() for method in operations}
    served = {(route.method, route.rule) for route in env.app.routes if route.rule.startswith("/api/v1/")
              and route.method != "ANY"}
    assert documented == served
    # the Host guard (web/guard.py) answers any of them with 421 before the route: documented everywhere
    assert all(operation["responses"]["421"]["content"] == {"text/plain": {"schema": {"type": "string"}}}
               for operations in document["paths"].values() for operation in operations.values())


def test_an_external_caller_has_no_contacts_keys_or_inbox(tmp_path):
    class External:
        def authenticate(self, name, password, *, address=None):
            return Principal(None, name, is_admin=True, external=True) if password == PASSWORD else None

    env, database = build_env(tmp_path, authenticator=External())
    try:
        client = Client(env.app, basic("partner"))
        for path in ("/contacts", "/groups", "/keys", "/received", "/users"):
            reply = client.get(path)
            assert reply.status == 403 and reply.error["code"] == "forbidden", path
        reply = client.post("/messages", {"contact_names": ["Dr Who"], "message": "x"})
        assert reply.status == 403 and reply.error["code"] == "web_user_not_found"
        assert "contacts belong to local users" in reply.error["message"]
        sent = client.post("/messages", {"to": ["+441"], "message": "x"}).data["messages"][0]["id"]
        # no account keeps such callers' messages apart, so none can read any message back
        for reply in (client.get(f"/messages/{sent}"), client.get("/messages"), client.delete(f"/messages/{sent}")):
            assert reply.status == 403 and "local users" in reply.error["message"]
        assert env.client("alice").get(f"/messages/{sent}").status == 404
    finally:
        database.close()


def test_basic_logins_are_throttled_by_the_callers_address(env):
    client = env.client("alice")
    guesser = client.as_(basic("alice", "a guess"))
    for _ in range(5):
        assert guesser.call("GET", "/messages").status == 401
    # the right password from the guessing address is refused too; another address goes on
    right = client.as_(basic("alice"))
    assert right.call("GET", "/messages").status == 401
    assert right.call("GET", "/messages", address="192.0.2.2").status == 200


def test_the_documents_schemas_are_the_declarations_the_api_reads_and_answers_with(env):
    document = Client(env.app).get("/openapi.json").data
    schemas = document["components"]["schemas"]
    send = schemas["SendRequest"]
    assert send["required"] == ["message"] and send["additionalProperties"] is False
    assert send["properties"]["to"]["maxItems"] == submission.MAX_RECIPIENTS
    assert "from" in send["properties"] and "sender" not in send["properties"]
    assert set(schemas["Gateway"]["properties"]["properties"]["required"]) == set(properties.SHARED_PROPERTIES)
    assert schemas["Error"]["properties"]["error"] == {"$ref": "#/components/schemas/ErrorDetail"}
    (limit,) = [p for p in document["paths"]["/messages"]["get"]["parameters"] if p["name"] == "limit"]
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}


def test_each_property_in_the_document_says_how_its_value_is_written_from_its_declaration(env):
    change = Client(env.app).get("/openapi.json").data["components"]["schemas"]["GatewayChange"]
    described = {name: entry["description"] for name, entry in change["properties"]["properties"]["properties"].items()}
    assert described["SendLimitDay"] == "an integer between 1 and 10000000; empty for none"
    assert described["Model"] == "one of auto, sim800, sim7600, ec25, huawei, generic"
    assert described["Pin"].endswith("; empty for none; shown as ***") and described["Enabled"] == "1 or 0"
