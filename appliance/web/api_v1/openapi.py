"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json without login.

Every request body, query and reply is the Struct its resource module reads or answers
with: :func:`msgspec.json.schema_components` writes their schemas (JSON Schema 2020-12,
which OpenAPI 3.1 uses). What is written here is what no Struct says: the paths, the
statuses each operation can answer and the path parameters. The test suite runs
schemathesis with this document against the running service to keep both honest.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ...config.file import UserName
from .blocklist import Block, BlockInput, BlockList
from .connectors import ACTIONS as CONNECTOR_ACTIONS
from .connectors import Connector, ConnectorChange, ConnectorList
from .contacts import Contact, ContactInput, ContactList, Group, GroupInput, GroupList
from .endpoint import PREFIX, Api, Call
from .fields import Input, RowId
from .gateway_test import TestRequest, TestResult
from .gateways import ACTIONS as GATEWAY_ACTIONS
from .gateways import Gateway, GatewayChange, GatewayList
from .keys import ApiKeyInput, ApiKeyList, KeysQuery, NewApiKey
from .messages import AcceptedList, MessageDetail, MessageList, MessagesQuery, Reports, SendRequest
from .received import Received, ReceivedList, ReceivedQuery, UnmatchedQuery, UnmatchedReportList
from .status import Status
from .users import User, UserChange, UserInput, UserList
from .wire import Error

MEDIA_TYPES = ("application/json", "application/cbor")
REF = "#/components/schemas/{name}"
ERROR_TEXTS = {
    400: "The request is malformed: its body, a parameter it does not know, a parameter given twice",
    401: "No credentials, or wrong ones",
    403: "The caller may not do this",
    404: "No such resource (or not the caller's)",
    409: "It conflicts with what is stored",
    413: "The body is too large",
    415: "The body is neither JSON nor CBOR",
    422: "A value is missing, of the wrong type or cannot be used",
    503: "The appliance cannot do it now: it controls no gateways, or it did not get to it in time "
         "(nothing was done)",
}
STRING = {"type": "string"}
MISDIRECTED = ("The request named a host (its Host header) this appliance does not answer to: its IP addresses, "
               "localhost and [http] hostnames (a guard against DNS rebinding); the answer is one line of text")
_DECLARED: set[type] = {Error}     # every Struct an operation names; their schemas are the components


def _ref(kind: type) -> dict:
    _DECLARED.add(kind)
    return {"$ref": REF.format(name=kind.__name__)}


def _content(schema: dict) -> dict:
    return {media_type: {"schema": schema} for media_type in MEDIA_TYPES}


def _query(kind: type[Input]) -> tuple[dict, ...]:
    """The parameters of a query Struct: each field, its schema and its description."""
    (_,), components = msgspec.json.schema_components([kind], ref_template=REF)
    declared = components[kind.__name__]
    parameters = []
    for name, field in declared["properties"].items():
        # ``X | None = None``: a parameter left out, never a null
        schema = next((s for s in field.get("anyOf", [field]) if s.get("type") != "null"), field)
        description = schema.get("description") or field.get("description", "")
        parameters.append({"name": name, "in": "query", "required": name in declared.get("required", []),
                           "schema": {key: value for key, value in schema.items() if key != "description"},
                           "description": description})
    return tuple(parameters)


def _path(name: str, schema: dict) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema}


MESSAGE_ID = _path("message_id", {"type": "string", "minLength": 1, "pattern": r"^[^/]+$"})
CONTACT_ID = _path("contact_id", msgspec.json.schema(RowId))
GROUP_ID = _path("group_id", msgspec.json.schema(RowId))
KEY_ID = _path("key_id", msgspec.json.schema(RowId))
GATEWAY = _path("gateway", STRING)
CONNECTOR = _path("connector", STRING)
USER_NAME = _path("name", msgspec.json.schema(UserName))
BLOCKED_NUMBER = _path("number", {"type": "string", "minLength": 1, "pattern": r"^[^/]+$"})


def _operation(summary: str, status: int, reply: type | None, *, body: type | None = None,
               parameters: tuple[dict, ...] = (), errors: tuple[int, ...] = (), public: bool = False,
               also: dict[int, str] | None = None) -> dict:
    """One operation with every status its handler can answer (``also``: other successes
    with the same reply)."""
    codes = {400, *errors} | ({401} if not public else set())
    if body is not None:
        codes |= {413, 415, 422}
    if any(p["in"] == "path" for p in parameters):
        codes.add(404)
    if any(p["in"] == "query" for p in parameters):
        codes.add(422)
    responses: dict[str, Any] = {str(status): {"description": summary}}
    for other, description in (also or {}).items():
        responses[str(other)] = {"description": description}
    if reply is not None:
        for success in (status, *(also or {})):
            responses[str(success)]["content"] = _content(_ref(reply))
    for code in sorted(codes):
        responses[str(code)] = {"description": ERROR_TEXTS[code], "content": _content(_ref(Error))}
    if 401 in codes:
        responses["401"]["headers"] = {"WWW-Authenticate": {"schema": STRING, "required": True}}
    # before any operation: the Host the request names is not one of the appliance's (web/guard.py)
    responses["421"] = {"description": MISDIRECTED, "content": {"text/plain": {"schema": STRING}}}
    operation: dict[str, Any] = {"summary": summary, "responses": responses}
    if parameters:
        operation["parameters"] = list(parameters)
    if body is not None:
        operation["requestBody"] = {"required": True, "content": _content(_ref(body))}
    if public:
        operation["security"] = []
    return operation


PATHS: dict[str, dict] = {
    "/messages": {
        "post": _operation("Send one text to one or more recipients (one message each)", 201, AcceptedList,
                           body=SendRequest, errors=(403, 409),
                           also={200: "The same request again (same guid): nothing more was queued"}),
        "get": _operation("The caller's messages (an administrator's: all), newest first", 200, MessageList,
                          parameters=_query(MessagesQuery)),
    },
    "/messages/{message_id}": {
        "get": _operation("One message, its status and its parts", 200, MessageDetail, parameters=(MESSAGE_ID,)),
        "delete": _operation("Cancel a queued message", 200, MessageDetail, parameters=(MESSAGE_ID,),
                             errors=(409,)),
    },
    "/messages/{message_id}/reports": {
        "get": _operation("The delivery reports of a message's parts", 200, Reports, parameters=(MESSAGE_ID,)),
    },
    "/received": {
        "get": _operation("Received messages", 200, ReceivedList, errors=(403,), parameters=_query(ReceivedQuery)),
    },
    "/received/take": {
        "post": _operation("Received messages, taken out of the inbox as they are listed", 200, ReceivedList,
                           errors=(403,), parameters=_query(ReceivedQuery)),
    },
    "/received/{message_id}": {
        "get": _operation("One received message", 200, Received, errors=(403,), parameters=(MESSAGE_ID,)),
    },
    "/unmatched-reports": {
        "get": _operation("Delivery reports that match no message, or did not decode, newest first "
                          "(administrators only)", 200, UnmatchedReportList, errors=(403,),
                          parameters=_query(UnmatchedQuery)),
    },
    "/contacts": {
        "get": _operation("The caller's contacts", 200, ContactList, errors=(403,)),
        "post": _operation("Add a contact", 201, Contact, body=ContactInput, errors=(403, 409)),
    },
    "/contacts/{contact_id}": {
        "get": _operation("One contact", 200, Contact, parameters=(CONTACT_ID,), errors=(403,)),
        "put": _operation("Change a contact", 200, Contact, body=ContactInput, parameters=(CONTACT_ID,),
                          errors=(403, 409)),
        "delete": _operation("Delete a contact", 204, None, parameters=(CONTACT_ID,), errors=(403,)),
    },
    "/groups": {
        "get": _operation("The caller's groups", 200, GroupList, errors=(403,)),
        "post": _operation("Add a group of contacts", 201, Group, body=GroupInput, errors=(403, 409)),
    },
    "/groups/{group_id}": {
        "get": _operation("One group", 200, Group, parameters=(GROUP_ID,), errors=(403,)),
        "put": _operation("Rename a group or change its members", 200, Group, body=GroupInput,
                          parameters=(GROUP_ID,), errors=(403, 409)),
        "delete": _operation("Delete a group (its contacts stay)", 204, None, parameters=(GROUP_ID,),
                             errors=(403,)),
    },
    "/users": {
        "get": _operation("Every user (administrators only)", 200, UserList, errors=(403,)),
        "post": _operation("Create a user (administrators only)", 201, User, body=UserInput, errors=(403, 409)),
    },
    "/users/{name}": {
        "get": _operation("One user (administrators only)", 200, User, parameters=(USER_NAME,), errors=(403,)),
        "patch": _operation("Change a user's password or role (administrators only)", 200, User,
                            body=UserChange, parameters=(USER_NAME,), errors=(403, 409)),
        "delete": _operation("Delete a user (administrators only)", 204, None, parameters=(USER_NAME,),
                             errors=(403, 409)),
    },
    "/keys": {
        "get": _operation("API keys: the caller's (an administrator's: all, or one user's)", 200, ApiKeyList,
                          parameters=_query(KeysQuery), errors=(403, 404)),
        "post": _operation("Make an API key; its token is in this reply only", 201, NewApiKey,
                           body=ApiKeyInput, errors=(403, 404)),
    },
    "/keys/{key_id}": {
        "delete": _operation("Revoke an API key", 204, None, parameters=(KEY_ID,), errors=(403,)),
    },
    "/blocklist": {
        "get": _operation("The numbers no message is sent to (administrators only)", 200, BlockList, errors=(403,)),
        "post": _operation("Block a number, or every number that starts with it (administrators only)", 201,
                           Block, body=BlockInput, errors=(403,)),
    },
    "/blocklist/{number}": {
        "delete": _operation("Take a number off the block list (administrators only)", 204, None,
                             parameters=(BLOCKED_NUMBER,), errors=(403, 422)),
    },
    "/status": {
        "get": _operation("The software's version, how long it has run, and its gateways, connectors and "
                          "message counts", 200, Status),
    },
    "/gateways": {
        "get": _operation("Every gateway: its status, whether it runs, its properties", 200, GatewayList,
                          errors=(503,)),
    },
    "/gateways/{gateway}": {
        "get": _operation("One gateway", 200, Gateway, parameters=(GATEWAY,), errors=(503,)),
        "patch": _operation("Set properties of a gateway, all or none; it restarts unless reload is false "
                            "(administrators only)", 200, Gateway, body=GatewayChange, parameters=(GATEWAY,),
                            errors=(403, 409, 503)),
    },
    "/gateways/{gateway}/test": {
        "post": _operation("Send a test SMS through this gateway only and wait (up to 60 s) for its first "
                           "attempt: the provider's id of it or its error, as the provider or modem gave it; "
                           "a temporary fault is reported, not retried (administrators only)", 200, TestResult,
                           body=TestRequest, parameters=(GATEWAY,), errors=(403, 409, 503)),
    },
    "/gateways/{gateway}/{action}": {
        "post": _operation("Start, stop, restart, pause or resume sending, or reset the send limit of a gateway "
                           "(administrators only)", 200, Gateway, errors=(403, 409, 503), parameters=(
                               GATEWAY, _path("action", {"type": "string", "enum": list(GATEWAY_ACTIONS)}))),
    },
    "/connectors": {
        "get": _operation("Every connector: whether it runs, its properties and its routing", 200, ConnectorList,
                          errors=(503,)),
    },
    "/connectors/{connector}": {
        "get": _operation("One connector", 200, Connector, parameters=(CONNECTOR,), errors=(503,)),
        "patch": _operation("Set properties and routing of a connector, all or none; it restarts unless reload "
                            "is false (administrators only)", 200, Connector, body=ConnectorChange,
                            parameters=(CONNECTOR,), errors=(403, 409, 503)),
    },
    "/connectors/{connector}/{action}": {
        "post": _operation("Start, stop or restart a connector (administrators only)", 200, Connector,
                           errors=(403, 409, 503), parameters=(
                               CONNECTOR, _path("action", {"type": "string", "enum": list(CONNECTOR_ACTIONS)}))),
    },
    "/openapi.json": {
        "get": {**_operation("This document", 200, None, public=True),
                "responses": {"200": {"description": "This document",
                                      "content": _content({"type": "object"})},
                              "400": {"description": ERROR_TEXTS[400], "content": _content(_ref(Error))},
                              "421": {"description": MISDIRECTED, "content": {"text/plain": {"schema": STRING}}}}},
    },
}


# the schemas of every Struct the operations name, and of those they are made of
_, SCHEMAS = msgspec.json.schema_components(sorted(_DECLARED, key=lambda kind: kind.__name__), ref_template=REF)


def document(version: str) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "SMS Appliance JSON API", "version": version,
                 "description": "Send SMS, follow them, read received SMS, manage contacts, users and "
                                "API keys, see and control gateways and connectors. See docs/api-v1.md."},
        "servers": [{"url": PREFIX}],
        "security": [{"bearer": []}, {"basic": []}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "an API key"},
                                "basic": {"type": "http", "scheme": "basic"}},
        },
    }


def install(api: Api) -> None:
    @api.route("GET", "/openapi.json", public=True)
    def openapi(call: Call) -> dict:
        return document(call.context.version)
