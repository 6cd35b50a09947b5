"""The Twilio module, driven through ``perform`` against the fake Twilio over real HTTPS:
each documented answer becomes the result the router needs."""

import asyncio

import aiohttp
import pytest
from provider_fakes.server import Fault
from provider_fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

from appliance.config.file import ConfigError, ProviderConfig
from appliance.gateways.providers.api import Delivery, Kind, Outgoing, perform, tls_context
from appliance.gateways.providers.registry import api_for
from appliance.gateways.providers.twilio import Twilio, verify_signature


@pytest.fixture
def fake(tmp_path):
    provider = FakeTwilio(tmp_path).start()
    yield provider
    provider.stop()


def config(fake=None, **changes):
    fields = {"name": "Twilio I", "type": "twilio", "account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN,
              "sender": "+15017122661"}
    if fake is not None:
        fields.update(base_url=fake.url, ca_file=fake.ca_file)
    fields.update(changes)
    return ProviderConfig(**fields)


def message(recipient="+4915212345678", text="Hello", sender="", message_id="m1"):
    return Outgoing(message_id=message_id, recipient=recipient, text=text, sender=sender, unicode=False, parts=1)


def run(api, request, *, timeout=10.0):
    async def go():
        async with aiohttp.ClientSession() as session:
            return await perform(session, request, timeout=timeout, tls=tls_context(api.config.ca_file))
    return asyncio.run(go())


def send(api, outgoing, **kwargs):
    answer = run(api, api.send_request([outgoing]), **kwargs)
    (result,) = api.send_results([outgoing], answer)
    return result


def test_it_is_registered_as_the_twilio_type():
    assert api_for("twilio") is Twilio
    assert (Twilio.batch, Twilio.idempotent, Twilio.status_ids_per_request) == (False, False, 1)


@pytest.mark.parametrize(("changes", "key", "words"), [
    ({"account_sid": ""}, "twilio.account_sid", "is required"),
    ({"auth_token": ""}, "twilio.auth_token", "is required"),
    ({"account_sid": "AB" + "0" * 32}, "twilio.account_sid", "'AC' and 32"),
    ({"account_sid": "AC123"}, "twilio.account_sid", "not 5 characters"),
    ({"pattern": "batch"}, "twilio.pattern", "Twilio sends one message per request: pattern must be loop"),
    ({"sender": ""}, "twilio.sender", "Twilio has no default sender"),
])
def test_check_names_the_field_it_refuses(changes, key, words):
    with pytest.raises(ConfigError) as refused:
        Twilio.check(config(**changes), "twilio")
    assert refused.value.key == key
    assert words in refused.value.problem


def test_check_takes_a_complete_account():
    Twilio.check(config(), "twilio")


def test_a_send_is_taken_with_its_sid_and_the_status_follows_it(fake):
    api = Twilio(config(fake))
    result = send(api, message(text="Grüße & more"))
    assert result.kind is Kind.SENT and result.provider_id.startswith("SM")
    assert fake.accepted == [{"to": "+4915212345678", "text": "Grüße & more", "sender": "+15017122661",
                              "id": result.provider_id}]

    def status():
        ids = [result.provider_id]
        return api.status_results(ids, run(api, api.status_request(ids)))[result.provider_id]

    assert status().delivery is Delivery.PENDING
    fake.set_status(result.provider_id, "delivered")
    assert wait_for(lambda: status().delivery is Delivery.DELIVERED)
    fake.set_status(result.provider_id, "undelivered", 30003, "Unreachable destination handset")
    assert wait_for(lambda: status().delivery is Delivery.FAILED)
    assert (status().error_code, status().error_text) == (30003, "Unreachable destination handset")


def wait_for(condition, deadline=10.0):
    """The condition, asked again until it holds or the deadline passes (the fake changes
    state on its own thread)."""
    import time

    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_a_message_own_sender_goes_as_from(fake):
    api = Twilio(config(fake))
    assert send(api, message(sender="CLINIC")).kind is Kind.SENT
    assert fake.accepted[0]["sender"] == "CLINIC"


def test_status_of_an_unknown_sid_tells_nothing(fake):
    api = Twilio(config(fake))
    ids = ["SM" + "0" * 32]
    answer = run(api, api.status_request(ids))
    assert answer.status == 404
    assert api.status_results(ids, answer) == {}


def test_status_asks_one_sid_at_a_time():
    with pytest.raises(ValueError, match="one message's status per request, not 2"):
        Twilio(config()).status_request(["SMa", "SMb"])


def test_balance(fake):
    api = Twilio(config(fake))
    fake.balance = "7.50"
    balance = api.balance(run(api, api.balance_request()))
    assert (balance.amount, balance.currency) == (7.5, "USD")


@pytest.mark.parametrize(("recipient", "text", "kind", "code"), [
    ("4915212345678", "Hello", Kind.PERMANENT, 21211),
    ("+15005550009", "Hello", Kind.PERMANENT, 21610),
    ("+8613812345678", "Hello", Kind.REFUSED, 21408),
    ("+4915212345678", "x" * 1601, Kind.PERMANENT, 21617),
])
def test_documented_refusals_are_classified(fake, recipient, text, kind, code):
    fake.unsubscribed.add("+15005550009")
    fake.disabled_prefixes = ("+86",)
    result = send(Twilio(config(fake)), message(recipient=recipient, text=text))
    assert (result.kind, result.error_code) == (kind, code)
    assert result.error_text
    assert fake.accepted == []


def test_wrong_credentials_take_the_gateway_out(fake):
    for api in (Twilio(config(fake, auth_token="0" * 32)), Twilio(config(fake, account_sid="AC" + "9" * 32))):
        result = send(api, message())
        assert (result.kind, result.error_code, result.error_text) == (Kind.CREDENTIALS, 20003, "Authenticate")
        assert api.balance(run(api, api.balance_request())) is None
    assert fake.accepted == []


def test_429_waits_as_long_as_retry_after_says(fake):
    fake.fail_next(Fault(429, b'{"code": 20429, "message": "Too Many Requests", "more_info": "", "status": 429}',
                         {"Retry-After": "3", "Content-Type": "application/json"}))
    api = Twilio(config(fake))
    result = send(api, message())
    assert (result.kind, result.error_code, result.retry_after) == (Kind.TEMPORARY, 20429, 3.0)
    assert send(api, message()).kind is Kind.SENT
    assert len(fake.accepted) == 1


@pytest.mark.parametrize("fault", [Fault(500, b"<html>oops</html>"), Fault(503, b""),
                                   Fault(503, b'{"code": 20503, "message": "Service Unavailable", "status": 503}')])
def test_server_errors_are_temporary(fake, fault):
    fake.fail_next(fault)
    result = send(Twilio(config(fake)), message())
    assert result.kind is Kind.TEMPORARY
    assert fake.accepted == []


def test_a_malformed_success_is_of_unknown_fate(fake):
    fake.fail_next(Fault(201, b"{not json"), Fault(201, b'{"status": "queued"}'))
    api = Twilio(config(fake))
    assert send(api, message()).kind is Kind.UNKNOWN
    assert send(api, message()).kind is Kind.UNKNOWN


def test_a_hang_times_out(fake):
    fake.fail_next(Fault(hang=True))
    with pytest.raises(asyncio.TimeoutError):
        send(Twilio(config(fake)), message(), timeout=1)
    assert fake.accepted == []


def test_twilio_takes_the_same_message_twice_as_it_has_no_client_reference(fake):
    api = Twilio(config(fake))
    first, second = send(api, message(message_id="m7")), send(api, message(message_id="m7"))
    assert first.kind is second.kind is Kind.SENT
    assert first.provider_id != second.provider_id
    assert len(fake.accepted) == 2


URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
          "From": "+14158675309", "To": "+18005551212"}


def test_signature_of_the_documented_example():
    assert verify_signature("12345", URL, PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert verify_signature("12345", URL, list(reversed(PARAMS.items())), "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


def test_signature_with_a_port_twilio_left_out_or_put_in():
    assert verify_signature("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", PARAMS,
                            "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


def test_signature_with_repeated_parameters_as_twilio_libraries_compute_it():
    pairs = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234"), ("Digits", "1234")]
    assert verify_signature("12345", URL, pairs, "IK+Dwps556ElfBT0I3Rgjkr1wJU=")


@pytest.mark.parametrize(("token", "url", "params", "signature"), [
    ("12346", URL, PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
    ("12345", URL + "&baz=3", PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
    ("12345", URL, {**PARAMS, "Digits": "9999"}, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
    ("12345", URL, PARAMS, ""),
    ("12345", URL, PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8"),
])
def test_a_changed_request_or_signature_is_refused(token, url, params, signature):
    assert not verify_signature(token, url, params, signature)
