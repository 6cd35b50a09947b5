"""The Clickatell module against its fake over real HTTPS: what it sends, and how it
reads every kind of answer the One API gives (docs/providers.md, "Clickatell")."""

import asyncio

import aiohttp
import pytest
from provider_fakes.clickatell import FakeClickatell
from provider_fakes.server import Fault

from appliance.config.file import ConfigError, ProviderConfig
from appliance.gateways.providers.api import Answer, Delivery, Kind, Outgoing, perform, tls_context
from appliance.gateways.providers.clickatell import Clickatell
from appliance.gateways.providers.registry import api_for


@pytest.fixture
def fake(tmp_path):
    provider = FakeClickatell(tmp_path).start()
    yield provider
    provider.stop()


def config(fake=None, **changes):
    values = {"name": "Clickatell I", "type": "clickatell", "api_key": "key-123"}
    if fake is not None:
        values.update(base_url=fake.url, ca_file=fake.ca_file)
    return ProviderConfig(**{**values, **changes})


def message(n, recipient="+4915212345678", text=None, sender=""):
    return Outgoing(str(n), recipient, text or f"message {n}", sender, False, 1)


def ask(fake, request, timeout=10.0):
    async def run():
        async with aiohttp.ClientSession() as session:
            return await perform(session, request, timeout=timeout, tls=tls_context(fake.ca_file))
    return asyncio.run(run())


def send(api, fake, messages, timeout=10.0):
    return api.send_results(messages, ask(fake, api.send_request(messages), timeout))


def test_it_is_the_registered_clickatell_type():
    assert api_for("clickatell") is Clickatell


def test_a_loop_sends_each_message_in_its_own_request(fake):
    api = Clickatell(config(fake))
    first, second = message(1, sender="Clinic"), message(2, "+447700900123")
    results = [send(api, fake, [first])[0], send(api, fake, [second])[0]]
    assert [r.kind for r in results] == [Kind.SENT, Kind.SENT]
    assert [r.provider_id for r in results] == [a["id"] for a in fake.accepted]
    assert [(a["to"], a["text"], a["sender"]) for a in fake.accepted] == [
        ("4915212345678", "message 1", "Clinic"), ("447700900123", "message 2", "")]
    assert fake.requests == 2


def test_a_batch_carries_different_texts_and_reads_each_result_in_order(fake):
    api = Clickatell(config(fake, pattern="batch"))
    messages = [message(1, text="Hallo"), message(2, "+12"), message(3, "+447700900123", text="Hi")]
    results = send(api, fake, messages)
    assert [r.kind for r in results] == [Kind.SENT, Kind.PERMANENT, Kind.SENT]
    assert (results[1].error_code, results[1].error_text) == (25, "Invalid recipient address: 12")
    assert [(a["to"], a["text"]) for a in fake.accepted] == [("4915212345678", "Hallo"), ("447700900123", "Hi")]
    assert fake.requests == 1


def test_no_credit_and_a_sender_not_owned_are_refused_so_another_gateway_may_send(fake):
    api = Clickatell(config(fake))
    fake.refused_senders.add("Shop")
    refused = send(api, fake, [message(1, sender="Shop")])[0]
    assert (refused.kind, refused.error_code) == (Kind.REFUSED, 45)
    fake.credit = 0
    broke = send(api, fake, [message(2), message(3)])
    assert [(r.kind, r.error_code) for r in broke] == [(Kind.REFUSED, 20)] * 2
    assert fake.accepted == []


def test_wrong_credentials_stop_the_gateway_and_tell_no_status_or_balance(fake):
    api = Clickatell(config(fake, api_key="wrong"))
    results = send(api, fake, [message(1), message(2)])
    assert [(r.kind, r.error_code) for r in results] == [(Kind.CREDENTIALS, 1)] * 2
    assert results[0].error_text == "Invalid or missing integration API Key"
    assert api.balance(ask(fake, api.balance_request())) is None
    assert api.status_results(["x"], ask(fake, api.status_request(["x"]))) == {}
    assert fake.accepted == []


def test_429_and_5xx_are_temporary_and_retry_after_is_honoured(fake):
    api = Clickatell(config(fake))
    fake.fail_next(Fault(429, b"", {"Retry-After": "7"}),
                   Fault(503, b'{"error": {"code": 19, "description": "Internal error, please retry"}}'),
                   Fault(502, b"<html>bad gateway</html>"))
    throttled, retry, gateway = (send(api, fake, [message(n)])[0] for n in range(3))
    assert (throttled.kind, throttled.retry_after) == (Kind.TEMPORARY, 7.0)
    assert (retry.kind, retry.error_code, retry.retry_after) == (Kind.TEMPORARY, 19, None)
    assert gateway.kind is Kind.TEMPORARY
    assert fake.accepted == []


def test_a_malformed_body_after_a_2xx_leaves_the_fate_unknown(fake):
    api = Clickatell(config(fake))
    fake.fail_next(Fault(202, b'{"messages": [{"accepted": tr'), Fault(202, b'{"messages": []}'))
    assert send(api, fake, [message(1)])[0].kind is Kind.UNKNOWN
    assert [r.kind for r in send(api, fake, [message(2), message(3)])] == [Kind.UNKNOWN] * 2


def test_a_hang_is_a_timeout_and_nothing_was_accepted(fake):
    api = Clickatell(config(fake))
    fake.fail_next(Fault(hang=True))
    with pytest.raises(asyncio.TimeoutError):
        send(api, fake, [message(1)], timeout=1.0)
    assert fake.accepted == []


def test_status_is_asked_one_id_at_a_time_and_mapped(fake):
    api = Clickatell(config(fake))
    assert Clickatell.status_ids_per_request == 1
    sent = send(api, fake, [message(1)])[0].provider_id

    def status(provider_id):
        return api.status_results([provider_id], ask(fake, api.status_request([provider_id])))

    assert status(sent)[sent].delivery is Delivery.PENDING
    fake.statuses[sent] = "DEVICE_ACK"
    assert status(sent)[sent].delivery is Delivery.DELIVERED
    fake.statuses[sent] = "EXPIRED"
    assert (status(sent)[sent].delivery, status(sent)[sent].error_code) == (Delivery.FAILED, 20)
    assert status("0" * 32) == {}


def test_the_balance_is_the_account_s_and_in_its_currency(fake):
    api = Clickatell(config(fake))
    send(api, fake, [message(1), message(2)])
    balance = api.balance(ask(fake, api.balance_request()))
    assert (balance.amount, balance.currency) == (998.0, "EUR")


def test_no_client_reference_so_a_repeat_is_sent_twice(fake):
    api = Clickatell(config(fake))
    assert Clickatell.idempotent is False
    assert "clientMessageId" not in api.send_request([message(1)]).body.decode()
    send(api, fake, [message(1)])
    send(api, fake, [message(1)])
    assert len(fake.accepted) == 2


def test_a_missing_from_parameter_is_a_sender_refusal():
    api = Clickatell(config())
    answer = Answer(400, {}, b'{"messages": [{"accepted": false, "to": "4915212345678", '
                             b'"error": {"code": 23, "description": "Invalid or missing parameter: from"}}]}')
    assert api.send_results([message(1, sender="X")], answer)[0].kind is Kind.REFUSED


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"username": "clinic"}, "username", "takes the integration's api_key only"),
    ({"password": "secret"}, "password", "takes the integration's api_key only"),
    ({"api_key": ""}, "api_key", "is required"),
    ({"pattern": "batch", "batch_size": 201}, "batch_size", "at most 200"),
])
def test_check_refuses_what_cannot_work_and_names_the_field(changes, field, words):
    with pytest.raises(ConfigError) as refused:
        Clickatell.check(config(**changes), "provider[0]")
    assert refused.value.key == f"provider[0].{field}"
    assert words in refused.value.problem


def test_check_takes_an_api_key_alone():
    Clickatell.check(config(pattern="batch", batch_size=200), "provider[0]")
