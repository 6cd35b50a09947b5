"""The provider modules by the ``type`` a [[provider]] table names: one line each."""

from __future__ import annotations

from .api import ProviderApi
from .twilio import Twilio

PROVIDERS: dict[str, type[ProviderApi]] = {
    Twilio.type: Twilio,
}


def api_for(type_name: str) -> type[ProviderApi]:
    """The module for ``type_name``; KeyError for a type the appliance does not have."""
    return PROVIDERS[type_name]
