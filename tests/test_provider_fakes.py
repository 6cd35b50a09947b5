"""The fake providers' harness answers over real HTTPS, and its faults are what a client
meets from a real provider in trouble."""

import asyncio

import aiohttp
import pytest
from aiohttp import web
from provider_fakes.server import FakeProvider, Fault

from appliance.gateways.providers.api import Request, perform, tls_context


class Echo(FakeProvider):
    def routes(self):
        async def echo(request):
            self.accepted.append({"text": await request.text()})
            return web.json_response({"ok": True})
        return [web.post("/echo", echo)]


@pytest.fixture
def echo(tmp_path):
    provider = Echo(tmp_path).start()
    yield provider
    provider.stop()


def ask(provider, *, timeout=10.0, trusted=True):
    async def run():
        async with aiohttp.ClientSession() as session:
            return await perform(session, Request("POST", provider.url + "/echo", body=b"hi"), timeout=timeout,
                                 tls=tls_context(provider.ca_file if trusted else ""))
    return asyncio.run(run())


def test_it_answers_over_https_with_its_own_certificate(echo):
    answer = ask(echo)
    assert (answer.status, answer.body, answer.headers["content-type"]) == (
        200, b'{"ok": true}', "application/json; charset=utf-8")
    assert echo.accepted == [{"text": "hi"}]


def test_a_certificate_no_one_vouches_for_is_refused(echo):
    with pytest.raises(aiohttp.ClientConnectorCertificateError):
        ask(echo, trusted=False)
    assert echo.requests == 0


def test_faults_come_in_order_then_the_real_answers(echo):
    echo.fail_next(Fault(429, b"slow down", {"Retry-After": "7"}), Fault(drop=True), Fault(hang=True))
    answer = ask(echo)
    assert (answer.status, answer.body, answer.headers["retry-after"]) == (429, b"slow down", "7")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        ask(echo)
    with pytest.raises(asyncio.TimeoutError):
        ask(echo, timeout=1)
    assert ask(echo).status == 200
    assert echo.accepted == [{"text": "hi"}]
