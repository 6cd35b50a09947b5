"""The OpenAPI 3 description of /api/v1, served at /api/v1/openapi.json without login.

Written out by hand as data so that it says exactly what the resource modules do; the
test suite runs schemathesis with it against the running service to keep it so.
"""

from __future__ import annotations

from typing import Any

from ...accounts.users import MIN_PASSWORD_LENGTH
from ...config.file import ROLES, USES
from ...config.properties import CONNECTOR_PROPERTIES, GATEWAY_PROPERTIES, ROUTING_PROPERTIES, WEBHOOK_ONLY
from ...messages.types import MESSAGE_TYPES
from .. import submission
from .connectors import ACTIONS as CONNECTOR_ACTIONS
from .endpoint import PREFIX, Api, Call
from .fields import MAX_NAME, MAX_ROW_ID
from .gateways import ACTIONS as GATEWAY_ACTIONS
from .messages import MAX_PAGE, STATES
from .operate import MAX_VALUE

MEDIA_TYPES = ("application/json", "application/cbor")
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


def _nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict:
    """Replies name every property; request bodies say which they need."""
    return {"type": "object", "properties": properties,
            "required": list(properties) if required is None else required, "additionalProperties": False}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _content(schema: dict) -> dict:
    return {media_type: {"schema": schema} for media_type in MEDIA_TYPES}


def _list_of(name: str, key: str) -> dict:
    return _object({key: {"type": "array", "items": _ref(name)}})


TIME = {"type": "string", "format": "date-time"}
NULLABLE_TIME = _nullable(TIME)
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
STRING = {"type": "string"}
ROW_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID}
NAME = {"type": "string", "minLength": 1, "maxLength": MAX_NAME, "pattern": r"^\s*[^;\s][^;]*$"}
PART_FIELDS = {"sequence": INTEGER, "state": {"type": "string", "enum": ["pending", "sent", "delivered", "failed"]},
               "reference": _nullable(INTEGER), "gateway": STRING, "sent_at": NULLABLE_TIME,
               "tp_status": _nullable(INTEGER)}
MESSAGE = _object({
    "id": STRING, "recipient": STRING, "contact_name": STRING, "from": STRING, "message": STRING,
    "message_type": STRING, "guid": STRING, "info": STRING, "gateways": {"type": "array", "items": STRING},
    "priority": INTEGER, "validity_period": _nullable(INTEGER), "scheduled": NULLABLE_TIME,
    "expires_at": NULLABLE_TIME, "state": {"type": "string", "enum": list(STATES)},
    "status": _object({"code": INTEGER, "text": STRING}), "gateway": STRING, "attempts": INTEGER,
    "error": _nullable(_object({"code": _nullable(INTEGER), "text": STRING})),
    "parts_total": INTEGER, "created_at": TIME, "updated_at": TIME, "sent_at": NULLABLE_TIME,
})
COUNT = {"type": "integer", "minimum": 0}
FLAG = {"type": "string", "enum": ["0", "1"]}
VALUE = {"type": "string", "maxLength": MAX_VALUE}
GATEWAY_STATUS = _object({
    "name": STRING, "state": STRING, "detail": STRING, "in_service": BOOLEAN, "paused": BOOLEAN,
    "sent": COUNT, "failed": COUNT, "received": COUNT, "send_limit_day": _nullable(INTEGER),
    "send_limit_month": _nullable(INTEGER), "send_rate_per_minute": _nullable(INTEGER),
    # what a modem tells besides; another kind of gateway may tell none of it
    "device": _object({"model": STRING, "dialect": STRING, "port": STRING, "signal_dbm": _nullable(INTEGER),
                       "registration": STRING, "operator": _nullable(STRING), "storage": _nullable(STRING),
                       "network_time": _nullable(STRING), "smsc": _nullable(STRING)}, required=[]),
})
CONTROLLED = {"running": BOOLEAN, "pending": BOOLEAN}
ROUTING_VALUES = {"Send": FLAG, "Receive": FLAG, "Role": {"type": "string", "enum": list(ROLES)}}
ROUTING_CHANGE = {"type": "object", "additionalProperties": _object(
    dict.fromkeys(ROUTING_PROPERTIES, VALUE), required=[])}
KEY = {"id": ROW_ID, "user": STRING, "name": STRING, "prefix": STRING, "created_at": TIME,
       "last_used_at": NULLABLE_TIME}

SCHEMAS: dict[str, dict] = {
    "Error": _object({"error": _object({"code": STRING, "field": _nullable(STRING), "message": STRING})}),
    "Status": _object({
        "version": STRING, "uptime": {"type": "number", "minimum": 0}, "started_at": TIME,
        "messages": _object(dict.fromkeys(STATES, COUNT)), "received": COUNT,
        "gateways": {"type": "array", "items": _ref("GatewayStatus")},
        "connectors": {"type": "array", "items": _ref("ConnectorStatus")}}),
    "GatewayStatus": GATEWAY_STATUS,
    "ConnectorStatus": _object({
        "name": STRING, "type": STRING, "max_send_attempts": INTEGER,
        "gateways": {"type": "array", "items": _object({"name": STRING, "use": {"type": "string", "enum": list(USES)},
                                                        "role": {"type": "string", "enum": list(ROLES)}})}}),
    "Gateway": _object({**GATEWAY_STATUS["properties"], **CONTROLLED,
                        "properties": _object(dict.fromkeys(GATEWAY_PROPERTIES, STRING))}),
    "GatewayList": _list_of("Gateway", "gateways"),
    "GatewayChange": _object({"properties": _object(dict.fromkeys(GATEWAY_PROPERTIES, VALUE), required=[]),
                              "reload": BOOLEAN}, required=[]),
    "Connector": _object({
        "name": STRING, "type": STRING, **CONTROLLED,
        "properties": _object(dict.fromkeys(CONNECTOR_PROPERTIES, STRING),
                              required=[name for name in CONNECTOR_PROPERTIES if name not in WEBHOOK_ONLY]),
        "routing": {"type": "object", "additionalProperties": _object(ROUTING_VALUES)}}),
    "ConnectorList": _list_of("Connector", "connectors"),
    "ConnectorChange": _object({"properties": _object(dict.fromkeys(CONNECTOR_PROPERTIES, VALUE), required=[]),
                                "routing": ROUTING_CHANGE, "reload": BOOLEAN}, required=[]),
    "SendRequest": _object({
        "to": {"type": "array", "maxItems": submission.MAX_RECIPIENTS,
               "items": {"type": "string", "pattern": r"^\+?[0-9]{1,20}$"}},
        "contact_names": {"type": "array", "maxItems": submission.MAX_RECIPIENTS, "items": STRING},
        "message": {"type": "string", "minLength": 1, "maxLength": 100_000},
        "message_type": {"type": "string", "enum": list(MESSAGE_TYPES)},
        "from": {"type": "string", "maxLength": submission.MAX_SENDER},
        "guid": {"type": "string", "pattern": r"^[A-Za-z0-9._:{}\-]{0,64}$"},
        "info": {"type": "string", "maxLength": 10_000},
        "gateways": {"type": "array", "maxItems": 100, "items": STRING},
        "priority": _nullable({"type": "integer", "minimum": submission.PRIORITY_RANGE[0],
                               "maximum": submission.PRIORITY_RANGE[1]}),
        "validity_period": _nullable({"type": "integer", "minimum": 1, "maximum": submission.MAX_VALIDITY}),
        "scheduled": NULLABLE_TIME,
    }, required=["message"]),
    "Accepted": _object({"messages": {"type": "array", "items": _object(
        {"id": STRING, "recipient": STRING, "contact_name": STRING})}}),
    "Message": MESSAGE,
    "MessageDetail": _object({**MESSAGE["properties"], "parts": {"type": "array", "items": _object(
        {**PART_FIELDS, "reported_at": NULLABLE_TIME})}}),
    "MessageList": _object({"messages": {"type": "array", "items": _ref("Message")},
                            "next_cursor": _nullable(STRING)}),
    "Reports": _object({"message_id": STRING, "state": {"type": "string", "enum": list(STATES)},
                        "parts": {"type": "array", "items": _object({
                            **PART_FIELDS, "tp_status_text": _nullable(STRING),
                            "outcome": _nullable({"type": "string", "enum": ["delivered", "pending", "failed"]}),
                            "reported_at": NULLABLE_TIME})}}),
    "Received": _object({"id": STRING, "gateway": STRING, "from": STRING, "to": STRING, "message": STRING,
                         "message_type": STRING, "smsc": STRING, "parts_received": INTEGER,
                         "parts_total": INTEGER, "sent_at": NULLABLE_TIME, "received_at": TIME}),
    "ReceivedList": _list_of("Received", "messages"),
    "Contact": _object({"id": ROW_ID, "name": STRING, "number": STRING}),
    "ContactInput": _object({"name": NAME, "number": {"type": "string", "maxLength": 64,
                                                      "pattern": r"^\+?[0-9][0-9 ().\-]*$"}}),
    "ContactList": _list_of("Contact", "contacts"),
    "Group": _object({"id": ROW_ID, "name": STRING, "members": {"type": "array", "items": STRING}}),
    "GroupInput": _object({"name": NAME, "members": {"type": "array", "items": STRING, "uniqueItems": True}},
                          required=["name"]),
    "GroupList": _list_of("Group", "groups"),
    "User": _object({"name": STRING, "is_admin": {"type": "boolean"}, "created_at": TIME}),
    "UserInput": _object({
        "name": {"type": "string", "pattern": r"^[A-Za-z0-9._@-]{1,64}$"},
        "password": {"type": "string", "minLength": MIN_PASSWORD_LENGTH, "maxLength": 1024},
        "is_admin": {"type": "boolean"}}, required=["name", "password"]),
    "UserChange": _object({
        "password": {"type": "string", "minLength": MIN_PASSWORD_LENGTH, "maxLength": 1024},
        "is_admin": {"type": "boolean"}}, required=[]),
    "UserList": _list_of("User", "users"),
    "ApiKey": _object(KEY),
    "NewApiKey": _object({**KEY, "token": STRING}),
    "ApiKeyInput": _object({"name": {"type": "string", "maxLength": 64}, "user": _nullable(STRING)},
                           required=[]),
    "ApiKeyList": _list_of("ApiKey", "keys"),
}


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _path(name: str, schema: dict) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema}


LIMIT = _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 100},
               "how many at most")
MESSAGE_ID = _path("message_id", {"type": "string", "minLength": 1, "pattern": r"^[^/]+$"})
CONTACT_ID = _path("contact_id", ROW_ID)
GROUP_ID = _path("group_id", ROW_ID)
KEY_ID = _path("key_id", ROW_ID)
GATEWAY = _path("gateway", STRING)
CONNECTOR = _path("connector", STRING)
USER_NAME = _path("name", {"type": "string", "pattern": r"^[A-Za-z0-9._@-]{1,64}$"})


def _operation(summary: str, status: int, reply: str | None, *, body: str | None = None,
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
        responses[str(code)] = {"description": ERROR_TEXTS[code], "content": _content(_ref("Error"))}
    if 401 in codes:
        responses["401"]["headers"] = {"WWW-Authenticate": {"schema": STRING, "required": True}}
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
        "post": _operation("Send one text to one or more recipients (one message each)", 201, "Accepted",
                           body="SendRequest", errors=(403, 409),
                           also={200: "The same request again (same guid): nothing more was queued"}),
        "get": _operation("The caller's messages (an administrator's: all), newest first", 200, "MessageList",
                          parameters=(
                              _query("state", {"type": "string", "enum": list(STATES)}, "only in this state"),
                              _query("since", TIME, "created at or after"),
                              _query("until", TIME, "created before"),
                              _query("recipient", STRING, "only to this number"),
                              LIMIT,
                              _query("cursor", STRING, "next_cursor of the page before"),
                              _query("offset", {"type": "integer", "minimum": 0, "maximum": 1_000_000_000},
                                     "skip this many (instead of cursor)"))),
    },
    "/messages/{message_id}": {
        "get": _operation("One message, its status and its parts", 200, "MessageDetail", parameters=(MESSAGE_ID,)),
        "delete": _operation("Cancel a queued message", 200, "MessageDetail", parameters=(MESSAGE_ID,),
                             errors=(409,)),
    },
    "/messages/{message_id}/reports": {
        "get": _operation("The delivery reports of a message's parts", 200, "Reports", parameters=(MESSAGE_ID,)),
    },
    "/received": {
        "get": _operation("Received messages", 200, "ReceivedList", errors=(403,), parameters=(
            LIMIT,
            _query("order", {"type": "string", "enum": ["oldest", "newest"], "default": "oldest"}, "which first"),
            _query("remove", {"type": "boolean", "default": False}, "take them out of the inbox"))),
    },
    "/received/{message_id}": {
        "get": _operation("One received message", 200, "Received", errors=(403,), parameters=(MESSAGE_ID,)),
    },
    "/contacts": {
        "get": _operation("The caller's contacts", 200, "ContactList", errors=(403,)),
        "post": _operation("Add a contact", 201, "Contact", body="ContactInput", errors=(403, 409)),
    },
    "/contacts/{contact_id}": {
        "get": _operation("One contact", 200, "Contact", parameters=(CONTACT_ID,), errors=(403,)),
        "put": _operation("Change a contact", 200, "Contact", body="ContactInput", parameters=(CONTACT_ID,),
                          errors=(403, 409)),
        "delete": _operation("Delete a contact", 204, None, parameters=(CONTACT_ID,), errors=(403,)),
    },
    "/groups": {
        "get": _operation("The caller's groups", 200, "GroupList", errors=(403,)),
        "post": _operation("Add a group of contacts", 201, "Group", body="GroupInput", errors=(403, 409)),
    },
    "/groups/{group_id}": {
        "get": _operation("One group", 200, "Group", parameters=(GROUP_ID,), errors=(403,)),
        "put": _operation("Rename a group or change its members", 200, "Group", body="GroupInput",
                          parameters=(GROUP_ID,), errors=(403, 409)),
        "delete": _operation("Delete a group (its contacts stay)", 204, None, parameters=(GROUP_ID,),
                             errors=(403,)),
    },
    "/users": {
        "get": _operation("Every user (administrators only)", 200, "UserList", errors=(403,)),
        "post": _operation("Create a user (administrators only)", 201, "User", body="UserInput", errors=(403, 409)),
    },
    "/users/{name}": {
        "get": _operation("One user (administrators only)", 200, "User", parameters=(USER_NAME,), errors=(403,)),
        "patch": _operation("Change a user's password or role (administrators only)", 200, "User",
                            body="UserChange", parameters=(USER_NAME,), errors=(403, 409)),
        "delete": _operation("Delete a user (administrators only)", 204, None, parameters=(USER_NAME,),
                             errors=(403, 409)),
    },
    "/keys": {
        "get": _operation("API keys: the caller's (an administrator's: all, or one user's)", 200, "ApiKeyList",
                          parameters=(_query("user", STRING, "only this user's"),), errors=(403, 404)),
        "post": _operation("Make an API key; its token is in this reply only", 201, "NewApiKey",
                           body="ApiKeyInput", errors=(403, 404)),
    },
    "/keys/{key_id}": {
        "delete": _operation("Revoke an API key", 204, None, parameters=(KEY_ID,), errors=(403,)),
    },
    "/status": {
        "get": _operation("The software's version, how long it has run, and its gateways, connectors and "
                          "message counts", 200, "Status"),
    },
    "/gateways": {
        "get": _operation("Every gateway: its status, whether it runs, its properties", 200, "GatewayList",
                          errors=(503,)),
    },
    "/gateways/{gateway}": {
        "get": _operation("One gateway", 200, "Gateway", parameters=(GATEWAY,), errors=(503,)),
        "patch": _operation("Set properties of a gateway, all or none; it restarts unless reload is false "
                            "(administrators only)", 200, "Gateway", body="GatewayChange", parameters=(GATEWAY,),
                            errors=(403, 409, 503)),
    },
    "/gateways/{gateway}/{action}": {
        "post": _operation("Start, stop, restart, pause or resume sending, or reset the send limit of a gateway "
                           "(administrators only)", 200, "Gateway", errors=(403, 409, 503), parameters=(
                               GATEWAY, _path("action", {"type": "string", "enum": list(GATEWAY_ACTIONS)}))),
    },
    "/connectors": {
        "get": _operation("Every connector: whether it runs, its properties and its routing", 200, "ConnectorList",
                          errors=(503,)),
    },
    "/connectors/{connector}": {
        "get": _operation("One connector", 200, "Connector", parameters=(CONNECTOR,), errors=(503,)),
        "patch": _operation("Set properties and routing of a connector, all or none; it restarts unless reload "
                            "is false (administrators only)", 200, "Connector", body="ConnectorChange",
                            parameters=(CONNECTOR,), errors=(403, 409, 503)),
    },
    "/connectors/{connector}/{action}": {
        "post": _operation("Start, stop or restart a connector (administrators only)", 200, "Connector",
                           errors=(403, 409, 503), parameters=(
                               CONNECTOR, _path("action", {"type": "string", "enum": list(CONNECTOR_ACTIONS)}))),
    },
    "/openapi.json": {
        "get": {**_operation("This document", 200, None, public=True),
                "responses": {"200": {"description": "This document",
                                      "content": _content({"type": "object"})},
                              "400": {"description": ERROR_TEXTS[400], "content": _content(_ref("Error"))}}},
    },
}


def document(version: str) -> dict:
    return {
        "openapi": "3.0.3",
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
