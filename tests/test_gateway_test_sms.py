"""A test SMS through one gateway only (POST /api/v1/gateways/<name>/test and
``sms-appliance gateway test``): the running service, a fake SMSAPI over real HTTPS, and
the provider's own answer in the reply."""

import base64
import json
import threading
import urllib.error
import urllib.request

import pytest
from provider_fakes.server import Fault
from provider_fakes.smsapi import FakeSmsApi

from appliance import cli
from appliance.accounts import api_keys, users
from appliance.app.service import Service
from appliance.config.file import Config, HttpConfig, ProviderConfig, StorageConfig
from appliance.store import db as store_db
from appliance.store.models import OutboundMessage, User

PASSWORD = "correct horse"  # as tests/test_ui.py logs in
TOKEN = "tok-123"


@pytest.fixture
def fake(tmp_path):
    provider = FakeSmsApi(tmp_path, token=TOKEN, senders=("Clinic",)).start()
    yield provider
    provider.stop()


@pytest.fixture
def service(tmp_path, fake):
    data = tmp_path / "data"
    database = store_db.open_database(data)
    users.set_user("root", PASSWORD, admin=True)
    users.set_user("alice", PASSWORD)
    _, key = api_keys.create(User.get(User.name == "root"), "test")
    database.close()
    config = Config(http=HttpConfig(listen="127.0.0.1:0"), storage=StorageConfig(str(data)),
                    providers=(ProviderConfig(name="SMSAPI I", type="smsapi", base_url=fake.url,
                                              ca_file=fake.ca_file, token=TOKEN),
                               ProviderConfig(name="SMSAPI II", type="smsapi", base_url=fake.url,
                                              ca_file=fake.ca_file, token=TOKEN)))
    running = Service(config)
    running.start()
    thread = threading.Thread(target=running.loop.run_forever)
    thread.start()
    running.api_key = key
    yield running
    running.loop.call_soon_threadsafe(running.loop.stop)
    thread.join(10)
    running.stop()


def post(service, path, body, user="root"):
    auth = base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()
    request = urllib.request.Request(f"{service.url}api/v1{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=90) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_test_sms_is_sent_by_that_gateway_alone_and_shows_the_providers_id(service, fake):
    status, result = post(service, "/gateways/SMSAPI%20II/test", {"to": "+48500000001", "text": "test <1>"})
    assert status == 200, result
    (accepted,) = fake.accepted
    assert (accepted["to"], accepted["text"]) == ("48500000001", "test <1>")
    assert result["state"] == "sent" and result["gateway"] == "SMSAPI II"
    assert result["provider_reference"] == accepted["id"] and accepted["id"] in result["answer"]
    assert result["error_code"] is None
    message = OutboundMessage.get_by_id(result["id"])
    assert (message.gateway, message.gateways, message.message_info) == ("SMSAPI II", "SMSAPI II", "gateway test")


def test_a_number_the_provider_refuses_is_failed_with_its_code_and_words(service, fake):
    status, result = post(service, "/gateways/SMSAPI%20I/test", {"to": "+999000111", "text": "test"})
    assert status == 200, result
    assert fake.accepted == []
    assert result["state"] == "failed"
    assert result["error_code"] == 13 and "No correct phone numbers" in result["error_text"]
    assert "13" in result["answer"]


def test_a_temporary_fault_is_reported_and_the_test_is_not_retried(service, fake):
    fake.fail_next(Fault(503, b"busy"))
    status, result = post(service, "/gateways/SMSAPI%20I/test", {"to": "+48500000002", "text": "test"})
    assert status == 200, result
    assert result["state"] == "removed" and "temporary" in result["answer"] and "503" in result["error_text"]
    assert OutboundMessage.get_by_id(result["id"]).state == "removed"
    assert fake.requests == 1 and fake.accepted == []


def test_only_administrators_test_and_bad_requests_change_nothing(service, fake):
    status, result = post(service, "/gateways/SMSAPI%20I/test", {"to": "+48500000001", "text": "x"}, user="alice")
    assert status == 403, result
    status, result = post(service, "/gateways/Nope/test", {"to": "+48500000001", "text": "x"})
    assert (status, result["error"]["code"]) == (404, "not_found")
    status, result = post(service, "/gateways/SMSAPI%20I/test", {"to": "not a number", "text": "x"})
    assert status == 422 and result["error"]["field"] == "to", result
    status, result = post(service, "/gateways/SMSAPI%20I/test", {"text": "x"})
    assert status in (400, 422) and "to" in json.dumps(result), result
    assert OutboundMessage.select().count() == 0 and fake.requests == 0


def test_a_stopped_gateway_is_refused_before_anything_is_queued(service, fake):
    status, _ = post(service, "/gateways/SMSAPI%20I/stop", {})
    assert status == 200
    status, result = post(service, "/gateways/SMSAPI%20I/test", {"to": "+48500000001", "text": "x"})
    assert (status, result["error"]["code"]) == (409, "not_allowed") and "start it" in result["error"]["message"]
    assert OutboundMessage.select().count() == 0


def test_the_command_sends_through_the_running_service_with_an_api_key(service, fake, capsys, monkeypatch):
    monkeypatch.setenv("SMS_APPLIANCE_API_KEY", service.api_key)
    code = cli.main(["gateway", "test", "SMSAPI I", "--to", "+48500000003", "--text", "from the shell",
                     "--url", service.url])
    out, err = capsys.readouterr()
    assert code == 0, err
    (accepted,) = fake.accepted
    assert accepted["text"] == "from the shell" and accepted["id"] in out and "sent" in out


def test_the_command_says_what_the_service_refused(service, fake, capsys, monkeypatch):
    monkeypatch.setenv("SMS_APPLIANCE_API_KEY", service.api_key)
    code = cli.main(["gateway", "test", "Nope", "--to", "+48500000003", "--text", "x", "--url", service.url])
    _, err = capsys.readouterr()
    assert code == 1 and "no gateway 'Nope'" in err
    code = cli.main(["gateway", "test", "SMSAPI I", "--to", "+999000", "--text", "x", "--url", service.url])
    _, err = capsys.readouterr()
    assert code == 1 and "failed" in err and "13" in err


def test_the_command_without_credentials_says_how_to_give_them(capsys, monkeypatch):
    monkeypatch.delenv("SMS_APPLIANCE_API_KEY", raising=False)
    code = cli.main(["gateway", "test", "GSM1", "--to", "+1", "--text", "x", "--url", "http://127.0.0.1:9/"])
    _, err = capsys.readouterr()
    assert code == 2 and "SMS_APPLIANCE_API_KEY" in err and "--user" in err
