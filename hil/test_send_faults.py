"""Hardware-in-loop: a modem whose faults come back again and again fails no message.

A modem that answers every 7th send with ``+CMS ERROR: 500``, reboots on every 23rd and
hangs on the 60th used to end a run of 100 messages with one Failed: its attempts ran into
the periodic faults. Temporary faults cost no attempts now (docs/send-errors.md)."""

from appliance.modem.driver import ModemState
from appliance.platform import modem_power
from appliance.platform.modem_power import ModemPower
from appliance.store.models import MessageState
from appliance.store.queue import NewMessage
from hil.pins import FakePin
from hil.simulator import HANG, REBOOT, SimulatedModem

from .test_modem_path import Rig, sorted_texts, wait_for


def test_a_modem_with_periodic_errors_reboots_and_a_hang_sends_all_of_100_messages(tmp_path, monkeypatch):
    monkeypatch.setattr(modem_power, "RESET_HOLD", 0.02)
    with SimulatedModem() as modem:
        modem.fault_sends(7, 500)
        modem.fault_sends(23, REBOOT)
        modem.fault_sends(60, HANG, once=True)
        def reset_line(high: bool) -> None:
            """The hung modem answers nothing until the driver pulses its RESET line."""
            if not high:  # pressed (active low)
                modem.reboot()

        reset = FakePin(on_write=reset_line)
        rig = Rig(tmp_path, [modem], send_timeout=1.0, command_timeout=0.5, restart_delay=0.05,
                  sync_attempts=1)
        driver = rig.gateways[0].driver
        driver.power = ModemPower(reset=reset)
        texts = [f"message {n:03d}" for n in range(100)]
        ids = rig.send(*[NewMessage("+447700900123", text) for text in texts])
        rig.start()
        try:
            wait_for(lambda: all(rig.state(i) != MessageState.QUEUED and rig.state(i) != MessageState.SENDING
                                 for i in ids), timeout=180, what="every message ended")
            assert {rig.state(i) for i in ids} == {MessageState.SENT}
            assert sorted_texts(modem.sent) == texts  # each once
            sends = sum(command.startswith("AT+CMGS=") for command in modem.commands)
            assert sends >= 100 + 100 // 7 + 100 // 23 + 1  # every fault was met
            assert ModemState.POWER_CYCLING in rig.states  # the hang needed the RESET line
        finally:
            rig.stop()
