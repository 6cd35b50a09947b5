"""The provider modules by the ``type`` a [[provider]] table names: one line each."""

from __future__ import annotations

from .api import ProviderApi
from .clickatell import Clickatell

PROVIDERS: dict[str, type[ProviderApi]] = {
    "clickatell": Clickatell,
}


def api_for(type_name: str) -> type[ProviderApi]:
    """The module for ``type_name``; KeyError for a type the appliance does not have."""
    return PROVIDERS[type_name]
