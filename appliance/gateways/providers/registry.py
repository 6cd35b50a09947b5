"""The provider modules by the ``type`` a [[provider]] table names: one line each."""

from __future__ import annotations

from ...config.file import ConfigError, ProviderConfig
from .api import ProviderApi
from .clickatell import Clickatell
from .generic_http import GenericHttp
from .infobip import Infobip
from .smsapi import SmsApi
from .twilio import Twilio

PROVIDERS: dict[str, type[ProviderApi]] = {
    SmsApi.type: SmsApi,
    Twilio.type: Twilio,
    Clickatell.type: Clickatell,
    Infobip.type: Infobip,
    GenericHttp.type: GenericHttp,
}


def api_for(type_name: str) -> type[ProviderApi]:
    """The module for ``type_name``; KeyError for a type the appliance does not have."""
    return PROVIDERS[type_name]


def check(config: ProviderConfig, key: str) -> None:
    """ConfigError for a [[provider]] table (``key``: provider[2]) its type cannot work
    with: a type without a module, batch where the API takes one message a request, or
    credentials the type's own ``check`` refuses."""
    if config.type not in PROVIDERS:
        raise ConfigError(f"{key}.type", f"the provider type {config.type!r} is not available in this version "
                                         f"(available: {', '.join(sorted(PROVIDERS)) or 'none'})")
    provider = PROVIDERS[config.type]
    if config.pattern == "batch" and not provider.batch:
        raise ConfigError(f"{key}.pattern", f"a provider of type {config.type!r} takes one message a request: "
                                            "pattern must be \"loop\"")
    provider.check(config, key)
