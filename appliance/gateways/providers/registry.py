"""The provider modules by the ``type`` a [[provider]] table names: one line each."""

from __future__ import annotations

from .api import ProviderApi
from .generic_http import GenericHttp
from .infobip import Infobip
from .smsapi import SmsApi
from .twilio import Twilio

PROVIDERS: dict[str, type[ProviderApi]] = {
    SmsApi.type: SmsApi,
    Twilio.type: Twilio,
    Infobip.type: Infobip,
    GenericHttp.type: GenericHttp,
}


def api_for(type_name: str) -> type[ProviderApi]:
    """The module for ``type_name``; KeyError for a type the appliance does not have."""
    return PROVIDERS[type_name]
