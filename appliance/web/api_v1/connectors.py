"""/api/v1/connectors: each connector's properties and routing for any caller who logs
in; starting, stopping and reconfiguring it for administrators."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from ...config.file import ConnectorType
from ...config.file import Role as GatewayRole
from ...config.properties import (
    CONNECTOR,
    CONNECTOR_PROPERTIES,
    ROUTING,
    ROUTING_PROPERTIES,
    WEBHOOK_ONLY,
    Override,
    routing_name,
)
from ...control.server_control import ServerControl
from .endpoint import Api, Call
from .fields import Input, Output, keyed
from .operate import RELOAD, Change, Values, action_of, administrator, changed, checked, control_of, listed, named, run

Flag = Literal["0", "1"]
EVERY_CONNECTORS = [name for name in CONNECTOR_PROPERTIES if name not in WEBHOOK_ONLY]   # webhooks' too


class Routing(Output):
    """How a connector uses one gateway, as set-routing-property takes it."""

    Send: Flag
    Receive: Flag
    Role: GatewayRole


class Connector(Output):
    """A connector, whether it runs, whether a change waits for its restart, its
    properties as set-connector-property takes them (secrets as ***; the webhook keys on
    webhooks only) and its routing per gateway."""

    name: str
    type: ConnectorType
    running: bool
    pending: bool
    properties: Annotated[dict[str, str], keyed(CONNECTOR_PROPERTIES, str, required=EVERY_CONNECTORS)]
    routing: dict[str, Routing]


class ConnectorList(Output):
    connectors: list[Connector]


class ConnectorChange(Input, kw_only=True):
    properties: Annotated[Values, listed(CONNECTOR_PROPERTIES)] = msgspec.field(default_factory=dict)
    routing: Annotated[dict[str, Annotated[Values, listed(ROUTING_PROPERTIES)]],
                       Meta(description="per gateway, by its name")] = msgspec.field(default_factory=dict)
    reload: Annotated[bool, Meta(description=RELOAD)] = True


ACTIONS = {
    "start": ServerControl.start_connectors,
    "stop": ServerControl.stop_connectors,
    "restart": ServerControl.restart_connectors,
}


def connectors(control: ServerControl) -> list[Connector]:
    return msgspec.convert(run(control, control.configuration)["connectors"], list[Connector])


def change(control: ServerControl, connector: str, values: Values, routing: dict[str, Values],
           reload: bool) -> list[Change]:
    """Set a connector's ``values`` and its ``routing`` per gateway, all checked before any
    is kept, and restart it with them when ``reload``; the changes made. The web pages
    share it, so a value is refused there with the same words as here."""
    changes = ([(f"properties.{prop}", Override(CONNECTOR, connector, prop, value))
                for prop, value in values.items()]
               + [(f"routing.{gateway}.{prop}", Override(ROUTING, routing_name(connector, gateway), prop, value))
                  for gateway, entry in routing.items() for prop, value in entry.items()])

    def work() -> None:
        named(control.configuration()["connectors"], connector, "connector")
        checked(control, changes)
        for prop, value in values.items():
            control.set_connector_property([connector], prop, value, reload=False)
        for gateway, entry in routing.items():
            for prop, value in entry.items():
                control.set_routing_property([connector], [gateway], prop, value, reload=False)
        if changes and reload:
            control.restart_connectors([connector])
    run(control, work)
    return changes


def install(api: Api) -> None:
    @api.route("GET", "/connectors")
    def list_connectors(call: Call) -> ConnectorList:
        return ConnectorList(connectors(control_of(call)))

    @api.route("GET", "/connectors/<connector>")
    def get_connector(call: Call, connector: str) -> Connector:
        return named(connectors(control_of(call)), connector, "connector")

    @api.route("POST", "/connectors/<connector>/<action>")
    def act_on_connector(call: Call, connector: str, action: str) -> Connector:
        control = administrator(call)
        act = action_of(ACTIONS, action, "connector")
        run(control, lambda: act(control, [connector]))
        changed(call, "connector", connector, action)
        return named(connectors(control), connector, "connector")

    @api.route("PATCH", "/connectors/<connector>")
    def change_connector(call: Call, connector: str) -> Connector:
        control = administrator(call)
        body = call.body(ConnectorChange)
        changes = change(control, connector, body.properties, body.routing, body.reload)
        changed(call, "connector", connector, changes)
        return named(connectors(control), connector, "connector")
