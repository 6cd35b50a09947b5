"""What the gateways and connectors resources share: who may change them, running the
change on the event loop through :class:`~appliance.control.server_control.ServerControl`, and reading
a PATCH body of properties so that all are checked before any is kept.

Unlike send-server-command, this is not switched off by ``[http] send_server_command``:
that switch keeps the Diafaan command, which any Diafaan client library can send with a
password in the URL, off by default. Here every change needs a local administrator's API
key or password, like managing users does (docs/api-v1.md, "Gateways and connectors").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, TypeVar

from msgspec import Meta

from ...config import properties
from ...config.file import ConfigError
from ...config.properties import Override, Property, UnknownName
from ...control.server_control import ServerControl, on_loop
from .auth import require_admin
from .endpoint import Call
from .fields import keyed
from .wire import ApiError, invalid, not_found

log = logging.getLogger(__name__)
T = TypeVar("T")
E = TypeVar("E")
MAX_VALUE = 10_000
Value = Annotated[str, Meta(max_length=MAX_VALUE, description='a string, like "20" or "1"')]
RELOAD = "restart it at once (true) or let the change wait for its next restart (false)"


Values = dict[str, Value]     # property values, as set-*-property takes them ("20", "1", "")


def listed(table: Mapping[str, Property]) -> Meta:
    """For :data:`Values`: the document lists the table's names, each with how its value
    is written. Any name is read, and an unknown one is 422 (unknown_name), as a value that
    cannot be set is."""
    return keyed(table, Value, descriptions={name: properties.written(prop) for name, prop in table.items()})


def control_of(call: Call) -> ServerControl:
    return present(call.context.http.control)


def present(control: ServerControl | None) -> ServerControl:
    """The service's control; 503 when it runs none (the web pages ask this too)."""
    if control is None:
        raise ApiError(503, "unavailable", "this appliance runs no gateways or connectors to control")
    return control


def administrator(call: Call) -> ServerControl:
    """The control, for a local administrator only: changing gateways and connectors
    changes what every user's messages go through."""
    require_admin(call.principal)
    return control_of(call)


def run(control: ServerControl, work: Callable[[], T]) -> T:
    """``work()`` on the event loop; an action the control layer refuses (starting a
    disabled gateway) is 409, and nothing was done."""
    try:
        return on_loop(control.loop, work)
    except UnknownName as error:
        raise ApiError(404, "not_found", str(error)) from None
    except ConfigError as error:
        raise ApiError(409, "not_allowed", str(error)) from None
    except TimeoutError as error:
        raise ApiError(503, "busy", str(error)) from None


Change = tuple[str, Override]   # (the body's field, what it sets)


def changed(call: Call, what: str, name: str, done: str | Sequence[Change]) -> None:
    """Who did what to which, never a value: it may be a PIN or a token."""
    if not isinstance(done, str):
        done = "set " + (", ".join(field for field, _ in done) or "nothing")
    log.info("api/v1: %s %r: %s by %s", what, name, done, call.principal.name)


def named(entries: Sequence[E], name: str, what: str) -> E:
    """The entry (a reply's Struct or the control's dict) of the gateway or connector ``name``."""
    found = next((entry for entry in entries if _name_of(entry) == name), None)
    if found is None:
        raise not_found(f"{what} {name!r}")
    return found


def _name_of(entry: Any) -> str:
    return entry["name"] if isinstance(entry, dict) else entry.name


def action_of(actions: Mapping[str, Callable[[ServerControl, list[str]], object]], name: str,
           what: str) -> Callable[[ServerControl, list[str]], object]:
    if name not in actions:
        raise ApiError(404, "not_found", f"{name!r} is not an action on a {what} (there are: {', '.join(actions)})")
    return actions[name]


def checked(control: ServerControl, changes: Sequence[Change]) -> None:
    """Refuse the first change (``(field, override)``) that cannot be made on top of those
    before it, naming its field; run on the event loop, which alone replaces the config."""
    config = control.config
    for field, override in changes:
        try:
            config = properties.apply(config, override)
        except UnknownName as error:
            raise ApiError(422, "unknown_name", str(error), field) from None
        except ConfigError as error:
            raise invalid(field, str(error)) from None
    try:   # then what holds across keys: a provider's credentials, its pattern
        control.changed_config([override for _, override in changes])
    except ConfigError as error:
        field = next((field for field, override in changes if override.property == error.key), changes[-1][0])
        raise invalid(field, str(error)) from None
