"""/api/v1/gateways against the real service (``sms-appliance run``) and a simulated modem in
its own process: a paused gateway holds messages back until it is resumed."""

import contextlib
import select
import threading

import pytest
import requests

from appliance import pdu
from hil.test_service import PASSWORD, Appliance, Simulator, wait_for

GATEWAY = "GSM Modem Gateway"


@contextlib.contextmanager
def notifications_read(appliance):
    """Read the service's systemd notifications as they come, as systemd does. The harness
    reads them only at start; the queue of its socket is short (net.unix.max_dgram_qlen, often
    10), and once it is full the service's next watchdog pet or STATUS= blocks its event
    loop — and every request that waits on the loop with it."""
    done = threading.Event()

    def read():
        while not done.is_set():
            if select.select([appliance.notify], [], [], 0.1)[0]:
                appliance.read_notifications()
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield
    finally:
        done.set()
        reader.join(5)


@pytest.fixture
def running(tmp_path):
    simulator = Simulator(tmp_path / "ttyGSM0", tmp_path / "sent.jsonl")
    appliance = Appliance(tmp_path, simulator.path)
    for args in (("alice", "--password", PASSWORD), ("root", "--password", PASSWORD, "--admin")):
        result = appliance.cli("user", "set", *args)
        assert result.returncode == 0, result.stderr
    appliance.start()
    with notifications_read(appliance):
        yield appliance, simulator
    appliance.close()
    simulator.stop()


def call(appliance, method, path, user="root", **kwargs):
    return requests.request(method, f"http://127.0.0.1:{appliance.port}/api/v1{path}", auth=(user, PASSWORD),
                            timeout=10, **kwargs)


def state(appliance, message_id):
    return call(appliance, "GET", f"/messages/{message_id}", user="alice").json()["state"]


def send(appliance, text):
    reply = call(appliance, "POST", "/messages", user="alice", json={"to": ["+447700900123"], "message": text})
    assert reply.status_code == 201, reply.text
    return reply.json()["messages"][0]["id"]


def after_the_router_had_its_turn(appliance):
    """Each read of the gateways runs on the event loop, in order: after two, the dispatch that a
    message accepted before them asked for has run."""
    for _ in range(2):
        assert call(appliance, "GET", "/gateways").status_code == 200


def sent_texts(simulator):
    return [pdu.decode(entry["pdu"]).text for entry in simulator.sent()]


def test_a_gateway_paused_over_the_json_api_keeps_a_message_queued_until_resumed(running):
    appliance, simulator = running
    first = send(appliance, "before the pause")
    wait_for(lambda: state(appliance, first) == "sent", what="the modem sends")
    assert call(appliance, "POST", f"/gateways/{GATEWAY}/pause", user="alice").status_code == 403
    paused = call(appliance, "POST", f"/gateways/{GATEWAY}/pause")
    assert paused.status_code == 200 and paused.json()["paused"] is True
    assert call(appliance, "GET", "/status", user="alice").json()["gateways"][0]["paused"] is True
    held = send(appliance, "during the pause")
    after_the_router_had_its_turn(appliance)
    assert state(appliance, held) == "queued"
    assert sent_texts(simulator) == ["before the pause"]
    resumed = call(appliance, "POST", f"/gateways/{GATEWAY}/resume")
    assert resumed.status_code == 200 and resumed.json()["paused"] is False
    wait_for(lambda: state(appliance, held) == "sent", what="sent after resuming")
    assert sent_texts(simulator) == ["before the pause", "during the pause"]
    assert call(appliance, "GET", "/status", user="alice").json()["gateways"][0]["sent"] == 2
