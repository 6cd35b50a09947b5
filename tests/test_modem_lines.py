"""The modem's RI and RESET lines: pins, pulses, the driver's use of them, the service's wiring.

On the loop's virtual time (looptime): pulses and boot times pass at once."""

import asyncio
import sys
import threading
import types

import pytest
from test_modem_driver import DELIVER, ScriptedModem, collecting, made, run_for, send, start, stopped_at_the_end  # noqa: F401

from appliance.app.service import Service
from appliance.config import file as config
from appliance.modem.driver import ModemDriver, ModemState, Timings
from appliance.platform import gpio, modem_power
from appliance.platform.modem_power import PWRKEY, RESET, ModemPower
from hil.pins import FakeInputPin, FakePin

pytestmark = pytest.mark.looptime


async def run_until(predicate, limit=5.0):
    """Let the loop run until ``predicate()`` holds (looked at every 10 ms of loop time)."""
    async with asyncio.timeout(limit):
        while not predicate():
            await asyncio.sleep(0.01)


# -- pins ----------------------------------------------------------------------------------

async def test_a_fake_input_pin_hands_each_fall_to_the_loop_from_any_thread():
    pin = FakeInputPin(17)
    ran_on = []
    pin.watch(asyncio.get_running_loop(), lambda: ran_on.append(threading.current_thread()))
    thread = threading.Thread(target=pin.pulse)
    thread.start()
    thread.join()
    assert ran_on == [] and pin.falls == 1 and pin.read()  # back high; the loop has not run yet
    await run_until(lambda: ran_on)
    assert ran_on == [threading.current_thread()]  # the loop's thread, not the pulser's


def fake_rpi_gpio(monkeypatch):
    """RPi.GPIO as the Pi has it, recording what it is asked."""
    calls = []
    module = types.ModuleType("RPi.GPIO")
    module.BCM, module.IN, module.OUT, module.PUD_UP, module.FALLING, module.HIGH, module.LOW = range(7)
    for name in ("setwarnings", "setmode", "setup", "add_event_detect", "remove_event_detect", "cleanup"):
        setattr(module, name, lambda *args, _name=name, **kwargs: calls.append((_name, args, kwargs)))
    package = types.ModuleType("RPi")
    package.GPIO = module
    monkeypatch.setitem(sys.modules, "RPi", package)
    monkeypatch.setitem(sys.modules, "RPi.GPIO", module)
    return module, calls


async def test_the_pi_input_pin_detects_falling_edges_and_hands_them_over(monkeypatch):
    module, calls = fake_rpi_gpio(monkeypatch)
    rang = []
    pin = gpio.RpiInputPin(17)
    pin.watch(asyncio.get_running_loop(), lambda: rang.append(threading.current_thread()))
    assert ("setup", (17, module.IN), {"pull_up_down": module.PUD_UP}) in calls
    ((_, (number, edge), options),) = [c for c in calls if c[0] == "add_event_detect"]
    assert (number, edge, options["bouncetime"]) == (17, module.FALLING, gpio.BOUNCE_MS)
    edge_thread = threading.Thread(target=options["callback"], args=(17,))  # RPi.GPIO's own thread
    edge_thread.start()
    edge_thread.join()
    await run_until(lambda: rang)
    assert rang == [threading.current_thread()]
    pin.close()
    assert [c[0] for c in calls[-2:]] == ["remove_event_detect", "cleanup"]


async def test_reset_is_held_then_released_in_its_polarity_and_tried_before_pwrkey(monkeypatch):
    monkeypatch.setattr(modem_power, "RESET_HOLD", 0.05)
    loop = asyncio.get_running_loop()
    written_at = []
    low, high = FakePin(5, on_write=lambda level: written_at.append(loop.time())), FakePin(4)
    assert ModemPower(FakePin(6), reset=low).lines == (RESET, PWRKEY)
    assert ModemPower(reset=high, reset_active_high=True).lines == (RESET,)
    power = ModemPower(reset=low)
    await power.reset()
    assert [level for _, level in low.writes] == [True, True, False, True]  # released x2, held, released
    held_at, released_at = written_at[2:]
    assert released_at - held_at >= 0.05
    assert [level for _, level in high.writes] == [False]  # released, the other way round


# -- the driver ----------------------------------------------------------------------------

async def test_a_ring_sweeps_at_once_and_a_ring_during_that_sweep_gets_one_more():
    handlers, received, _ = collecting()
    modem, driver, _ = start(handlers=handlers)
    await run_for(0.2)
    assert driver.state == ModemState.READY
    sweeps = modem.commands.count("AT+CMGL=4")  # the one at start
    listed = modem.answer

    def answer(command):  # an SMS lands just after the modem listed its (empty) storage
        reply = listed(command)
        if command == "AT+CMGL=4" and modem.commands.count(command) == sweeps + 1:
            modem.slots[3] = DELIVER
        return reply
    modem.answer = answer
    for _ in range(3):  # a burst of rings while the first sweep runs
        driver.on_ring()
    await run_for(0.2)
    assert modem.commands.count("AT+CMGL=4") == sweeps + 2  # one for the burst, one after it
    assert received == [DELIVER] and modem.slots == {}


async def test_a_ring_while_a_sweep_hands_over_what_it_listed_gets_one_more():
    handlers, received, _ = collecting()
    modem, driver, _ = start(handlers=handlers)
    await run_for(0.2)
    assert driver.state == ModemState.READY
    sweeps = modem.commands.count("AT+CMGL=4")  # the one at start
    modem.slots[1] = DELIVER
    deleting = modem.answer

    def answer(command):  # a second SMS lands, and rings, while the first is being deleted
        if command == "AT+CMGD=1":
            modem.slots[2] = DELIVER
            driver.on_ring()
        return deleting(command)
    modem.answer = answer
    driver.on_ring()
    await run_for(0.2)
    assert modem.commands.count("AT+CMGL=4") == sweeps + 2  # the ring's, and one for the ring during it
    assert received == [DELIVER, DELIVER] and modem.slots == {}


async def test_a_ring_while_the_modem_is_not_ready_sends_nothing():
    modem, driver, _ = start({"silent_to": {"AT"}})
    await run_for(0.1)
    assert driver.state == ModemState.INITIALISING
    driver.on_ring()  # the sweep when it is ready finds what rang
    await run_for(0.1)
    assert set(modem.commands) == {"AT"}


class Everything:
    def __contains__(self, command):
        return True


def silent_modem_with_lines(monkeypatch, answers_after, **modem_kwargs):
    """A silent modem with RESET and PWRKEY (active low); it answers again once
    ``answers_after(log)`` holds for the levels written so far."""
    monkeypatch.setattr(modem_power, "RESET_HOLD", 0.02)
    monkeypatch.setattr(modem_power, "OFF_PAUSE", 0.02)
    loop = asyncio.get_running_loop()
    modem = ScriptedModem(loop, silent_to={"AT"}, **modem_kwargs)
    log = []

    def maybe_answer():
        if answers_after(log):
            modem.silent_to = set()
    def line(name):
        return FakePin(on_write=lambda high: (log.append((name, high)), maybe_answer()))
    power = ModemPower(line(PWRKEY), reset=line(RESET))
    del log[:]  # the releases when the lines are opened
    handlers, received, _ = collecting()
    driver = made(ModemDriver(loop, config.ModemConfig("GSM", "/dev/fake"), open_transport=modem.open,
                              handlers=handlers, power=power,
                              timings=Timings(sync_attempts=1, restart_delay=0.05, send_timeout=0.2)))
    driver.dialect = driver.dialect.__class__("test", pwrkey_on_seconds=0.02, pwrkey_off_seconds=0.02,
                                              boot_seconds=0.02)
    loop.call_soon(driver.start)
    return modem, driver, log, received


PRESS = [(RESET, False), (RESET, True)]
CYCLE = [(PWRKEY, False), (PWRKEY, True), (PWRKEY, False), (PWRKEY, True)]


async def test_a_silent_modem_gets_reset_then_power_cycled_and_is_used_again_with_nothing_lost(monkeypatch):
    modem, driver, log, received = silent_modem_with_lines(
        monkeypatch, lambda log: log == PRESS + CYCLE, slots={1: DELIVER})
    await run_until(lambda: received)
    assert log == PRESS + CYCLE  # RESET first; still silent, then PWRKEY off and on
    assert modem.opened == 3 and driver.state == ModemState.READY
    assert received == [DELIVER] and modem.slots == {}  # what waited on the SIM is read after all


async def test_a_modem_that_a_reset_brings_back_is_not_power_cycled_and_gets_reset_first_next_time(monkeypatch):
    modem, driver, log, _ = silent_modem_with_lines(monkeypatch, lambda log: log == PRESS)
    await run_until(lambda: driver.state == ModemState.READY)
    assert log == PRESS
    modem.silent_to = Everything()  # it hangs again, in a send
    results = []
    send(driver, DELIVER, 20, results)
    await run_until(lambda: len(log) > 2)
    assert log[2:] == [(RESET, False)]  # RESET again, not PWRKEY: it was ready in between
    assert results[0].unknown_fate  # the part is sent again, not lost


# -- the service ---------------------------------------------------------------------------

def test_the_service_drives_reset_and_pwrkey_released_in_their_polarity(monkeypatch, tmp_path):
    opened = {}

    def output(number, initial):
        opened[number] = FakePin(number, value=initial)
        return opened[number]
    monkeypatch.setattr(gpio, "RpiPin", output)
    service = Service(config.parse({"modem": [{"name": "A", "port": "/x", "pwrkey_gpio": 6,
                                               "pwrkey_pressed_high": True, "reset_gpio": 5}]}))
    power = service._power(service.config.modems[0])
    assert power.lines == (RESET, PWRKEY)
    assert (opened[6].value, opened[5].value) == (False, True)  # both released
    assert service._power(config.ModemConfig("B", "/y")) is None
