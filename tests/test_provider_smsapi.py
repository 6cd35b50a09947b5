"""The SMSAPI module against its fake over real HTTPS: what it sends, and how it reads
every kind of answer SMSAPI gives."""

import asyncio

import aiohttp
import pytest
from provider_fakes.server import Fault
from provider_fakes.smsapi import FakeSmsApi

from appliance.config.file import ConfigError, ProviderConfig
from appliance.gateways.providers.api import Delivery, Kind, Outgoing, perform, tls_context
from appliance.gateways.providers.registry import api_for
from appliance.gateways.providers.smsapi import SmsApi


@pytest.fixture
def fake(tmp_path):
    provider = FakeSmsApi(tmp_path, token="tok-123", username="clinic", password="s3cret").start()
    yield provider
    provider.stop()


def account(fake, **credentials):
    return SmsApi(ProviderConfig(name="SMSAPI I", type="smsapi", base_url=fake.url, ca_file=fake.ca_file,
                                 **(credentials or {"token": "tok-123"})))


def message(n, to="+48500000001", text="Your appointment is at 10:00", sender=""):
    return Outgoing(message_id=f"m{n}", recipient=to, text=text, sender=sender, unicode=False, parts=1)


def ask(api, request, timeout=10.0):
    async def run():
        async with aiohttp.ClientSession() as session:
            return await perform(session, request, timeout=timeout, tls=tls_context(api.config.ca_file))
    return asyncio.run(run())


def send(api, messages, timeout=10.0):
    return api.send_results(messages, ask(api, api.send_request(messages), timeout))


def test_it_is_registered_as_smsapi():
    assert api_for("smsapi") is SmsApi
    assert (SmsApi.batch, SmsApi.idempotent, SmsApi.batch_same_text) == (True, True, True)


@pytest.mark.parametrize("credentials, field, words", [
    ({}, "token", "or a username and password"),
    ({"token": "t", "username": "u", "password": "p"}, "token", "not both"),
    ({"token": "t", "password": "p"}, "token", "not both"),
    ({"username": "u"}, "password", "required"),
    ({"password": "p"}, "username", "required"),
])
def test_check_wants_a_token_or_a_username_and_password_not_both(credentials, field, words):
    with pytest.raises(ConfigError) as refused:
        SmsApi.check(ProviderConfig(name="S", type="smsapi", **credentials), "provider[0]")
    assert refused.value.key == f"provider[0].{field}"
    assert words in refused.value.problem


def test_check_takes_either_credential():
    SmsApi.check(ProviderConfig(name="S", type="smsapi", token="t"), "provider[0]")
    SmsApi.check(ProviderConfig(name="S", type="smsapi", username="u", password="p"), "provider[0]")


def test_loop_send_with_a_token(fake):
    results = [send(account(fake), [message(n, to=f"+4850000000{n}")])[0] for n in (1, 2)]
    assert [r.kind for r in results] == [Kind.SENT, Kind.SENT]
    assert [r.provider_id for r in results] == [a["id"] for a in fake.accepted]
    assert [(a["to"], a["idx"], a["encoding"]) for a in fake.accepted] == [
        ("48500000001", "m1", "utf-8"), ("48500000002", "m2", "utf-8")]


def test_the_legacy_username_and_md5_password_send_too(fake):
    api = account(fake, username="clinic", password="s3cret")
    request = api.send_request([message(1)])
    assert b"s3cret" not in request.body and "s3cret" not in request.url
    assert api.send_results([message(1)], ask(api, request))[0].kind is Kind.SENT
    assert len(fake.accepted) == 1


def test_a_batch_is_one_request_with_its_recipients_in_order(fake):
    batch = [message(n, to=f"+4850000000{n}", sender="Clinic", text="Zażółć gęślą jaźń") for n in range(5)]
    results = send(account(fake), batch)
    assert fake.requests == 1
    assert [r.kind for r in results] == [Kind.SENT] * 5
    assert [(a["to"], a["idx"], a["text"], a["sender"]) for a in fake.accepted] == [
        (f"4850000000{n}", f"m{n}", "Zażółć gęślą jaźń", "Clinic") for n in range(5)]
    assert [r.provider_id for r in results] == [a["id"] for a in fake.accepted]


def test_a_batch_of_different_texts_is_refused_before_sending(fake):
    with pytest.raises(ValueError, match="one text"):
        account(fake).send_request([message(1, text="a"), message(2, text="b")])


def test_a_bad_number_in_a_batch_fails_alone(fake):
    batch = [message(1), message(2, to="+999123"), message(3, to="+48500000003")]
    assert [r.kind for r in send(account(fake), batch)] == [Kind.SENT, Kind.PERMANENT, Kind.SENT]
    only_bad = send(account(fake), [message(4, to="+999456")])[0]
    assert (only_bad.kind, only_bad.error_code) == (Kind.PERMANENT, 13)
    assert [a["idx"] for a in fake.accepted] == ["m1", "m3"]


def test_the_same_message_twice_is_taken_once(fake):
    first = send(account(fake), [message(7)])[0]
    again = send(account(fake), [message(7)])[0]
    assert first.kind is Kind.SENT
    assert (again.kind, again.error_code) == (Kind.SENT, 53)
    assert [a["idx"] for a in fake.accepted] == ["m7"]


@pytest.mark.parametrize("credentials", [{"token": "wrong"}, {"username": "clinic", "password": "wrong"}])
def test_wrong_credentials(fake, credentials):
    result = send(account(fake, **credentials), [message(1)])[0]
    assert (result.kind, result.error_code) == (Kind.CREDENTIALS, 101)
    assert fake.accepted == []


def test_no_points_and_a_refused_sender_are_refused_for_this_account(fake):
    assert send(account(fake), [message(1, sender="Unknown")])[0].error_code == 14
    fake.points = 0.1
    no_points = send(account(fake), [message(2)])[0]
    assert (no_points.kind, no_points.error_code) == (Kind.REFUSED, 103)
    assert fake.accepted == []


def test_429_and_5xx_are_temporary(fake):
    fake.fail_next(Fault(429, b"Too Many Requests", {"Retry-After": "12"}), Fault(503, b"<html>busy</html>"),
                   Fault(200, b'{"error": 202, "message": "Too many simultaneous request"}'))
    throttled, down, busy = (send(account(fake), [message(n)])[0] for n in range(3))
    assert (throttled.kind, throttled.retry_after) == (Kind.TEMPORARY, 12.0)
    assert (down.kind, down.retry_after) == (Kind.TEMPORARY, None)
    assert (busy.kind, busy.error_code) == (Kind.TEMPORARY, 202)
    assert fake.accepted == []


def test_a_malformed_body_after_200_is_unknown(fake):
    fake.fail_next(Fault(200, b'{"count": 1, "li'), Fault(200, b'{"count": 0, "list": []}'))
    assert [send(account(fake), [message(n)])[0].kind for n in range(2)] == [Kind.UNKNOWN, Kind.UNKNOWN]


def test_a_hang_times_out(fake):
    fake.fail_next(Fault(hang=True))
    with pytest.raises(asyncio.TimeoutError):
        send(account(fake), [message(1)], timeout=1.0)


def test_status_follows_the_delivery(fake):
    api = account(fake)
    ids = [r.provider_id for r in send(api, [message(n, to=f"+4850000000{n}") for n in range(3)])]
    fake.statuses[ids[1]] = "DELIVERED"
    fake.statuses[ids[2]] = "UNDELIVERED"
    statuses = api.status_results(ids, ask(api, api.status_request(ids)))
    assert {i: s.delivery for i, s in statuses.items()} == {
        ids[0]: Delivery.PENDING, ids[1]: Delivery.DELIVERED, ids[2]: Delivery.FAILED}
    assert api.status_results(["nope"], ask(api, api.status_request(["nope"]))) == {}


@pytest.mark.parametrize("credentials", [{"token": "tok-123"}, {"username": "clinic", "password": "s3cret"}])
def test_balance_in_points(fake, credentials):
    api = account(fake, **credentials)
    send(api, [message(1)])
    balance = api.balance(ask(api, api.balance_request()))
    assert balance is not None and (balance.amount, balance.currency) == (99.84, "points")
    wrong = account(fake, token="wrong")
    assert wrong.balance(ask(wrong, wrong.balance_request())) is None
