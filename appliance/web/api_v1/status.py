"""/api/v1/status: which software answers, for how long, and the state of its gateways,
connectors and messages — what request-server-status tells, for any caller who logs in.

The data is :func:`appliance.control.server_status.collect`'s, bound by the service as
``context.http.server_status``; here it only takes the API's shape (times in RFC 3339, a
gateway's own particulars under ``device``). /api/v1/gateways shows the same gateway entries.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType

from ...config.file import ConnectorType, GatewayUse
from .endpoint import Api, Call
from .fields import Count, Output, Time, keyed, timestamp
from .messages import STATES


class Device(Output):
    """What a gateway's kind tells besides its state; a modem tells all of it, another
    kind of gateway may tell none."""

    model: str | UnsetType = UNSET
    dialect: str | UnsetType = UNSET
    port: str | UnsetType = UNSET
    signal_dbm: int | UnsetType | None = UNSET
    registration: str | UnsetType = UNSET
    operator: str | UnsetType | None = UNSET
    storage: str | UnsetType | None = UNSET        # used/total SMS slots
    network_time: str | UnsetType | None = UNSET
    smsc: str | UnsetType | None = UNSET


class GatewayCredit(Output):
    """What is left on the gateway's account (a prepaid SIM by USSD, a provider's balance)."""

    amount: float | None              # None until a reading held an amount
    currency: str
    text: str                         # the answer as given, for a person to read
    read_at: Time | None
    error: str                        # why the latest reading failed; "" when it did not


class GatewayStatus(Output):
    name: str
    state: str
    detail: str
    in_service: bool
    paused: bool
    sent: Count
    failed: Count
    received: Count
    send_limit_day: int | None
    send_limit_month: int | None
    send_rate_per_minute: int | None
    device: Device
    credit: GatewayCredit | None      # None where the credit is not watched


class ConnectorStatus(Output):
    name: str
    type: ConnectorType
    max_send_attempts: int
    gateways: list[GatewayUse]


class Status(Output):
    version: str
    uptime: Annotated[float, msgspec.Meta(ge=0)]     # seconds
    started_at: Time
    messages: Annotated[dict[str, Count], keyed(STATES, Count, required=STATES)]   # by state
    received: Count
    gateways: list[GatewayStatus]
    connectors: list[ConnectorStatus]


_DEVICE = frozenset(Device.__struct_fields__)


def gateway_fields(collected: dict) -> dict:
    """One gateway of ``collect``'s answer as the fields of a :class:`GatewayStatus`; what
    its kind tells besides (a modem's signal, operator, ...) goes under ``device``."""
    fields = {key: collected[key] for key in GatewayStatus.__struct_fields__ if key not in ("device", "credit")}
    device = {key: value for key, value in collected["properties"].items() if key in _DEVICE}
    credit = collected.get("credit")
    return {**fields, "device": msgspec.convert(device, Device),
            "credit": None if credit is None else GatewayCredit(
                amount=credit["amount"], currency=credit["currency"], text=credit["text"],
                read_at=None if credit["at"] is None else timestamp(credit["at"]), error=credit["error"])}


def install(api: Api) -> None:
    @api.route("GET", "/status")
    def status(call: Call) -> Status:
        context = call.context
        collected = context.http.server_status()
        return Status(version=context.version,
                      uptime=round(max(0.0, context.uptime_clock() - context.started_at), 3),
                      started_at=timestamp(collected["started_at"]),
                      messages=collected["messages"],
                      received=collected["received"],
                      gateways=[GatewayStatus(**gateway_fields(g)) for g in collected["gateways"]],
                      # collect tells more of each connector (its counts, for the /http XML)
                      connectors=msgspec.convert([{key: c[key] for key in ConnectorStatus.__struct_fields__}
                                                  for c in collected["connectors"]], list[ConnectorStatus]))
