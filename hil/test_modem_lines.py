"""Hardware-in-loop: the modem's RI and RESET lines against the simulated modem, with fake
pins standing in for the Pi's GPIO.

RI lets a modem whose indications are lost be read at once instead of at the next
periodic sweep; RESET, then PWRKEY, bring back a modem that hangs, with nothing lost.
"""

import dataclasses
import threading

from appliance import pdu
from appliance.app.service import Service
from appliance.config.file import Config, HttpConfig, ModemConfig, StorageConfig
from appliance.modem import dialects
from appliance.modem.driver import ModemState
from appliance.platform import gpio, modem_power
from appliance.platform.modem_power import PWRKEY, RESET, ModemPower
from appliance.store.models import InboundMessage, MessageState
from appliance.store.queue import NewMessage
from hil.at_client import assert_quiet, expect, framed
from hil.control import run_command
from hil.pins import FakeInputPin, FakePin
from hil.simulator import SimulatedModem

from .test_modem_path import Rig, wait_for, working


def texts(rig):
    return sorted(InboundMessage.get_by_id(i).text for i in rig.received)


def test_the_simulated_ri_rings_with_every_new_sms_even_when_its_urc_is_lost(simulated):
    rings = []
    modem, port = simulated(ring=lambda: rings.append("ring"))
    modem.deliver_sms("+441", "one")
    expect(port, framed('+CMTI: "SM",1'))
    run_command(modem, "urcs lost")
    modem.deliver_sms("+441", "two")
    assert_quiet(port)
    assert rings == ["ring", "ring"]
    run_command(modem, "urcs back")
    modem.deliver_sms("+441", "three")
    expect(port, framed('+CMTI: "SM",3'))


def test_with_its_indications_lost_an_sms_is_read_at_once_because_ri_rings(tmp_path):
    ri = FakeInputPin(17)
    with SimulatedModem(ring=ri.pulse) as modem:
        rig = Rig(tmp_path, [modem])
        driver = rig.gateways[0].driver
        ri.watch(rig.loop, driver.on_ring)
        rig.start()
        try:
            working(rig, [modem])  # the start-up sweep is over
            modem.lose_urcs(True)
            modem.deliver_sms("+447700900555", "no +CMTI for this one")
            wait_for(lambda: rig.received, what="the SMS read after the ring")
            assert texts(rig) == ["no +CMTI for this one"] and ri.falls == 1
            wait_for(lambda: modem.messages(driver.dialect.storage) == [], what="the SMS deleted once kept")
            assert not any(c.startswith("AT+CMGR") for c in modem.commands)  # no indication was seen
            assert modem.commands.count("AT+CMGL=4") >= 2  # the sweep at start, and the ring's
        finally:
            rig.stop()


def test_without_ri_an_sms_whose_indication_is_lost_waits_for_the_sweep_timer(tmp_path):
    with SimulatedModem() as modem:
        rig = Rig(tmp_path, [modem]).start()
        driver = rig.gateways[0].driver
        try:
            working(rig, [modem])
            modem.lose_urcs(True)
            modem.deliver_sms("+447700900555", "no +CMTI for this one")
            # the modem is in use after the SMS arrived, and still nobody read it
            (message_id,) = rig.send(NewMessage("+440", "busy meanwhile"))
            wait_for(lambda: rig.state(message_id) == MessageState.SENT, what="a send after the arrival")
            assert rig.received == [] and len(modem.messages(driver.dialect.storage)) == 1
            assert modem.commands.count("AT+CMGL=4") == 1  # only the sweep at start
            rig.loop.call_soon_threadsafe(driver.receiver.sweep)  # what the timer does, 300 s on
            wait_for(lambda: rig.received, what="the SMS read by the sweep")
            assert texts(rig) == ["no +CMTI for this one"]
        finally:
            rig.stop()


def test_a_hung_modem_is_reset_then_power_cycled_and_nothing_is_lost(tmp_path, monkeypatch):
    monkeypatch.setattr(modem_power, "RESET_HOLD", 0.02)
    monkeypatch.setattr(modem_power, "OFF_PAUSE", 0.02)
    with SimulatedModem() as modem:
        modem.deliver_sms("+447700900555", "waiting on the SIM")
        modem.set_silent(True)  # hung; a reset does not help it, a power cycle does
        pulses = []

        def line(name):
            def written(high):
                pulses.append((name, high))
                if name == PWRKEY and pulses.count((PWRKEY, True)) == 2:  # the "on" press released
                    modem.set_silent(False)
                    modem.reboot()
            return FakePin(on_write=written)

        rig = Rig(tmp_path, [modem], sync_attempts=1, restart_delay=0.05)
        driver = rig.gateways[0].driver
        driver.power = ModemPower(line(PWRKEY), reset=line(RESET))
        assert pulses == [(PWRKEY, True), (RESET, True)]  # released when opened
        pulses.clear()
        driver.dialect = dataclasses.replace(dialects.GENERIC, boot_seconds=0.05, pwrkey_on_seconds=0.05,
                                             pwrkey_off_seconds=0.05)
        (message_id,) = rig.send(NewMessage("+447700900123", "queued while it hung"))
        rig.start()
        try:
            wait_for(lambda: rig.received and rig.state(message_id) == MessageState.SENT,
                     what="the modem used again")
            assert pulses == [(RESET, False), (RESET, True),  # RESET first: still silent after it
                              (PWRKEY, False), (PWRKEY, True), (PWRKEY, False), (PWRKEY, True)]
            assert rig.states.count(ModemState.POWER_CYCLING) == 2
            assert texts(rig) == ["waiting on the SIM"]
            assert [pdu.decode(s.pdu).text for s in modem.sent] == ["queued while it hung"]  # once
        finally:
            rig.stop()


def test_the_service_watches_the_configured_ri_pin(tmp_path, monkeypatch):
    pins: list[FakeInputPin] = []

    def watched_pin(number: int) -> FakeInputPin:
        pins.append(FakeInputPin(number))
        return pins[-1]

    def ring() -> None:
        for pin in pins:
            pin.pulse()

    monkeypatch.setattr(gpio, "RpiInputPin", watched_pin)
    with SimulatedModem(ring=ring) as modem:
        modem.lose_urcs(True)
        service = Service(Config(http=HttpConfig(listen="127.0.0.1:0"), storage=StorageConfig(str(tmp_path)),
                                 modems=(ModemConfig("GSM", modem.path, ri_gpio=17),)))
        service.start()
        thread = threading.Thread(target=service.loop.run_forever)
        thread.start()
        try:
            for n, text in enumerate(("first", "second"), start=1):
                # the second one comes after the sweep at start, whatever the first met
                modem.deliver_sms("+447700900555", text)
                wait_for(lambda n=n: InboundMessage.select().count() == n, what=f"the {text} SMS stored")
        finally:
            service.loop.call_soon_threadsafe(service.loop.stop)
            thread.join(10)
            service.stop()
        assert [pin.number for pin in pins] == [17] and pins[0].falls == 2
