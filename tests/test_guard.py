"""Hostile requests cost little and change nothing: refused by web/guard.py before any
route runs, before a body is parsed, and before a guest's inbox is read."""

import io
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest
from diafaan_api import PASSWORD, Api

from appliance import pdu
from appliance.accounts.authenticator import Authenticator
from appliance.accounts.users import set_user
from appliance.config.file import HttpConfig
from appliance.store import db as store_db
from appliance.store.models import InboundMessage, OutboundMessage
from appliance.web.app import create_app
from appliance.web.guard import Guard

ROOT = Path(__file__).resolve().parent.parent


class Unreadable(io.RawIOBase):
    """A body that fails the test if anyone reads it."""

    def read(self, size=-1):
        raise AssertionError("the body was read")

    readinto = readline = read


@pytest.fixture
def api(tmp_path):
    database = store_db.open_database(tmp_path)
    yield Api(database)
    database.close()


def call(api, path, *, method="GET", query="", body=b"", content_type="application/x-www-form-urlencoded",
         guard=None, **headers):
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "localhost",
               "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
               "wsgi.errors": io.StringIO(), "REMOTE_ADDR": "192.0.2.7", "CONTENT_TYPE": content_type,
               "wsgi.input": body if isinstance(body, io.IOBase) else io.BytesIO(body)}
    environ["CONTENT_LENGTH"] = headers.pop("length") if isinstance(body, io.IOBase) else str(len(body))
    environ.update({"HTTP_" + name.upper(): value for name, value in headers.items()})
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, dict(headers)

    guard = guard or Guard(check_credentials=lambda name, password, address: (
        api.context.authenticator.authenticate(name, password, address=address) is not None))
    text = b"".join(create_app(api.context, guard=guard)(environ, start_response)).decode()
    return int(seen["status"][:3]), text


def test_a_large_form_is_refused_before_its_body_is_read(api):
    status, text = call(api, "/http/send-message", method="POST", body=Unreadable(), length=str(2 * 1024 * 1024))
    assert status == 413
    assert "2097152 bytes; at most 65536" in text and "max_form" in text


def test_a_form_of_many_empty_fields_is_refused_without_parsing_and_in_little_memory(api):
    body = b"&".join(b"f%d=" % i for i in range(9000))  # 60 KiB, within max_form
    tracemalloc.start()
    try:
        status, text = call(api, "/http/send-message", method="POST", body=body)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert status == 413
    assert "9000 fields; at most 1000" in text
    assert peak < 512 * 1024, peak  # the body and a little: no dictionary of 9000 fields
    assert OutboundMessage.select().count() == 0


def test_a_wrong_password_in_the_query_string_is_refused_before_the_body_is_read(api):
    status, text = call(api, "/http/send-message", method="POST", query="username=alice&password=wrong",
                        body=Unreadable(), length="60000")
    assert status == 200
    assert text.startswith("ERROR:304 Authentication error")
    assert not text.endswith("\n")  # one line, as every /http reply: no line break after it


def test_a_small_form_is_still_accepted(api):
    body = f"username=alice&password={PASSWORD}&to=%2B447700900123&message=Hello".encode()
    status, text = call(api, "/http/send-message", method="POST", body=body)
    assert (status, text[:3]) == (200, "OK:")


@pytest.mark.parametrize("host", ["localhost", "localhost:9710", "192.168.1.20:9710", "[fe80::1]:9710",
                                  "sms.example.lan"])
def test_the_names_the_appliance_answers_to(api, host):
    guard = Guard.from_config(HttpConfig(hostnames=("sms.example.lan", "localhost")))
    status, _ = call(api, "/health", guard=guard, host=host)
    assert status == 200


def test_another_name_gets_421_so_a_rebound_name_reads_nothing(api):
    status, text = call(api, "/http/request-received-messages", query="remove=1", host="attacker.example:9710")
    assert status == 421
    assert "does not answer to the name 'attacker.example'" in text and "[http] hostnames" in text


def test_head_runs_no_command(api):
    query = f"username=alice&password={PASSWORD}&to=%2B447700900123&message=Hello"
    status, _ = call(api, "/http/send-message", method="HEAD", query=query)
    assert status == 405
    assert OutboundMessage.select().count() == 0


def test_a_page_of_another_site_cannot_empty_the_guests_inbox(api):
    set_user("guest", PASSWORD)
    api.context.authenticator = Authenticator(guest="guest")
    for part in pdu.encode_deliver("+447700900123", "secret", timestamp=datetime(2026, 1, 1, tzinfo=UTC)):
        api.inbox.store("GSM Modem Gateway", part.pdu)
    status, text = call(api, "/http/request-received-messages", query="remove=1", sec_fetch_site="cross-site")
    assert status == 403 and "another site" in text
    assert InboundMessage.select().where(~InboundMessage.removed).count() == 1


@pytest.mark.parametrize(("content_type", "body", "reason"), [
    ("multipart/form-data", b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--\r\n", "no boundary"),
    ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1", "malformed"),
])
def test_a_broken_multipart_body_gets_400_with_a_reason(api, content_type, body, reason):
    status, text = call(api, "/http/send-message", method="POST", body=body, content_type=content_type)
    assert status == 400
    assert reason in text


def test_a_multipart_form_of_many_fields_is_refused(api):
    part = b"--xY\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n"
    status, text = call(api, "/http/send-message", method="POST", body=part * 1200 + b"--xY--\r\n",
                        content_type="multipart/form-data; boundary=xY")
    assert status == 413 and "1200 fields" in text


def test_the_unit_caps_the_services_memory():
    unit = (ROOT / "systemd" / "sms-appliance.service").read_text()
    assert "\nMemoryMax=256M\n" in unit and "\nMemoryHigh=192M\n" in unit
