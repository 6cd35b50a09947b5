"""send-server-command: administrators start, stop and reconfigure gateways and connectors
through the Diafaan HTTP API (basic and full editions; docs/http-api.md, "send-server-command").

Off unless ``[http] send_server_command = true``. The work is done by
:class:`appliance.control.server_control.ServerControl` on the event loop; this module reads the
parameters, checks who asks, and writes the reply: one ``OK: <name>: <what happened>``
line per gateway or connector affected, or the XML of the get-* commands.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from xml.etree.ElementTree import Element

import bottle

from ...config.file import ConfigError
from ...config.properties import UnknownName
from ...control.server_control import ServerControl, on_loop
from .common import (
    CALLBACK_NOT_SUPPORTED,
    NOT_ALLOWED,
    UNKNOWN_COMMAND,
    UNKNOWN_ERROR,
    ApiError,
    HttpApiContext,
    authenticate,
    single,
)
from .xml_reply import XmlReply, child, document

log = logging.getLogger(__name__)

Command = Callable[[HttpApiContext, bottle.MultiDict], str]


def refused_while_stopped(command: Command) -> Command:
    """A command that takes messages in answers 307 while its connector is stopped."""
    def guarded(context: HttpApiContext, params: bottle.MultiDict) -> str:
        if context.control is not None and not context.control.accepting(context.connector):
            raise ApiError(NOT_ALLOWED, f"the connector {context.connector!r} is stopped: an administrator "
                                        "starts it with send-server-command command=start-connector")
        return command(context, params)
    return guarded


def send_server_command(context: HttpApiContext, params: bottle.MultiDict) -> str | XmlReply:
    principal = authenticate(context, params)
    if not context.send_server_command_enabled or context.control is None:
        raise ApiError(NOT_ALLOWED, "send-server-command is disabled: set send_server_command = true "
                                    "in the [http] table of the config file and restart the appliance")
    if principal.external:
        raise ApiError(CALLBACK_NOT_SUPPORTED, "send-server-command needs a local administrator account")
    if not principal.is_admin:
        raise ApiError(NOT_ALLOWED, "send-server-command is for administrators only")
    name = (single(params, "command") or "").strip()
    if not name:
        raise ApiError(UNKNOWN_COMMAND, f"command is missing (one of: {', '.join(SERVER_COMMANDS)})")
    if name not in SERVER_COMMANDS:
        raise ApiError(UNKNOWN_COMMAND, f"command: {name!r} is not one of {', '.join(SERVER_COMMANDS)}")
    bind, reply = SERVER_COMMANDS[name]
    work = bind(context.control, params)   # every parameter is read before anything is done
    try:
        result = on_loop(context.control.loop, work)
    except UnknownName as error:
        raise ApiError(UNKNOWN_COMMAND, str(error)) from None
    except ConfigError as error:
        raise ApiError(NOT_ALLOWED, str(error)) from None
    except TimeoutError as error:
        raise ApiError(UNKNOWN_ERROR, str(error)) from None
    if not name.startswith("get-"):
        # who changed what, never a value: it may be a PIN or a token
        named = {p: single(params, p) for p in ("gateway", "connector", "property") if single(params, p)}
        log.info("send-server-command %s by %s %s", name, principal.name, named)
    return reply(result)


# -- parameters -----------------------------------------------------------------------------

def _names(params: bottle.MultiDict, parameter: str) -> list[str]:
    """``gateway`` or ``connector``: names separated by ';'; none means all."""
    raw = single(params, parameter) or ""
    return list(dict.fromkeys(name.strip() for name in raw.split(";") if name.strip()))


def _property(params: bottle.MultiDict) -> str:
    value = (single(params, "property") or "").strip()
    if not value:
        raise ApiError(UNKNOWN_COMMAND, "property is missing")
    return value


def _value(params: bottle.MultiDict) -> str:
    """Required, but may be empty: an empty SendLimitDay is no limit, an empty Pin no PIN."""
    value = single(params, "value")
    if value is None:
        raise ApiError(UNKNOWN_COMMAND, "value is missing")
    return value.strip()


def _reload(params: bottle.MultiDict) -> bool:
    value = (single(params, "reload") or "1").strip()
    if value not in ("0", "1"):
        raise ApiError(NOT_ALLOWED, f"reload: must be 0 or 1, not {value!r}")
    return value == "1"


# -- replies --------------------------------------------------------------------------------

def _ok(results: dict[str, str]) -> str:
    if not results:
        return "OK: nothing to do (no gateway or connector is enabled)"
    return "\r\n".join(f"OK: {name}: {what}" for name, what in results.items())


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _properties(parent: Element, values: dict[str, str]) -> None:
    for name, value in values.items():
        child(parent, name, value)


def configuration_xml(configuration: dict) -> XmlReply:
    root = Element("ServerConfiguration")
    gateways = child(root, "Gateways", Count=len(configuration["gateways"]))
    for gateway in configuration["gateways"]:
        element = child(gateways, "Gateway", Name=gateway["name"], Running=_flag(gateway["running"]),
                        Paused=_flag(gateway["paused"]), Pending=_flag(gateway["pending"]))
        _properties(element, gateway["properties"])
    connectors = child(root, "Connectors", Count=len(configuration["connectors"]))
    for connector in configuration["connectors"]:
        element = child(connectors, "Connector", Name=connector["name"], Type=connector["type"],
                        Running=_flag(connector["running"]), Pending=_flag(connector["pending"]))
        _properties(element, connector["properties"])
        routing = child(element, "Routing")
        for gateway, values in connector["routing"].items():
            _properties(child(routing, "Gateway", Name=gateway), values)
    return document(root)


def settings_xml(settings: dict) -> XmlReply:
    root = Element("ServerSettings", Pending=_flag(settings["pending"]))
    _properties(root, settings["properties"])
    return document(root)


# -- the commands ---------------------------------------------------------------------------
# Each reads its parameters at once (an error there changes nothing) and returns the work
# to run on the event loop; its result becomes the reply on the request's thread.

Work = Callable[[], Any]
Bind = Callable[[ServerControl, bottle.MultiDict], Work]
Action = Callable[[ServerControl, list[str]], dict[str, str]]


def _on(parameter: str, action: Action) -> Bind:
    def bind(control: ServerControl, params: bottle.MultiDict) -> Work:
        names = _names(params, parameter)
        return lambda: action(control, names)
    return bind


def _set_gateway_property(control: ServerControl, params: bottle.MultiDict) -> Work:
    names, prop, value, reload = _names(params, "gateway"), _property(params), _value(params), _reload(params)
    return lambda: control.set_gateway_property(names, prop, value, reload)


def _set_connector_property(control: ServerControl, params: bottle.MultiDict) -> Work:
    names, prop, value, reload = _names(params, "connector"), _property(params), _value(params), _reload(params)
    return lambda: control.set_connector_property(names, prop, value, reload)


def _set_routing_property(control: ServerControl, params: bottle.MultiDict) -> Work:
    connectors, gateways = _names(params, "connector"), _names(params, "gateway")
    prop, value, reload = _property(params), _value(params), _reload(params)
    return lambda: control.set_routing_property(connectors, gateways, prop, value, reload)


def _set_settings_property(control: ServerControl, params: bottle.MultiDict) -> Work:
    prop, value, reload = _property(params), _value(params), _reload(params)
    return lambda: control.set_settings_property(prop, value, reload)


# command: (read the parameters, write the reply)
SERVER_COMMANDS: dict[str, tuple[Bind, Callable[[Any], str | XmlReply]]] = {
    "start-gateway": (_on("gateway", ServerControl.start_gateways), _ok),
    "stop-gateway": (_on("gateway", ServerControl.stop_gateways), _ok),
    "restart-gateway": (_on("gateway", ServerControl.restart_gateways), _ok),
    "start-connector": (_on("connector", ServerControl.start_connectors), _ok),
    "stop-connector": (_on("connector", ServerControl.stop_connectors), _ok),
    "restart-connector": (_on("connector", ServerControl.restart_connectors), _ok),
    "reset-send-limit": (_on("gateway", ServerControl.reset_send_limit), _ok),
    "pause-sending": (_on("gateway", ServerControl.pause_sending), _ok),
    "resume-sending": (_on("gateway", ServerControl.resume_sending), _ok),
    "get-server-configuration": (lambda control, params: control.configuration, configuration_xml),
    "get-server-settings": (lambda control, params: control.settings, settings_xml),
    "set-gateway-property": (_set_gateway_property, _ok),
    "set-connector-property": (_set_connector_property, _ok),
    "set-routing-property": (_set_routing_property, _ok),
    "set-settings-property": (_set_settings_property, _ok),
}
