"""The hardware-in-loop suite against a REAL modem, to qualify a HAT or a USB stick.

Runs only when ``HIL_PORT`` names the modem's serial device (and, for the loopback test,
``HIL_PEER_NUMBER`` the number of the SIM in it, so the SMS comes back to the same modem):

    HIL_PORT=/dev/ttyUSB2 HIL_PEER_NUMBER=+447700900123 .venv/bin/python -m pytest hil/test_real_modem.py

Optional: ``HIL_MODEL`` (sim800, sim7600, ec25, huawei; default auto), ``HIL_PIN``.
Everything else in hil/ runs against the simulator, whose faults a real modem cannot be
asked to show on demand. Without HIL_PORT these tests are skipped: there is no hardware.
"""

import os

import pytest

from appliance.modem.driver import ModemState
from appliance.store.models import InboundMessage, MessageState
from appliance.store.queue import NewMessage

from .test_modem_path import Rig, wait_for

PORT = os.environ.get("HIL_PORT")
PEER = os.environ.get("HIL_PEER_NUMBER", "")

pytestmark = pytest.mark.skipif(not PORT, reason="no real modem: set HIL_PORT to run against one")


class RealModem:
    """What the Rig needs of a modem: its port."""

    path = PORT


@pytest.fixture
def rig(tmp_path):
    rig = Rig(tmp_path, [RealModem()], model=os.environ.get("HIL_MODEL", "auto"),
              pin=os.environ.get("HIL_PIN"), command_timeout=10.0).start()
    yield rig
    rig.stop()


def test_real_modem_initialises_and_reports_its_health(rig):
    driver = rig.gateways[0].driver
    wait_for(lambda: driver.state in (ModemState.READY, ModemState.NOT_REGISTERED)
             or driver.state in ModemState.NEEDS_ATTENTION, timeout=60, what="initialisation")
    assert driver.state == ModemState.READY, driver.detail
    wait_for(lambda: driver.health.signal_rssi is not None, timeout=30, what="a signal reading")
    assert driver.health.registered


@pytest.mark.skipif(not PEER, reason="set HIL_PEER_NUMBER to the SIM's own number for the loopback test")
def test_real_modem_loopback_send_receive_and_delivery_report(rig):
    text = f"SMS Appliance loopback {os.getpid()}"
    (message_id,) = rig.send(NewMessage(PEER, text))
    wait_for(lambda: rig.state(message_id) in (MessageState.SENT, MessageState.DELIVERED), timeout=120,
             what="the network to accept the SMS")
    wait_for(lambda: any(InboundMessage.get_by_id(i).text == text for i in rig.received), timeout=180,
             what="the SMS to come back")
    wait_for(lambda: rig.state(message_id) == MessageState.DELIVERED, timeout=180, what="its delivery report")
