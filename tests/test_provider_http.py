"""The generic ``http`` provider type against a plain text provider over real HTTPS:
its template, its patterns and how it reads the answers."""

import asyncio

import aiohttp
import pytest
from provider_fakes.generic import FakeGeneric
from provider_fakes.server import Fault

from appliance.config.file import ConfigError, ProviderConfig
from appliance.gateways.providers.api import Kind, Outgoing, perform, tls_context
from appliance.gateways.providers.generic_http import GenericHttp
from appliance.gateways.providers.registry import api_for

TEMPLATE = "user=acme&pass=pw&to={to}&text={text}&from={sender}&ref={id}"


@pytest.fixture
def fake(tmp_path):
    provider = FakeGeneric(tmp_path).start()
    yield provider
    provider.stop()


def settings(**changes):
    values = {"name": "ACME", "type": "http", "base_url": "https://sms.example.org/send", "parameters": TEMPLATE,
              "success_pattern": r"^OK\b", "id_pattern": r"ID:(\S+)"}
    return ProviderConfig(**{**values, **changes})


def account(fake, **changes):
    return GenericHttp(settings(**{"base_url": fake.url + "/send", "ca_file": fake.ca_file, **changes}))


def message(n, to="+4915212345678", text="Termin morgen 10:00 & mehr?", sender="Praxis"):
    return Outgoing(message_id=f"m{n}", recipient=to, text=text, sender=sender, unicode=False, parts=1)


def send(api, messages, timeout=10.0):
    async def run():
        async with aiohttp.ClientSession() as session:
            return await perform(session, api.send_request(messages), timeout=timeout,
                                 tls=tls_context(api.config.ca_file))
    return api.send_results(messages, asyncio.run(run()))


def test_it_is_registered_as_http_loop_only_and_not_idempotent():
    assert api_for("http") is GenericHttp
    assert (GenericHttp.batch, GenericHttp.idempotent) == (False, False)


def test_check_takes_a_good_configuration():
    GenericHttp.check(settings(), "provider[1]")
    GenericHttp.check(settings(id_pattern=""), "provider[1]")


@pytest.mark.parametrize("changes, field, words", [
    ({"parameters": "to={to}&msg={message}"}, "parameters", "unknown placeholder {message}"),
    ({"parameters": "to={to}&text={text"}, "parameters", "not a template"),
    ({"parameters": "to={to!r}"}, "parameters", "format or conversion"),
    ({"success_pattern": "OK("}, "success_pattern", "not a regular expression"),
    ({"id_pattern": "ID:["}, "id_pattern", "not a regular expression"),
    ({"id_pattern": r"ID:\S+"}, "id_pattern", "needs a group"),
    ({"success_pattern": ""}, "success_pattern", "required"),
    ({"parameters": ""}, "parameters", "required"),
    ({"base_url": ""}, "base_url", "required"),
])
def test_check_refuses_what_cannot_work_naming_the_field(changes, field, words):
    with pytest.raises(ConfigError) as refused:
        GenericHttp.check(settings(**changes), "provider[1]")
    assert refused.value.key == f"provider[1].{field}"
    assert words in refused.value.problem


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_each_placeholder_is_url_encoded(fake, method):
    results = [send(account(fake, method=method), [message(n)])[0] for n in (1, 2)]
    assert [(r.kind, r.provider_id) for r in results] == [(Kind.SENT, "acme-1"), (Kind.SENT, "acme-2")]
    assert fake.accepted == [{"to": "+4915212345678", "text": "Termin morgen 10:00 & mehr?", "sender": "Praxis",
                              "id": f"acme-{n}", "ref": f"m{n}", "method": method} for n in (1, 2)]


def test_a_get_request_keeps_the_url_query(fake):
    request = account(fake, method="GET", base_url=fake.url + "/send?v=2").send_request([message(1)])
    assert request.url.startswith(fake.url + "/send?v=2&user=acme&pass=pw&to=%2B4915212345678&")


def test_an_answer_not_matching_the_success_pattern_is_permanent(fake):
    result = send(account(fake), [message(1, to="+999123")])[0]
    assert (result.kind, result.error_code, result.error_text) == (Kind.PERMANENT, 200,
                                                                   "ERROR: invalid number +999123")
    fake.fail_next(Fault(200, b"x" * 1000))
    assert send(account(fake), [message(2)])[0].error_text == "x" * 200
    assert fake.accepted == []


def test_without_an_id_pattern_a_sent_message_has_no_id(fake):
    result = send(account(fake, id_pattern=""), [message(1)])[0]
    assert (result.kind, result.provider_id) == (Kind.SENT, "")


def test_wrong_credentials(fake):
    result = send(account(fake, parameters=TEMPLATE.replace("pass=pw", "pass=no")), [message(1)])[0]
    assert (result.kind, result.error_code) == (Kind.CREDENTIALS, 401)
    assert fake.accepted == []


def test_429_and_5xx_are_temporary(fake):
    fake.fail_next(Fault(429, b"slow down", {"Retry-After": "30"}), Fault(502, b"bad gateway"))
    throttled, down = (send(account(fake), [message(n)])[0] for n in (1, 2))
    assert (throttled.kind, throttled.retry_after, throttled.error_text) == (Kind.TEMPORARY, 30.0, "slow down")
    assert (down.kind, down.retry_after) == (Kind.TEMPORARY, None)


def test_a_malformed_body_is_not_taken_for_success(fake):
    fake.fail_next(Fault(200, b"\xff\xfe<html>garbage"))
    result = send(account(fake), [message(1)])[0]
    assert result.kind is Kind.PERMANENT and "garbage" in result.error_text


def test_a_hang_times_out(fake):
    fake.fail_next(Fault(hang=True))
    with pytest.raises(asyncio.TimeoutError):
        send(account(fake), [message(1)], timeout=1.0)


def test_nothing_tells_a_repeat_apart(fake):
    send(account(fake), [message(1)])
    send(account(fake), [message(1)])
    assert [a["ref"] for a in fake.accepted] == ["m1", "m1"]
