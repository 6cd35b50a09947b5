"""/api/v1/connectors: each connector's properties and routing for any caller who logs
in; starting, stopping and reconfiguring it for administrators."""

from __future__ import annotations

from ...config.properties import CONNECTOR, ROUTING, Override, routing_name
from ...control.server_control import ServerControl
from .endpoint import Api, Call
from .operate import action_of, administrator, changed, checked, control_of, named, run, table, text_table

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
        body = call.body(("properties", "routing", "reload"))
        values = text_table(body.data.get("properties", {}), "properties")
        routing = {gateway: text_table(entry, f"routing.{gateway}")
                   for gateway, entry in table(body.data.get("routing", {}), "routing").items()}
        reload = body.boolean("reload", default=True)
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
