"""A provider account's balance as the gateway's credit: read from the provider's API
over HTTPS, kept by the credit watch, and a refused or unreadable answer kept as the
reason beside the last amount."""

import asyncio

import pytest
from provider_fakes.infobip import FakeInfobip

from appliance.config.file import ProviderConfig
from appliance.gateways.credit import CreditWatch
from appliance.gateways.providers.engine import ProviderGateway


@pytest.fixture
def infobip(tmp_path):
    fake = FakeInfobip(tmp_path, balance=47.79).start()
    yield fake
    fake.stop()


def gateway_for(fake, api_key="key-1"):
    config = ProviderConfig(name="Infobip I", type="infobip", base_url=fake.url, ca_file=fake.ca_file,
                            api_key=api_key, balance_low=50)
    return ProviderGateway(asyncio.get_running_loop(), config)


async def test_the_balance_is_read_as_the_gateways_credit_and_low_is_told(infobip):
    gateway = gateway_for(infobip)
    gateway.start()
    lows = []
    watch = CreditWatch(asyncio.get_running_loop(), on_low=lambda *told: lows.append(told))
    assert gateway.tells_credit
    watch.watch(gateway.name, gateway.read_credit, interval=3600, low=gateway.config.balance_low)
    credit = await watch.refresh(gateway.name)
    assert (credit.amount, credit.currency, credit.text, credit.error) == (47.79, "EUR", "47.79 EUR", "")
    assert [(name, c.amount, low) for name, c, low in lows] == [("Infobip I", 47.79, 50)]
    watch.stop()
    gateway.stop()
    await gateway.closing


async def test_refused_credentials_and_a_stopped_gateway_say_why(infobip):
    gateway = gateway_for(infobip, api_key="wrong")
    with pytest.raises(RuntimeError, match="the gateway is stopped"):
        await gateway.read_credit()
    gateway.start()
    watch = CreditWatch(asyncio.get_running_loop())
    watch.watch(gateway.name, gateway.read_credit, interval=3600)
    credit = await watch.refresh(gateway.name)
    assert credit.amount is None and "HTTP 401" in credit.error
    watch.stop()
    gateway.stop()
    await gateway.closing
