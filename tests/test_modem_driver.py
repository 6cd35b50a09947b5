"""The driver's initialisation against a scripted modem: SIM PIN, PUK, errors, SMSC."""

import socket

import pytest

from appliance.modem.driver import ModemDriver, ModemState
from appliance.modem.transport import FdTransport
from appliance.reactor import Reactor


class ScriptedModem:
    """Answers each command line from a small SIM state machine, on the driver's reactor."""

    def __init__(self, reactor: Reactor, *, sim="READY", pin="1234", silent_to=()):
        self.reactor = reactor
        self.sim = sim
        self.pin = pin
        self.silent_to = set(silent_to)
        self.commands = []
        self.opened = 0
        self._buffer = b""
        self._ours = None

    def open(self, port, baudrate):
        self.opened += 1
        theirs, self._ours = socket.socketpair()
        self.reactor.add_reader(self._ours.fileno(), self._on_data)
        return FdTransport(theirs.fileno(), owner=theirs)

    def _on_data(self):
        data = self._ours.recv(4096)
        if not data:
            self.reactor.remove_reader(self._ours.fileno())
            return
        self._buffer += data
        while b"\r" in self._buffer:
            line, self._buffer = self._buffer.split(b"\r", 1)
            command = line.decode()
            self.commands.append(command)
            if command not in self.silent_to:
                self._ours.send(self.answer(command).encode())

    def answer(self, command):
        if command == "AT+CPIN?":
            return f"\r\n+CPIN: {self.sim}\r\n\r\nOK\r\n"
        if command.startswith("AT+CPIN="):
            if self.sim != "SIM PIN":
                return "\r\n+CME ERROR: 3\r\n"
            if command == f'AT+CPIN="{self.pin}"':
                self.sim = "READY"
                return "\r\nOK\r\n"
            return "\r\n+CME ERROR: 16\r\n"
        if command == "AT+CGMM":
            return "\r\nSIMCOM_SIM800L\r\n\r\nOK\r\n"
        if command == "AT+CMGF=0":
            return "\r\nOK\r\n" if self.sim == "READY" else "\r\n+CMS ERROR: 302\r\n"
        return "\r\nOK\r\n"


def start(modem_kwargs=None, **driver_kwargs):
    reactor = Reactor()
    modem = ScriptedModem(reactor, **(modem_kwargs or {}))
    states = []
    details = []
    driver = ModemDriver(reactor, name="GSM", port="/dev/fake", open_transport=modem.open,
                         on_state=lambda state: (states.append(state), details.append(driver.detail)),
                         restart_delay=0.05, **driver_kwargs)
    modem.details = details
    reactor.call_soon(driver.start)
    return reactor, modem, driver, states


def run_for(reactor, seconds):
    reactor.call_later(seconds, reactor.stop)
    reactor.run()


def test_ready_sim_initialises_in_order():
    reactor, modem, driver, states = start()
    run_for(reactor, 0.2)
    assert modem.commands == ["AT", "ATE0", "AT+CMEE=1", "AT+CPIN?", "AT+CGMM", "AT+CMGF=0"]
    assert driver.state == ModemState.READY and driver.model == "SIMCOM_SIM800L"
    assert states == [ModemState.INITIALISING, ModemState.READY]


def test_configured_pin_unlocks_the_sim():
    reactor, modem, driver, _ = start({"sim": "SIM PIN"}, pin="1234")
    run_for(reactor, 0.2)
    assert 'AT+CPIN="1234"' in modem.commands
    assert driver.state == ModemState.READY


def test_wrong_pin_is_tried_exactly_once_and_never_again():
    reactor, modem, driver, _ = start({"sim": "SIM PIN"}, pin="9999")
    run_for(reactor, 0.5)  # ten restart delays: a retry would show
    assert [c for c in modem.commands if c.startswith("AT+CPIN=")] == ['AT+CPIN="9999"']
    assert driver.state == ModemState.PIN_WRONG
    assert "refused" in driver.detail
    assert modem.opened == 1


def test_sim_pin_without_a_configured_pin_asks_for_one():
    reactor, modem, driver, _ = start({"sim": "SIM PIN"})
    run_for(reactor, 0.3)
    assert not any(c.startswith("AT+CPIN=") for c in modem.commands)
    assert driver.state == ModemState.PIN_REQUIRED
    assert "set `pin`" in driver.detail


def test_puk_locked_sim_is_reported_and_left_alone():
    reactor, modem, driver, _ = start({"sim": "SIM PUK"}, pin="1234")
    run_for(reactor, 0.3)
    assert not any(c.startswith("AT+CPIN=") for c in modem.commands)
    assert driver.state == ModemState.PUK_LOCKED
    assert modem.opened == 1


def test_configured_smsc_is_written_as_international():
    reactor, modem, driver, _ = start(smsc="+447785016005")
    run_for(reactor, 0.2)
    assert modem.commands[-1] == 'AT+CSCA="+447785016005",145'
    assert driver.state == ModemState.READY


def test_modem_that_never_answers_at_is_given_up_and_reopened_later():
    reactor, modem, driver, states = start({"silent_to": {"AT"}}, sync_attempts=2)
    run_for(reactor, 2.4)  # two 1 s tries, a 0.05 s pause, then a fresh start
    assert modem.commands[:2] == ["AT", "AT"]
    assert ModemState.FAILED in states
    assert modem.opened >= 2


def test_error_during_initialisation_fails_and_retries():
    reactor, modem, driver, states = start({"silent_to": set()})
    modem.answer = lambda command: "\r\nERROR\r\n" if command == "ATE0" else "\r\nOK\r\n"
    run_for(reactor, 0.3)
    assert ModemState.FAILED in states
    assert "ATE0 answered ERROR" in modem.details
    assert modem.commands.count("ATE0") >= 2  # started over, from a fresh port
    assert modem.opened >= 2


@pytest.mark.parametrize("state", [ModemState.CLOSED, ModemState.PIN_WRONG])
def test_send_on_a_modem_that_is_not_ready_fails_at_once_and_never_writes(state):
    reactor, modem, driver, _ = start()
    results = []
    driver.state = state
    driver.send("0011", 1, results.append)
    reactor.call_soon(reactor.stop)
    reactor.run()
    assert len(results) == 1 and not results[0].ok
    assert not any(c.startswith("AT+CMGS") for c in modem.commands)


def test_a_modem_that_stays_away_is_reported_once_not_every_retry(caplog):
    reactor = Reactor()

    def missing(port, baudrate):
        raise FileNotFoundError(2, "No such file or directory", port)

    driver = ModemDriver(reactor, name="GSM", port="/dev/gone", open_transport=missing, restart_delay=0.01)
    reactor.call_soon(driver.start)
    with caplog.at_level("WARNING"):
        run_for(reactor, 0.2)
    warnings = [r for r in caplog.records if "cannot open /dev/gone" in r.getMessage()]
    assert len(warnings) == 1
    assert driver.state == ModemState.FAILED
