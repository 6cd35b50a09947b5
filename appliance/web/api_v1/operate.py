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
from typing import TypeVar

from ...config import properties
from ...config.file import ConfigError
from ...config.properties import Override, UnknownName
from ...control.server_control import ServerControl, on_loop
from .auth import require_admin
from .endpoint import Call
from .wire import ApiError, invalid, not_found

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_VALUE = 10_000


def control_of(call: Call) -> ServerControl:
    control = call.context.http.control
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


def named(entries: Sequence[dict], name: str, what: str) -> dict:
    found = next((entry for entry in entries if entry["name"] == name), None)
    if found is None:
        raise not_found(f"{what} {name!r}")
    return found


def action_of(actions: Mapping[str, Callable[[ServerControl, list[str]], object]], name: str,
           what: str) -> Callable[[ServerControl, list[str]], object]:
    if name not in actions:
        raise ApiError(404, "not_found", f"{name!r} is not an action on a {what} (there are: {', '.join(actions)})")
    return actions[name]


def table(value: object, field: str) -> dict:
    """``value``, the body's ``field``, which must be an object (CBOR's keys, too, strings)."""
    if not isinstance(value, dict):
        raise invalid(field, f"{field} must be an object")
    for key in value:
        if not isinstance(key, str):
            raise invalid(field, f"{field} must name each entry with a string, not {key!r}")
    return value


def text_table(value: object, field: str) -> dict[str, str]:
    """An object of names to text values, as set-*-property takes them ("20", "1", "")."""
    values = table(value, field)
    for key, text in values.items():
        if not isinstance(text, str):
            raise invalid(f"{field}.{key}", f"{field}.{key} must be a string, like \"20\" or \"1\"")
        if len(text) > MAX_VALUE:
            raise invalid(f"{field}.{key}", f"{field}.{key} is longer than {MAX_VALUE} characters")
    return values


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
