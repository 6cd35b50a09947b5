"""The provider engine drives any provider module as a gateway: against a JSON API of its
own (a test-only ProviderApi and its FakeProvider) over real HTTPS, through the real
router and store."""

import asyncio
import json
import time

import pytest
from aiohttp import web
from fake_gateway import FakeGateway
from provider_fakes.server import FakeProvider, Fault

from appliance.config.file import ProviderConfig
from appliance.gateways.assignment import Assignment, Connector, Routing
from appliance.gateways.providers import api, registry
from appliance.gateways.providers.engine import FAILED, ProviderGateway
from appliance.gateways.router import Router
from appliance.store import db as store_db
from appliance.store.models import MessageState, OutboundMessage
from appliance.store.queue import NewMessage, Queue

TOKEN = "s3cret-token"
KINDS = {"sent": api.Kind.SENT, "bad-number": api.Kind.PERMANENT, "sender-refused": api.Kind.REFUSED}


class JsonApi(api.ProviderApi):
    """A provider of our own: POST /send with every message in one JSON body."""

    type = "http"
    public_url = "https://provider.invalid"
    batch = True
    idempotent = True

    @classmethod
    def check(cls, config, key):
        api.required(config, key, "token")

    def send_request(self, messages):
        body = [{"ref": m.message_id, "to": m.recipient, "text": m.text, "from": m.sender, "unicode": m.unicode}
                for m in messages]
        return api.Request("POST", self.base_url + "/send", {"Authorization": f"Bearer {self.config.token}"},
                           json.dumps(body).encode())

    def send_results(self, messages, answer):
        if answer.status == 401:
            return [api.Result(api.Kind.CREDENTIALS, error_text="token refused")] * len(messages)
        if answer.status in (429, 503) or answer.status >= 500:
            return [api.Result(api.Kind.TEMPORARY, error_text=f"HTTP {answer.status}",
                               retry_after=api.retry_after(answer))] * len(messages)
        try:
            results = json.loads(answer.body)
            return [api.Result(KINDS[r["status"]], r.get("id", ""), error_text=r["status"]) for r in results]
        except (ValueError, KeyError, TypeError):
            return [api.Result(api.Kind.UNKNOWN, error_text="unreadable answer")] * len(messages)


class JsonProvider(FakeProvider):
    """Records each request's size and the most requests in flight at once; drops a
    repeated reference when ``idempotent``; ``hang_after_accept`` takes the next request
    and then never answers."""

    idempotent = True

    def __init__(self, directory):
        super().__init__(directory)
        self.batches = []
        self.most_in_flight = 0
        self.in_flight = 0
        self.hang_after_accept = 0

    def routes(self):
        async def send(request):
            if request.headers.get("Authorization") != f"Bearer {TOKEN}":
                return web.json_response({"error": "unauthorized"}, status=401)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                await asyncio.sleep(0.02)
                messages = await request.json()
                self.batches.append({(m["from"], m["unicode"]) for m in messages} | {len(messages)})
                results = []
                for m in messages:
                    if m["to"].startswith("+4900"):
                        results.append({"status": "bad-number"})
                    elif m["to"].startswith("+4911") and m["from"] != "Fallback":
                        results.append({"status": "sender-refused"})
                    else:
                        if not (self.idempotent and any(a["ref"] == m["ref"] for a in self.accepted)):
                            self.accepted.append(m)
                        results.append({"status": "sent", "id": f"p-{len(self.accepted)}"})
                if self.hang_after_accept:
                    self.hang_after_accept -= 1
                    await self._stopping.wait()  # no answer until the server stops
                return web.json_response(results)
            finally:
                self.in_flight -= 1
        return [web.post("/send", send)]


@pytest.fixture
def provider(tmp_path, monkeypatch):
    monkeypatch.setitem(registry.PROVIDERS, "http", JsonApi)
    fake = JsonProvider(tmp_path).start()
    yield fake
    fake.stop()


@pytest.fixture
def queue(tmp_path):
    database = store_db.open_database(tmp_path)
    yield Queue(database)
    database.close()


def gateway_for(provider, **options):
    config = ProviderConfig(name="Provider", type="http", base_url=provider.url, ca_file=provider.ca_file,
                            token=options.pop("token", TOKEN), **options)
    return ProviderGateway(asyncio.get_running_loop(), config)


def rig(queue, *gateways, primary=1):
    """The router over ``gateways``: the first ``primary`` are primaries, the rest backups."""
    routing = Routing([Connector("HTTP API", "http", tuple(
        Assignment(g.name, role="primary" if i < primary else "backup") for i, g in enumerate(gateways)))])
    router = Router(asyncio.get_running_loop(), queue, gateways, routing, retry_delays=(0.1,))
    for gateway in gateways:
        if isinstance(gateway, ProviderGateway):
            gateway.on_state = lambda state: router.kick()
        gateway.start()
    router.kick()
    return router


async def until(condition, deadline=20.0):
    ends = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < ends, "the condition never came"
        await asyncio.sleep(0.01)


async def stopped(gateway):
    gateway.stop()
    await gateway.closing


def message(message_id):
    return OutboundMessage.get_by_id(message_id)


def ended(ids):
    return lambda: all(message(i).state in (MessageState.SENT, MessageState.FAILED) for i in ids)


async def test_loop_sends_one_request_each_with_the_concurrency_held(provider, queue):
    ids = queue.accept([NewMessage(f"+4915{n:06}", f"hello {n}") for n in range(20)])
    gateway = gateway_for(provider, concurrency=3)
    rig(queue, gateway)
    await until(ended(ids))
    assert [message(i).state for i in ids] == [MessageState.SENT] * 20
    assert len(provider.batches) == 20 and all(1 in batch for batch in provider.batches)  # one message each
    assert provider.most_in_flight == 3
    assert sorted(a["ref"] for a in provider.accepted) == sorted(ids)
    assert {message(i).provider_reference for i in ids} == {f"p-{n}" for n in range(1, 21)}
    await stopped(gateway)


async def test_a_provider_taking_one_text_per_request_gets_batches_of_one_text(provider, queue, monkeypatch):
    monkeypatch.setattr(JsonApi, "batch_same_text", True)
    texts = {}
    original = JsonApi.send_request

    def send_request(self, messages):
        texts.setdefault(len(texts), {m.text for m in messages})
        return original(self, messages)
    monkeypatch.setattr(JsonApi, "send_request", send_request)
    ids = queue.accept([NewMessage(f"+4915{n:06}", f"text {n % 2}") for n in range(8)])
    gateway = gateway_for(provider, pattern="batch", batch_size=10, concurrency=2)
    rig(queue, gateway)
    await until(ended(ids))
    assert all(len(batch) == 1 for batch in texts.values()) and len(texts) < 8
    await stopped(gateway)


async def test_batch_groups_by_sender_and_encoding(provider, queue):
    ids = queue.accept([NewMessage(f"+4915{n:06}", "plain" if n < 10 else "ещё", sender="Shop" if n < 10 else "")
                        for n in range(20)])
    gateway = gateway_for(provider, pattern="batch", batch_size=3, concurrency=2)
    rig(queue, gateway)
    await until(ended(ids))
    assert [message(i).state for i in ids] == [MessageState.SENT] * 20
    # one sender and encoding per request, up to 3 messages, at most 2 requests at once
    assert all(batch in ({("Shop", False), n} for n in (1, 2, 3)) or batch in ({("", True), n} for n in (1, 2, 3))
               for batch in provider.batches)
    assert {3} < set().union(*provider.batches) and len(provider.batches) < 20 and provider.most_in_flight == 2
    await stopped(gateway)


async def test_each_kind_of_answer_becomes_its_outcome(provider, queue):
    sent, bad, refused = queue.accept([NewMessage("+4915100", "x"), NewMessage("+4900123", "x"),
                                       NewMessage("+4911123", "x")])
    gateway = gateway_for(provider, sender="Shop")
    rig(queue, gateway)
    await until(ended([sent, bad, refused]))
    assert message(sent).state == MessageState.SENT
    assert (message(bad).state, message(bad).error_text) == (MessageState.FAILED, "bad-number")
    assert message(refused).error_text.startswith("sender-refused")
    await stopped(gateway)


async def test_a_refused_sender_is_tried_once_more_with_the_fallback_sender(provider, queue):
    (refused,) = queue.accept([NewMessage("+4911123", "x")])
    gateway = gateway_for(provider, sender="Shop", fallback_sender="Fallback")
    rig(queue, gateway)
    await until(ended([refused]))
    assert message(refused).state == MessageState.SENT and provider.accepted[0]["from"] == "Fallback"
    await stopped(gateway)


@pytest.mark.parametrize("idempotent, accepted", [(True, 1), (False, 2)])
async def test_an_answer_that_never_comes_is_sent_again(provider, queue, idempotent, accepted):
    provider.idempotent = idempotent
    provider.hang_after_accept = 1
    (sent,) = queue.accept([NewMessage("+4915100", "x")])
    gateway = gateway_for(provider, timeout=1)
    rig(queue, gateway)
    await until(ended([sent]))
    assert message(sent).state == MessageState.SENT and message(sent).tried == "Provider:1"  # the unknown one cost none
    assert len(provider.accepted) == accepted
    await stopped(gateway)


async def test_refused_credentials_take_the_gateway_out_and_a_backup_sends(provider, queue):
    (sent,) = queue.accept([NewMessage("+4915100", "x")])
    gateway = gateway_for(provider, token="wrong")
    backup = FakeGateway("Backup", loop=asyncio.get_running_loop())
    rig(queue, gateway, backup)
    await until(ended([sent]))
    assert backup.sent == [sent] and provider.accepted == []
    status = gateway.status()
    assert (status["state"], gateway.in_service) == (FAILED, False)
    assert status["detail"].startswith("credentials refused") and "wrong" not in json.dumps(status)
    await stopped(gateway)
    assert gateway.status()["state"] == "stopped" and not gateway.in_service


async def test_a_provider_whose_certificate_no_one_vouches_for_gets_nothing(provider, queue):
    """HTTPS with certificate checks always: without the fake's CA the gateway sends nothing
    there, says why, and a backup takes the message."""
    (sent,) = queue.accept([NewMessage("+4915100", "x")])
    config = ProviderConfig(name="Provider", type="http", base_url=provider.url, token=TOKEN)  # no ca_file
    gateway = ProviderGateway(asyncio.get_running_loop(), config)
    backup = FakeGateway("Backup", loop=asyncio.get_running_loop())
    rig(queue, gateway, backup)
    await until(ended([sent]))
    assert backup.sent == [sent] and provider.requests == 0
    status = gateway.status()
    assert (status["state"], gateway.in_service) == (FAILED, False)
    assert status["detail"].startswith("the provider's certificate was refused: ")
    await stopped(gateway)


async def test_three_faults_in_a_row_rest_the_gateway_then_it_is_back(provider, queue):
    provider.fail_next(*[Fault(503, b"busy")] * 3)
    ids = queue.accept([NewMessage(f"+4915{n}", "x") for n in range(3)])
    gateway = gateway_for(provider, concurrency=1)
    rig(queue, gateway)
    await until(lambda: not gateway.in_service)
    assert gateway.status()["state"] == "resting after faults" and "out of service" in gateway.status()["detail"]
    gateway._resting_until = gateway.loop.time()  # the rest over now rather than in 30 s
    gateway._woken()
    await until(ended(ids))
    assert [message(i).state for i in ids] == [MessageState.SENT] * 3 and gateway.in_service
    await stopped(gateway)


async def test_a_429s_retry_after_is_the_pause(provider, queue):
    provider.fail_next(Fault(429, b"", {"Retry-After": "1"}))
    (sent,) = queue.accept([NewMessage("+4915100", "x")])
    gateway = gateway_for(provider)
    rig(queue, gateway)
    await until(lambda: message(sent).retry_at is not None)
    assert message(sent).retry_at - message(sent).updated_at == pytest.approx(1.0, abs=0.01)
    await until(ended([sent]))
    assert message(sent).state == MessageState.SENT
    await stopped(gateway)


async def test_a_text_over_the_maximum_is_refused_naming_the_limit(provider, queue):
    (long,) = queue.accept([NewMessage("+4915100", "x" * 1204)])
    gateway = gateway_for(provider)
    rig(queue, gateway)
    await until(ended([long]))
    assert message(long).error_text == "message is 1,204 characters; this gateway sends at most 1,000"
    assert provider.requests == 0
    await stopped(gateway)


async def test_a_national_number_gets_the_country_code(provider, queue):
    (sent,) = queue.accept([NewMessage("0176123456", "x")])
    gateway = gateway_for(provider, country_code="49")
    rig(queue, gateway)
    await until(ended([sent]))
    assert provider.accepted[0]["to"] == "+49176123456"
    await stopped(gateway)


async def test_before_its_start_date_a_backup_sends_and_the_gateway_waits(provider, queue):
    (sent,) = queue.accept([NewMessage("+4915100", "x")])
    gateway = gateway_for(provider, start_date="2999-01-01")
    backup = FakeGateway("Backup", loop=asyncio.get_running_loop())
    rig(queue, gateway, backup)
    await until(ended([sent]))
    assert backup.sent == [sent] and provider.requests == 0
    assert (gateway.in_service, gateway.status()["state"]) == (False, "waiting for its start date")
    await stopped(gateway)


async def test_a_provider_that_cannot_be_reached_costs_no_attempt_and_a_backup_sends(provider, queue, tmp_path):
    (sent,) = queue.accept([NewMessage("+4915100", "x")])
    config = ProviderConfig(name="Provider", type="http", base_url="https://127.0.0.1:9", token=TOKEN)
    gateway = ProviderGateway(asyncio.get_running_loop(), config)
    backup = FakeGateway("Backup", loop=asyncio.get_running_loop())
    rig(queue, gateway, backup)
    await until(lambda: not gateway.in_service)  # three faults in a row: resting
    await until(ended([sent]))
    assert backup.sent == [sent] and message(sent).tried == "Backup:1"
    assert gateway.status()["last_answer"].startswith("no connection")
    await stopped(gateway)


@pytest.mark.parametrize("pattern", ["loop", "batch"])
async def test_stopping_mid_request_leaves_no_message_claimed(provider, queue, pattern):
    provider.latency = 0.5
    ids = queue.accept([NewMessage(f"+4915{n}", "x") for n in range(6)])
    gateway = gateway_for(provider, pattern=pattern, batch_size=2, concurrency=2)
    rig(queue, gateway)
    await until(lambda: gateway.in_flight == 2)
    await stopped(gateway)
    await until(lambda: MessageState.SENDING not in [message(i).state for i in ids])
    assert {message(i).state for i in ids} <= {MessageState.QUEUED, MessageState.SENT}


async def test_a_message_handed_over_in_the_turn_the_gateway_stops_is_told_of_it(provider, queue):
    queue.accept([NewMessage("+4915100", "x")])
    gateway = gateway_for(provider)
    gateway.start()
    outcomes = []
    gateway.send(queue.claim("Provider"), queue, outcomes.append)
    gateway.stop()  # its request's task has not begun
    await gateway.closing
    assert [(o.ok, o.temporary) for o in outcomes] == [(False, True)] and provider.accepted == []


async def test_a_modem_that_loses_the_network_mid_run_fails_over_each_message_once(provider, queue):
    loop = asyncio.get_running_loop()
    count = 60
    ids = queue.accept([NewMessage(f"+4915{n:06}", f"m{n}") for n in range(count)])
    modem = FakeGateway("GSM Modem Gateway", loop=loop)
    gateway = gateway_for(provider)
    router = rig(queue, modem, gateway)
    await until(lambda: len(modem.sent) >= 20)
    modem.up = False  # the network is gone: out of service, its backup stands in
    router.kick()
    await until(ended(ids))
    refs = [a["ref"] for a in provider.accepted]
    assert len(modem.sent) + len(refs) == count and sorted(modem.sent + refs) == sorted(ids)
    assert [message(i).state for i in ids] == [MessageState.SENT] * count and refs
    await stopped(gateway)


def test_the_service_builds_a_provider_gateway_that_sends_and_shows_in_the_server_status(provider, tmp_path):
    import urllib.request

    from test_webhook_service import PASSWORD, Running

    from appliance.accounts import users
    from appliance.config.file import Config, HttpConfig, StorageConfig

    database = store_db.open_database(tmp_path)
    users.set_user("kiosk", PASSWORD)
    database.close()
    running = Running(Config(http=HttpConfig(listen="127.0.0.1:0", guest="kiosk"), storage=StorageConfig(str(tmp_path)),
                             providers=(ProviderConfig(name="Provider", type="http", base_url=provider.url,
                                                       ca_file=provider.ca_file, token=TOKEN),)))
    try:
        sent = running.send("+4915100", "through the provider", "Provider")
        deadline = time.monotonic() + 20
        while not provider.accepted:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert provider.accepted[0]["text"] == "through the provider" and provider.accepted[0]["ref"].endswith(sent)
        url = f"{running.service.url}http/request-server-status?username=kiosk&password={PASSWORD}"
        with urllib.request.urlopen(url, timeout=10) as response:
            status = response.read().decode()
        assert '<Gateway Name="Provider"' in status and "<State>ready</State>" in status
        assert '<Property Name="host">127.0.0.1</Property>' in status and TOKEN not in status
    finally:
        running.stop()
