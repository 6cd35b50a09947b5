"""The Infobip module against the fake Infobip over real HTTPS: each answer the API gives
becomes the right Result, Status or Balance, and a resend cannot send twice."""

import asyncio

import aiohttp
import pytest
from provider_fakes.infobip import FakeInfobip
from provider_fakes.server import Fault

from appliance.config.file import ConfigError, ProviderConfig
from appliance.gateways.providers.api import Delivery, Kind, Outgoing, perform, tls_context
from appliance.gateways.providers.infobip import Infobip
from appliance.gateways.providers.registry import api_for


@pytest.fixture
def infobip(tmp_path):
    provider = FakeInfobip(tmp_path).start()
    yield provider
    provider.stop()


def config(fake, **fields):
    fields.setdefault("api_key", "key-1")
    return ProviderConfig(name="Infobip I", type="infobip", base_url=fake.url, ca_file=fake.ca_file, **fields)


def message(id, to="+4915212345678", text="hello", sender=""):
    return Outgoing(message_id=id, recipient=to, text=text, sender=sender, unicode=False, parts=1)


def run(fake, build, *, timeout=10.0, **fields):
    """``build(api)`` → (request, reader); the reader gets the answer."""
    api = Infobip(config(fake, **fields))
    request, read = build(api)

    async def go():
        async with aiohttp.ClientSession() as session:
            return await perform(session, request, timeout=timeout, tls=tls_context(fake.ca_file))
    return read(asyncio.run(go()))


def send(fake, messages, **fields):
    return run(fake, lambda api: (api.send_request(messages), lambda answer: api.send_results(messages, answer)),
               **fields)


def test_it_is_registered_as_infobip():
    assert api_for("infobip") is Infobip
    assert (Infobip.batch, Infobip.idempotent) == (True, True)


def test_one_message_is_sent_with_our_id_as_its_message_id(infobip):
    [result] = send(infobip, [message("m1", sender="Clinic")])
    assert (result.kind, result.provider_id) == (Kind.SENT, "m1")
    assert infobip.accepted == [{"to": "4915212345678", "text": "hello", "sender": "Clinic", "id": "m1"}]


def test_basic_authentication_with_username_and_password(infobip):
    [result] = send(infobip, [message("m1")], api_key="", username="user", password="secret")
    assert result.kind is Kind.SENT


def test_a_batch_with_accepted_and_rejected_destinations(infobip):
    infobip.blocked_senders.add("Spam")
    batch = [message("a"), message("b", to="+123"), message("c", text="second"), message("d", sender="Spam")]
    results = send(infobip, batch)
    assert [(r.kind, r.provider_id, r.error_code) for r in results] == [
        (Kind.SENT, "a", None), (Kind.PERMANENT, "", 52), (Kind.SENT, "c", None), (Kind.REFUSED, "", 13)]
    assert results[1].error_text == "REJECTED_DESTINATION"
    assert [entry["id"] for entry in infobip.accepted] == ["a", "c"]
    assert infobip.requests == 1


def test_no_credit_is_refused_so_another_gateway_takes_it(infobip):
    infobip.credit = 0.0
    [result] = send(infobip, [message("m1")])
    assert (result.kind, result.error_code, result.error_text) == (Kind.REFUSED, 12, "REJECTED_NOT_ENOUGH_CREDITS")
    assert infobip.accepted == []


def test_a_resend_of_the_same_message_is_taken_once(infobip):
    first = send(infobip, [message("m1")])
    again = send(infobip, [message("m1")])
    assert [r.kind for r in first + again] == [Kind.SENT, Kind.SENT]
    assert again[0].provider_id == "m1"
    assert len(infobip.accepted) == 1


def test_status_from_the_logs(infobip):
    send(infobip, [message("a"), message("b"), message("c")])
    infobip.deliver("a")
    infobip.deliver("b", delivered=False)
    ids = ["a", "b", "c", "never-sent"]
    statuses = run(infobip, lambda api: (api.status_request(ids), lambda answer: api.status_results(ids, answer)))
    assert set(statuses) == {"a", "b", "c"}
    assert statuses["a"].delivery is Delivery.DELIVERED
    assert (statuses["b"].delivery, statuses["b"].error_code, statuses["b"].error_text) == (
        Delivery.FAILED, 27, "EC_ABSENT_SUBSCRIBER")
    assert statuses["c"].delivery is Delivery.PENDING


def test_balance(infobip):
    send(infobip, [message("a")])
    balance = run(infobip, lambda api: (api.balance_request(), api.balance))
    assert (balance.amount, balance.currency) == (9.99, "EUR")


def test_a_wrong_key_stops_the_gateway(infobip):
    [result] = send(infobip, [message("m1")], api_key="wrong")
    assert (result.kind, result.error_code) == (Kind.CREDENTIALS, 401)
    assert result.error_text == "UNAUTHORIZED: Invalid login details"
    assert run(infobip, lambda api: (api.balance_request(), api.balance), api_key="wrong") is None
    assert infobip.accepted == []


def test_429_is_temporary_after_the_retry_after_it_asks(infobip):
    infobip.fail_next(Fault(429, b'{"requestError":{"serviceException":{"messageId":"TOO_MANY_REQUESTS",'
                                 b'"text":"Too many requests"}}}', {"Retry-After": "7"}))
    results = send(infobip, [message("a"), message("b")])
    assert [(r.kind, r.retry_after) for r in results] == [(Kind.TEMPORARY, 7.0)] * 2
    assert results[0].error_text == "TOO_MANY_REQUESTS: Too many requests"


def test_a_server_error_is_temporary(infobip):
    infobip.fail_next(Fault(503, b"<html>unavailable</html>"))
    [result] = send(infobip, [message("a")])
    assert (result.kind, result.error_code, result.retry_after) == (Kind.TEMPORARY, 503, None)


def test_a_malformed_body_after_200_leaves_the_fate_unknown(infobip):
    infobip.fail_next(Fault(200, b'{"messages": [{"to": "49'), Fault(200, b'{"bulkId": "x"}'))
    assert [r.kind for r in send(infobip, [message("a"), message("b")])] == [Kind.UNKNOWN] * 2
    assert [r.kind for r in send(infobip, [message("a")])] == [Kind.UNKNOWN]
    # the resend after an unknown fate is sent once, with the same messageId
    assert [r.kind for r in send(infobip, [message("a")])] == [Kind.SENT]
    assert [entry["id"] for entry in infobip.accepted] == ["a"]


def test_a_hang_times_out(infobip):
    infobip.fail_next(Fault(hang=True))
    with pytest.raises(asyncio.TimeoutError):
        send(infobip, [message("a")], timeout=1)
    assert infobip.accepted == []


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"base_url": ""}, "base_url", "xxxxx.api.infobip.com"),
    ({"api_key": ""}, "api_key", "is required"),
    ({"username": "user", "password": "pw"}, "api_key", "not both"),
    ({"api_key": "", "username": "user"}, "password", "is required"),
])
def test_check_names_the_field(fields, field, words):
    values = {"name": "Infobip I", "type": "infobip", "base_url": "https://x1.api.infobip.com", "api_key": "k",
              **fields}
    with pytest.raises(ConfigError) as refused:
        Infobip.check(ProviderConfig(**values), "provider[0]")
    assert refused.value.key == f"provider[0].{field}"
    assert words in str(refused.value)


def test_check_takes_a_key_or_a_username_and_password():
    Infobip.check(ProviderConfig(name="I", type="infobip", base_url="https://x1.api.infobip.com", api_key="k"), "p")
    Infobip.check(ProviderConfig(name="I", type="infobip", base_url="https://x1.api.infobip.com",
                                 username="u", password="p"), "p")


def test_a_bad_request_is_refused_and_a_forbidden_scope_stops_the_gateway(infobip):
    infobip.fail_next(Fault(400, b'{"requestError":{"serviceException":{"messageId":"BAD_REQUEST",'
                                 b'"text":"Bad request"}}}'), Fault(403, b""))
    [bad] = send(infobip, [message("a")])
    [forbidden] = send(infobip, [message("a")])
    assert (bad.kind, bad.error_text) == (Kind.REFUSED, "BAD_REQUEST: Bad request")
    assert (forbidden.kind, forbidden.error_code) == (Kind.CREDENTIALS, 403)
    assert infobip.accepted == []


def test_one_status_request_asks_at_most_a_page_of_logs(infobip):
    from urllib.parse import parse_qs, urlsplit

    request = Infobip(config(infobip)).status_request([f"m{n}" for n in range(1500)])
    query = parse_qs(urlsplit(request.url).query)
    assert (len(query["messageId"]), query["limit"]) == (1000, ["1000"])
