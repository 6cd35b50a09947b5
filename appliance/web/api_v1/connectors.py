"""/api/v1/connectors: each connector's properties and routing for any caller who logs
in; starting, stopping and reconfiguring it for administrators."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from ...config.properties import (
    CONNECTOR,
    CONNECTOR_PROPERTIES,
    ROUTING,
    ROUTING_PROPERTIES,
    Override,
    routing_name,
)
from ...control.server_control import ServerControl
from .endpoint import Api, Call
from .fields import Input
from .operate import RELOAD, Values, action_of, administrator, changed, checked, control_of, listed, named, run


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


def connectors(control: ServerControl) -> list[dict]:
    """Each connector with its properties (secrets as ***), its routing per gateway, and
    whether it runs and has a change waiting for its restart."""
    return run(control, control.configuration)["connectors"]


def install(api: Api) -> None:
    @api.route("GET", "/connectors")
    def list_connectors(call: Call) -> dict:
        return {"connectors": connectors(control_of(call))}

    @api.route("GET", "/connectors/<connector>")
    def get_connector(call: Call, connector: str) -> dict:
        return named(connectors(control_of(call)), connector, "connector")

    @api.route("POST", "/connectors/<connector>/<action>")
    def act_on_connector(call: Call, connector: str, action: str) -> dict:
        control = administrator(call)
        act = action_of(ACTIONS, action, "connector")
        run(control, lambda: act(control, [connector]))
        changed(call, "connector", connector, action)
        return named(connectors(control), connector, "connector")

    @api.route("PATCH", "/connectors/<connector>")
    def change_connector(call: Call, connector: str) -> dict:
        control = administrator(call)
        body = call.body(ConnectorChange)
        values, routing, reload = body.properties, body.routing, body.reload
        changes = ([(f"properties.{prop}", Override(CONNECTOR, connector, prop, value))
                    for prop, value in values.items()]
                   + [(f"routing.{gateway}.{prop}", Override(ROUTING, routing_name(connector, gateway), prop, value))
                      for gateway, entry in routing.items() for prop, value in entry.items()])

        def change() -> None:
            named(control.configuration()["connectors"], connector, "connector")
            checked(control, changes)
            for prop, value in values.items():
                control.set_connector_property([connector], prop, value, reload=False)
            for gateway, entry in routing.items():
                for prop, value in entry.items():
                    control.set_routing_property([connector], [gateway], prop, value, reload=False)
            if changes and reload:
                control.restart_connectors([connector])
        run(control, change)
        changed(call, "connector", connector, changes)
        return named(connectors(control), connector, "connector")
