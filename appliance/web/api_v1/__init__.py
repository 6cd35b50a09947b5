"""The JSON API, ``/api/v1``: JSON or CBOR, API keys or HTTP Basic, errors as objects.

Each resource kind is a module with ``install(api)`` and the Structs its operations read
and answer with (fields.py has their bases); a new kind is one more module in RESOURCES,
with its paths added to openapi.py, which takes the schemas from those Structs and which
tests check against what the modules answer.
"""

from __future__ import annotations

import bottle

from . import blocklist, connectors, contacts, gateways, keys, messages, openapi, received, status, users
from .context import ApiV1Context
from .endpoint import Api

RESOURCES = (messages, received, contacts, users, keys, blocklist, status, gateways, connectors, openapi)

__all__ = ["ApiV1Context", "install"]


def install(app: bottle.Bottle, context: ApiV1Context) -> None:
    api = Api(app, context)
    for resource in RESOURCES:
        resource.install(api)
    api.install_fallback()
