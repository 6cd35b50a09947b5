"""/api/v1/gateways: each gateway's status and configured properties for any caller who
logs in; starting, stopping, pausing and reconfiguring it for administrators."""

from __future__ import annotations

import asyncio
from typing import Annotated

import msgspec
from msgspec import Meta

from ...config.properties import GATEWAY, GATEWAY_PROPERTIES, SHARED_PROPERTIES, Override
from ...control.server_control import ServerControl
from .endpoint import Api, Call
from .fields import Input, Output, keyed
from .gateway_test import TestRequest, TestResult, send_test
from .operate import RELOAD, Change, Values, action_of, administrator, changed, checked, control_of, listed, named, run
from .status import GatewayStatus, gateway_fields
from .wire import ApiError


class Gateway(GatewayStatus):
    """A gateway's status, whether it runs, whether a change waits for its restart, and
    its properties as set-gateway-property takes them (secrets as ***): a modem's or a
    provider's, those both kinds have always."""

    running: bool
    pending: bool
    properties: Annotated[dict[str, str], keyed(GATEWAY_PROPERTIES, str, required=SHARED_PROPERTIES)]


class GatewayList(Output):
    gateways: list[Gateway]


class GatewayChange(Input, kw_only=True):
    properties: Annotated[Values, listed(GATEWAY_PROPERTIES)] = msgspec.field(default_factory=dict)
    reload: Annotated[bool, Meta(description=RELOAD)] = True


ACTIONS = {
    "start": ServerControl.start_gateways,
    "stop": ServerControl.stop_gateways,
    "restart": ServerControl.restart_gateways,
    "pause": ServerControl.pause_sending,
    "resume": ServerControl.resume_sending,
    "reset-send-limit": ServerControl.reset_send_limit,
    "read-credit": ServerControl.read_credit,
}
CREDIT_TIMEOUT = 60.0   # seconds a read-credit answer waits for the reading (a USSD answer takes a few)


def gateways(call: Call, control: ServerControl) -> list[Gateway]:
    configured = {g["name"]: g for g in run(control, control.configuration)["gateways"]}
    result = []
    for collected in call.context.http.server_status()["gateways"]:
        settings = configured[collected["name"]]
        result.append(Gateway(**gateway_fields(collected), running=settings["running"],
                              pending=settings["pending"], properties=settings["properties"]))
    return result


def change(control: ServerControl, gateway: str, values: Values, reload: bool) -> list[Change]:
    """Set a gateway's ``values`` (property: value), all checked before any is kept, and
    restart it with them when ``reload``; the changes made. The web pages share it, so a
    value is refused there with the same words as here."""
    changes = [(f"properties.{prop}", Override(GATEWAY, gateway, prop, value)) for prop, value in values.items()]

    def work() -> None:
        named(control.configuration()["gateways"], gateway, "gateway")
        checked(control, changes)
        if values:   # together: a provider's credentials are checked as a whole
            control.set_gateway_properties([gateway], values, reload=False)
        if values and reload:
            control.restart_gateways([gateway])
    run(control, work)
    return changes


def install(api: Api) -> None:
    @api.route("GET", "/gateways")
    def list_gateways(call: Call) -> GatewayList:
        return GatewayList(gateways(call, control_of(call)))

    @api.route("GET", "/gateways/<gateway>")
    def get_gateway(call: Call, gateway: str) -> Gateway:
        return named(gateways(call, control_of(call)), gateway, "gateway")

    @api.route("POST", "/gateways/<gateway>/test")  # before the actions' route, which would take it
    def test_gateway(call: Call, gateway: str) -> TestResult:
        administrator(call)
        result = send_test(call.context.http, call.principal, gateway, call.body(TestRequest))
        changed(call, "gateway", gateway, f"test SMS: {result.state}")
        return result

    @api.route("POST", "/gateways/<gateway>/<action>")
    def act_on_gateway(call: Call, gateway: str, action: str) -> Gateway:
        control = administrator(call)
        act = action_of(ACTIONS, action, "gateway")
        run(control, lambda: act(control, [gateway]))
        if action == "read-credit":  # the answer shows the new reading
            try:
                asyncio.run_coroutine_threadsafe(control.router.credit.settled(gateway), control.loop).result(
                    CREDIT_TIMEOUT)
            except TimeoutError:
                raise ApiError(504, "timeout", f"no credit reading within {CREDIT_TIMEOUT:g} s; "
                                               "GET the gateway later to see it") from None
        changed(call, "gateway", gateway, action)
        return named(gateways(call, control), gateway, "gateway")

    @api.route("PATCH", "/gateways/<gateway>")
    def change_gateway(call: Call, gateway: str) -> Gateway:
        control = administrator(call)
        body = call.body(GatewayChange)
        changes = change(control, gateway, body.properties, body.reload)
        changed(call, "gateway", gateway, changes)
        return named(gateways(call, control), gateway, "gateway")
