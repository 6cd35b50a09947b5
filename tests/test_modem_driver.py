"""The driver's initialisation against a scripted modem: SIM PIN, PUK, errors, SMSC,
registration on 2G and LTE, and reboots it notices with or without banners.

The scripted modem answers on the driver's own loop, whose time is virtual (looptime):
the driver's timeouts and intervals pass at once, and in the same order as they would."""

import asyncio
import socket

import pytest

from appliance.config.file import ModemConfig
from appliance.modem.driver import ModemDriver, ModemHandlers, ModemState, Timings, UssdError
from appliance.modem.transport import FdTransport
from appliance.platform.modem_power import ModemPower
from hil.pins import FakePin

pytestmark = pytest.mark.looptime

DRIVERS = []  # every driver a test made, stopped when the test ends


@pytest.fixture(autouse=True)
async def stopped_at_the_end():
    """Stop the test's drivers while its loop still runs: their timers are on the loop's
    virtual time, and the loop's clock jumps to the real one once the test is over."""
    yield
    while DRIVERS:
        DRIVERS.pop().stop()


def made(driver):
    DRIVERS.append(driver)
    return driver


def tpdu_length(pdu: str) -> int:
    """The <length> a modem shows for ``pdu``: its octets without the SMSC part (all of
    them for a slot holding something else than hex)."""
    try:
        return len(pdu) // 2 - 1 - int(pdu[:2], 16)
    except ValueError:
        return len(pdu)


class ScriptedModem:
    """Answers each command line from a small SIM state machine, on the driver's loop."""

    CNMI_DEFAULT = "0,0,0,0,0"

    def __init__(self, loop: asyncio.AbstractEventLoop, *, sim="READY", pin="1234", silent_to=(), slots=None,
                 creg=1, cereg=None, model="SIMCOM_SIM800L", smsc='"+447785016005",145',
                 echo=False, pdu_input=False, creg_notice_after=None, chatter=(), pdu_junk=""):
        self.loop = loop
        self.sim = sim
        self.pin = pin
        self.silent_to = set(silent_to)
        self.slots = dict(slots or {})       # SIM storage: index -> PDU hex
        self.creg = creg
        self.creg_notice_after = creg_notice_after  # a +CREG notice inside the AT+CREG? reply
        self.cereg = cereg                   # None: no LTE, AT+CEREG? is an error
        self.model = model
        self.smsc = smsc                     # the AT+CSCA? answer; None: +CMS ERROR: 330
        self.echo = echo                     # sticks (ATE0 ignored) when True from the start
        self.obeys_ate0 = not echo
        self.cnmi = self.CNMI_DEFAULT
        self.pdu_input = pdu_input           # waiting for a PDU body: everything but ESC is eaten
        self.cmgs_answer = "\r\n+CMGS: 42\r\n\r\nOK\r\n"
        self.chatter = tuple(chatter)        # unsolicited lines written before every line of a reply
        self.pdu_junk = pdu_junk             # written after each PDU that AT+CMGR / AT+CMGL show
        self.commands = []
        self.opened = 0
        self._buffer = b""
        self._ours = None

    def open(self, port, baudrate):
        self.opened += 1
        theirs, self._ours = socket.socketpair()
        self.loop.add_reader(self._ours.fileno(), self._on_data)
        return FdTransport(theirs.fileno(), owner=theirs)

    def _on_data(self):
        try:
            data = self._ours.recv(4096)
        except ConnectionResetError:  # the driver closed its end with our answer unread
            data = b""
        if not data:
            self.loop.remove_reader(self._ours.fileno())
            return
        if self.pdu_input:
            if b"\x1b" not in data:
                return
            self.pdu_input = False
            data = data.split(b"\x1b", 1)[1]
        self._buffer += data
        while b"\r" in self._buffer or b"\x1a" in self._buffer:
            end = min(i for i in (self._buffer.find(b"\r"), self._buffer.find(b"\x1a")) if i >= 0)
            if self._buffer[end:end + 1] == b"\x1a":
                end += 1  # a PDU ends with Ctrl-Z, not CR: keep it, so answer() can tell
                line, self._buffer = self._buffer[:end], self._buffer[end:]
            else:
                line, self._buffer = self._buffer[:end], self._buffer[end + 1:]
            command = line.decode().lstrip("\x1b")  # in command mode a modem ignores ESC
            self.commands.append(command)
            echo = command.encode() + (b"" if command.endswith("\x1a") else b"\r") if self.echo else b""
            if command == "ATE0" and self.obeys_ate0:
                self.echo = False
            if command not in self.silent_to:
                self._ours.send(echo + self._chattering(self.answer(command)).encode())

    def _chattering(self, answer: str) -> str:
        """``answer`` with the chatter lines before each of its lines but the prompt."""
        if not self.chatter:
            return answer
        noise = "".join(f"{line}\r\n" for line in self.chatter)
        return "\r\n".join(noise + line if line and not line.startswith(">") else line
                             for line in answer.split("\r\n"))

    def reboot_quietly(self, echo=True):
        """A reset with no banner: echo (unless stored off) and CNMI back at their defaults."""
        self.echo = echo
        self.cnmi = self.CNMI_DEFAULT

    def push(self, data: bytes):
        """Bytes from the modem nobody asked for (URCs)."""
        self._ours.send(data)

    def answer(self, command):
        if command.startswith("AT+CMGS="):
            return "\r\n> "
        if command.endswith("\x1a"):
            return self.cmgs_answer
        if command.startswith("AT+CMGR="):
            pdu = self.slots.get(int(command.split("=")[1]))
            if not pdu:
                return "\r\n+CMS ERROR: 321\r\n"
            return f"\r\n+CMGR: 0,,{tpdu_length(pdu)}\r\n{pdu}{self.pdu_junk}\r\n\r\nOK\r\n"
        if command == "AT+CMGL=4":
            listing = "".join(f"\r\n+CMGL: {i},0,,{tpdu_length(p)}\r\n{p}{self.pdu_junk}"
                              for i, p in sorted(self.slots.items()))
            return listing + "\r\n\r\nOK\r\n"
        if command.startswith("AT+CMGD="):
            self.slots.pop(int(command.split("=")[1]), None)
            return "\r\nOK\r\n"
        if command == "AT+CREG?":
            notice = "" if self.creg_notice_after is None else f"\r\n+CREG: {self.creg_notice_after}"
            return f"\r\n+CREG: 1,{self.creg}{notice}\r\n\r\nOK\r\n"
        if command == "AT+CEREG?":
            return "\r\n+CME ERROR: 100\r\n" if self.cereg is None else f"\r\n+CEREG: 1,{self.cereg}\r\n\r\nOK\r\n"
        if command == "AT+CSCA?":
            return "\r\n+CMS ERROR: 330\r\n" if self.smsc is None else f"\r\n+CSCA: {self.smsc}\r\n\r\nOK\r\n"
        if command.startswith("AT+CNMI="):
            self.cnmi = command.split("=", 1)[1]
            return "\r\nOK\r\n"
        if command == "AT+CNMI?":
            return f"\r\n+CNMI: {self.cnmi}\r\n\r\nOK\r\n"
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
            return f"\r\n{self.model}\r\n\r\nOK\r\n"
        if command == "AT+CMGF=0":
            return "\r\nOK\r\n" if self.sim == "READY" else "\r\n+CMS ERROR: 302\r\n"
        return "\r\nOK\r\n"


def start(modem_kwargs=None, *, handlers=None, model="auto", pin=None, smsc=None, **timings):
    """A driver on a scripted modem, started; ``timings`` are Timings fields."""
    loop = asyncio.get_running_loop()
    modem = ScriptedModem(loop, **(modem_kwargs or {}))
    states = []
    details = []
    driver = made(ModemDriver(loop, ModemConfig("GSM", "/dev/fake", model=model, pin=pin, smsc=smsc),
                              handlers=handlers or ModemHandlers(), open_transport=modem.open,
                              on_state=lambda state: (states.append(state), details.append(driver.detail)),
                              timings=Timings(**{"restart_delay": 0.05, **timings})))
    modem.details = details
    loop.call_soon(driver.start)
    return modem, driver, states


async def run_for(seconds):
    """Let the loop run for ``seconds`` of its (virtual) time."""
    await asyncio.sleep(seconds)


def send(driver, pdu, tpdu_length, results):
    """Start sending ``pdu``; its SendResult goes to ``results`` when the send ends."""
    sending = asyncio.ensure_future(driver.send(pdu, tpdu_length))
    sending.add_done_callback(lambda done: results.append(done.result()))


async def test_ready_sim_initialises_in_order():
    modem, driver, states = start()
    await run_for(0.2)
    assert modem.commands[:11] == ["AT", "ATE0", "AT+CMEE=1", "AT+CPIN?", "AT+CGMM", "AT+CMGF=0", "AT+CSCA?",
                                   'AT+CPMS="SM","SM","SM"', "AT+CNMI=2,1,0,1,0", "AT+CREG=1",
                                   "AT+CSQ"]  # then the first health check and inbox sweep
    assert "AT+CMGL=4" in modem.commands
    assert "AT+CEREG?" not in modem.commands  # a 2G modem is not asked about LTE
    assert driver.state == ModemState.READY and driver.model == "SIMCOM_SIM800L"
    assert driver.dialect.name == "sim800"
    assert states == [ModemState.INITIALISING, ModemState.READY]
    assert driver.status()["smsc"] == "+447785016005"  # the SIM's, as AT+CSCA? read it


async def test_configured_pin_unlocks_the_sim():
    modem, driver, _ = start({"sim": "SIM PIN"}, pin="1234")
    await run_for(0.2)
    assert 'AT+CPIN="1234"' in modem.commands
    assert driver.state == ModemState.READY


async def test_wrong_pin_is_tried_exactly_once_and_never_again():
    modem, driver, _ = start({"sim": "SIM PIN"}, pin="9999")
    await run_for(0.5)  # ten restart delays: a retry would show
    assert [c for c in modem.commands if c.startswith("AT+CPIN=")] == ['AT+CPIN="9999"']
    assert driver.state == ModemState.PIN_WRONG
    assert "refused" in driver.detail
    assert modem.opened == 1


async def test_sim_pin_without_a_configured_pin_asks_for_one():
    modem, driver, _ = start({"sim": "SIM PIN"})
    await run_for(0.3)
    assert not any(c.startswith("AT+CPIN=") for c in modem.commands)
    assert driver.state == ModemState.PIN_REQUIRED
    assert "set `pin`" in driver.detail


async def test_puk_locked_sim_is_reported_and_left_alone():
    modem, driver, _ = start({"sim": "SIM PUK"}, pin="1234")
    await run_for(0.3)
    assert not any(c.startswith("AT+CPIN=") for c in modem.commands)
    assert driver.state == ModemState.PUK_LOCKED
    assert modem.opened == 1


async def test_configured_smsc_is_written_as_international():
    modem, driver, _ = start(smsc="+447785016005")
    await run_for(0.2)
    assert modem.commands[modem.commands.index("AT+CMGF=0") + 1] == 'AT+CSCA="+447785016005",145'
    assert "AT+CSCA?" not in modem.commands
    assert driver.state == ModemState.READY


@pytest.mark.parametrize("answer", ['"",129', None], ids=["empty", "cms-330"])
async def test_a_sim_without_an_smsc_receives_but_does_not_send_and_says_why(answer):
    handlers, received, _ = collecting()
    modem, driver, states = start({"smsc": answer}, handlers=handlers)
    await run_for(0.2)
    assert driver.state == ModemState.NO_SMSC and driver.state in ModemState.NEEDS_ATTENTION
    assert driver.detail == "the SIM has no SMS centre number: set `smsc` for this modem"
    assert not driver.in_service and not driver.ready
    results = []
    send(driver, "0011", 1, results)
    modem.slots[3] = DELIVER
    modem.push(b'\r\n+CMTI: "SM",3\r\n')
    await run_for(0.2)
    assert not results[0].ok and not any(c.startswith("AT+CMGS") for c in modem.commands)
    assert received == [DELIVER]  # receiving goes on
    assert states == [ModemState.INITIALISING, ModemState.NO_SMSC]  # no retries: it waits for a person
    modem.slots[4] = DELIVER.replace("F6", "F7")
    driver.on_ring()  # the RI line sweeps too
    await run_for(0.2)
    assert received == [DELIVER, DELIVER.replace("F6", "F7")]


async def test_a_send_refused_for_want_of_an_smsc_stops_sending_through_the_modem_until_it_is_set():
    modem, driver, _ = start()
    await run_for(0.2)
    assert driver.ready
    modem.cmgs_answer = "\r\n+CMS ERROR: 330\r\n"  # e.g. a stick that needs AT+CSCA written once
    results = []
    send(driver, "0011", 1, results)
    await run_for(0.2)
    assert (results[0].ok, results[0].error_code, results[0].permanent) == (False, 330, False)
    assert driver.state == ModemState.NO_SMSC and not driver.in_service  # a backup stands in
    assert driver.detail == ("the modem refused to send without an SMS centre (+CMS ERROR: 330; "
                             "it has +447785016005): set `smsc` for this modem")
    send(driver, "0011", 1, results)
    await run_for(0.1)
    assert not results[1].ok and sum(c.startswith("AT+CMGS") for c in modem.commands) == 1


async def test_modem_that_never_answers_at_is_given_up_and_reopened_later():
    modem, _, states = start({"silent_to": {"AT"}}, sync_attempts=2)
    await run_for(2.4)  # two 1 s tries, a 0.05 s pause, then a fresh start
    assert modem.commands[:2] == ["AT", "AT"]
    assert ModemState.FAILED in states
    assert modem.opened >= 2


async def test_error_during_initialisation_fails_and_retries():
    modem, _, states = start({"silent_to": set()})
    modem.answer = lambda command: "\r\nERROR\r\n" if command == "ATE0" else "\r\nOK\r\n"
    await run_for(0.3)
    assert ModemState.FAILED in states
    assert "ATE0 answered ERROR" in modem.details
    assert modem.commands.count("ATE0") >= 2  # started over, from a fresh port
    assert modem.opened >= 2


@pytest.mark.parametrize("state", [ModemState.CLOSED, ModemState.PIN_WRONG])
async def test_send_on_a_modem_that_is_not_ready_fails_at_once_and_never_writes(state):
    modem, driver, _ = start()
    driver.state = state
    results = [await driver.send("0011", 1)]
    assert len(results) == 1 and not results[0].ok
    assert not any(c.startswith("AT+CMGS") for c in modem.commands)


async def test_a_modem_that_stays_away_is_reported_once_not_every_retry(caplog):
    loop = asyncio.get_running_loop()

    def missing(port, baudrate):
        raise FileNotFoundError(2, "No such file or directory", port)

    driver = made(ModemDriver(loop, ModemConfig("GSM", "/dev/gone"), open_transport=missing,
                              timings=Timings(restart_delay=0.01)))
    loop.call_soon(driver.start)
    with caplog.at_level("WARNING"):
        await run_for(0.2)
    warnings = [r for r in caplog.records if "cannot open /dev/gone" in r.getMessage()]
    assert len(warnings) == 1
    assert driver.state == ModemState.FAILED


DELIVER = "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07"
REPORT = "0006D60B911326880736F4111011719551401110117195714000"


def collecting(store_fails=False):
    received, reports = [], []

    def on_sms(pdu):
        if store_fails:
            raise OSError("disk full")
        received.append(pdu)
    def on_report(pdu, smsc, stored):
        reports.append((pdu, smsc, stored))
    return ModemHandlers(on_sms=on_sms, on_report=on_report), received, reports


async def test_messages_waiting_on_the_sim_are_swept_at_start_and_deleted_after_they_are_kept():
    handlers, received, _ = collecting()
    modem, _, _ = start({"slots": {1: DELIVER, 4: DELIVER.replace("F6", "F7")}}, handlers=handlers)
    await run_for(0.3)
    assert received == [DELIVER, DELIVER.replace("F6", "F7")]
    assert modem.slots == {}
    assert modem.commands.index("AT+CMGD=1") > modem.commands.index("AT+CMGL=4")


async def test_cmti_reads_stores_then_deletes_that_slot():
    handlers, received, _ = collecting()
    modem, _, _ = start(handlers=handlers)
    await run_for(0.2)
    modem.slots[7] = DELIVER
    modem.push(b'\r\n+CMTI: "SM",7\r\n')
    await run_for(0.2)
    assert received == [DELIVER]
    assert modem.commands[-2:] == ["AT+CMGR=7", "AT+CMGD=7"]


async def test_a_report_read_from_a_slot_is_handed_over_as_stored_and_its_slot_deleted_after():
    handlers, _, reports = collecting()
    modem, _, _ = start(handlers=handlers)
    await run_for(0.2)
    modem.slots[3] = REPORT
    modem.push(b'\r\n+CDSI: "SR",3\r\n')
    await run_for(0.2)
    assert reports == [(REPORT, True, True)]  # stored: the gateway commits it durably first
    assert modem.commands[-3:] == ['AT+CPMS="SR"', "AT+CMGR=3", "AT+CMGD=3"]


async def test_a_message_that_could_not_be_kept_stays_on_the_sim():
    handlers, _, _ = collecting(store_fails=True)
    modem, _, _ = start({"slots": {2: DELIVER}}, handlers=handlers)
    await run_for(0.3)
    assert modem.slots == {2: DELIVER}
    assert not any(c.startswith("AT+CMGD") for c in modem.commands)


async def test_cmti_for_another_storage_selects_it_first():
    handlers, received, _ = collecting()
    modem, _, _ = start(handlers=handlers)
    await run_for(0.2)
    modem.slots[0] = DELIVER
    modem.push(b'\r\n+CMTI: "ME",0\r\n')
    await run_for(0.2)
    assert modem.commands[-3:] == ['AT+CPMS="ME"', "AT+CMGR=0", "AT+CMGD=0"]
    assert received == [DELIVER]


async def test_a_slot_taken_twice_is_deleted_once_so_an_sms_stored_in_it_meanwhile_is_not_lost():
    """An indication and a sweep both take slot 1. A second AT+CMGD=1 would delete, unread,
    the SMS the network put into the slot the first one freed."""
    handlers, received, _ = collecting()
    modem, driver, _ = start(handlers=handlers)
    await run_for(0.2)
    later = DELIVER.replace("F6", "F7")
    answer, freed = modem.answer, []

    def network_fills_the_freed_slot(command):
        reply = answer(command)
        if command == "AT+CMGD=1" and not freed:
            freed.append(command)
            modem.slots[1] = later
            reply += '\r\n+CMTI: "SM",1\r\n'
        return reply

    modem.answer = network_fills_the_freed_slot
    modem.slots[1] = DELIVER
    modem.push(b'\r\n+CMTI: "SM",1\r\n')
    asyncio.get_running_loop().call_soon(driver.receiver.sweep)  # read and listed both before the delete
    await run_for(0.3)
    assert later in received and modem.slots == {}
    assert set(received) == {DELIVER, later}


async def test_direct_deliveries_and_status_reports_are_handed_over_with_their_smsc_flag_and_no_slot():
    handlers, received, reports = collecting()
    modem, _, _ = start(handlers=handlers)
    await run_for(0.2)
    modem.push(f"\r\n+CDS: 25\r\n{REPORT}\r\n".encode())            # 26 octets: an SMSC part
    modem.push(f"\r\n+CDS: 25\r\n{REPORT[2:]}\r\n".encode())        # 25 octets: none
    modem.push(f"\r\n+CMT: ,33\r\n{DELIVER}\r\n".encode())
    await run_for(0.2)
    assert reports == [(REPORT, True, False), (REPORT[2:], False, False)]  # direct: no slot to delete
    assert received == [DELIVER]


async def test_lost_registration_pauses_sending_and_regaining_it_resumes():
    modem, driver, _ = start()
    await run_for(0.2)
    assert driver.ready
    modem.push(b"\r\n+CREG: 2\r\n")
    await run_for(0.1)
    assert driver.state == ModemState.NOT_REGISTERED and not driver.ready
    results = []
    send(driver, "0011", 1, results)
    await run_for(0.1)
    assert not results[0].ok and not any(c.startswith("AT+CMGS") for c in modem.commands)
    modem.push(b"\r\n+CREG: 1\r\n")
    await run_for(0.1)
    assert driver.state == ModemState.READY and driver.ready


async def test_a_registration_lost_while_the_modem_answers_at_creg_is_not_missed():
    # the notice lands inside the reply, after the answer: it is the newer of the two
    _, driver, _ = start({"creg": 1, "creg_notice_after": 2})
    await run_for(0.3)
    assert driver.state == ModemState.NOT_REGISTERED and driver.detail == "searching"


async def test_a_registration_lost_just_after_the_modem_answered_at_creg_is_not_missed():
    # the notice follows the reply's OK: the answer, read first, is the older of the two
    modem, driver, _ = start({"creg": 1})
    answer = modem.answer

    def lost_after_answering(command):
        reply = answer(command)
        if command == "AT+CREG?":
            modem.creg = 2
            reply += "\r\n+CREG: 2\r\n"
        return reply
    modem.answer = lost_after_answering
    await run_for(0.3)
    assert driver.state == ModemState.NOT_REGISTERED and driver.detail == "searching"


LTE_MODEL = "SIMCOM_SIM7600E-H"


async def test_an_lte_modem_is_asked_about_lte_registration_and_either_domain_will_do():
    modem, driver, _ = start({"model": LTE_MODEL, "creg": 2, "cereg": 1})
    await run_for(0.2)
    assert modem.commands[modem.commands.index("AT+CREG=1") + 1] == "AT+CEREG=1"
    assert "AT+CEREG?" in modem.commands
    assert driver.state == ModemState.READY  # CS searching, but registered on LTE
    assert driver.status()["registration"] == "registered (home)"


async def test_cereg_urcs_pause_and_resume_sending_like_creg_ones():
    modem, driver, _ = start({"model": LTE_MODEL, "creg": 0, "cereg": 1})
    await run_for(0.2)
    assert driver.ready
    modem.push(b"\r\n+CEREG: 2\r\n")
    await run_for(0.1)
    assert driver.state == ModemState.NOT_REGISTERED and driver.detail == "searching"  # on LTE
    modem.push(b"\r\n+CEREG: 5,\"1A2B\",\"01C3D4E5\",7\r\n")
    await run_for(0.1)
    assert driver.state == ModemState.READY and driver.ready


async def test_an_lte_model_that_refuses_cereg_is_judged_by_creg_alone():
    modem, driver, _ = start({"model": LTE_MODEL, "creg": 3}, model="sim7600")
    await run_for(0.3)
    assert "AT+CEREG?" in modem.commands  # answered +CME ERROR: 100
    assert driver.state == ModemState.NOT_REGISTERED and driver.detail == "registration denied"


async def test_unregistered_at_start_is_noticed_by_the_health_check():
    _, driver, _ = start({"creg": 3})
    await run_for(0.3)
    assert driver.state == ModemState.NOT_REGISTERED
    assert driver.detail == "registration denied"


async def test_a_reboot_noticed_from_its_banner_reinitialises_and_the_send_in_flight_is_resent():
    modem, driver, _ = start()
    await run_for(0.2)
    modem.cmgs_answer = ""  # the modem reboots instead of answering the send
    results = []
    send(driver, "0011000B916407281553F80000AA0AE8329BFD4697D9EC37", 23, results)
    await run_for(0.1)
    modem.push(b"\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS Ready\r\n")
    await run_for(0.3)
    assert len(results) == 1 and results[0].unknown_fate
    assert modem.commands.count("ATE0") == 2  # initialised again: its settings were lost
    assert driver.state == ModemState.READY


async def test_a_quiet_reboot_shows_by_echo_and_the_echoed_send_still_completes():
    modem, driver, _ = start()
    await run_for(0.2)
    modem.reboot_quietly()
    results = []
    send(driver, "0011000B916407281553F80000AA0AE8329BFD4697D9EC37", 23, results)
    await run_for(0.3)
    assert [r.ok for r in results] == [True]  # the modem answered it: sent once, not resent
    assert [c for c in modem.commands if c.startswith("AT+CMGS")] == ["AT+CMGS=23"]
    assert modem.commands.count("ATE0") == 2  # then initialised again: its settings were lost
    assert driver.state == ModemState.READY and modem.cnmi == "2,1,0,1,0"


async def test_commands_queued_behind_an_echoed_one_are_cancelled_and_a_send_among_them_resent():
    modem, driver, _ = start()
    await run_for(0.2)
    modem.reboot_quietly()
    results = []
    answer = driver.channel.command("AT+CSQ")  # written at once, echoed ...
    send(driver, "0011", 1, results)            # ... while this one waits behind it
    await run_for(0.3)
    assert answer.result().result == "OK"  # the echoed command keeps its real reply
    assert len(results) == 1 and not results[0].ok and results[0].unknown_fate
    assert not any(c.startswith("AT+CMGS") for c in modem.commands)
    assert modem.commands.count("ATE0") == 2 and driver.state == ModemState.READY


async def test_a_quiet_reboot_with_echo_stored_off_shows_by_cnmi_at_the_health_check():
    modem, driver, _ = start(health_interval=0.1)
    await run_for(0.2)
    assert modem.commands.count("AT+CNMI?") >= 1  # its answer is what was set: no reboot
    assert modem.commands.count("ATE0") == 1
    modem.reboot_quietly(echo=False)
    await run_for(0.3)
    assert modem.commands.count("ATE0") == 2 and modem.commands.count("AT+CNMI=2,1,0,1,0") == 2
    assert driver.state == ModemState.READY and modem.cnmi == "2,1,0,1,0"


async def test_a_modem_that_keeps_echoing_after_ate0_is_not_reinitialised_again_and_again():
    modem, driver, _ = start({"echo": True}, health_interval=0.05)
    await run_for(0.4)
    assert modem.commands.count("ATE0") == 1
    assert driver.state == ModemState.READY


async def test_a_silent_modem_is_power_cycled_through_pwrkey_then_started_again(monkeypatch):
    from appliance.platform import modem_power
    monkeypatch.setattr(modem_power, "OFF_PAUSE", 0.05)
    loop = asyncio.get_running_loop()
    modem = ScriptedModem(loop, silent_to={"AT"})
    pin_times = []
    pin = FakePin(6, on_write=lambda high: pin_times.append(loop.time()))
    driver = made(ModemDriver(loop, ModemConfig("GSM", "/dev/fake"), open_transport=modem.open,
                              power=ModemPower(pin, pressed_high=True),
                              timings=Timings(sync_attempts=1, restart_delay=0.05)))
    driver.dialect = driver.dialect.__class__("test", pwrkey_on_seconds=0.05, pwrkey_off_seconds=0.1,
                                              boot_seconds=0.05)
    loop.call_soon(driver.start)
    await run_for(1.6)  # 1 s of silence, then off 0.1 s, pause 0.05 s, on 0.05 s, boot 0.05 s
    levels = [high for _, high in pin.writes]
    assert levels[:5] == [False, True, False, True, False]  # released, off press, release, on press, release
    assert pin_times[2] - pin_times[1] >= 0.1  # the off press is held for its time, on the loop's clock
    assert modem.opened >= 2  # and it was opened again after the power cycle


async def test_ussd_balance_request_returns_the_networks_answer():
    modem, driver, _ = start()
    await run_for(0.2)
    asking = asyncio.ensure_future(driver.ussd("*100#"))
    await run_for(0.05)
    assert modem.commands[-1] == 'AT+CUSD=1,"*100#",15'
    modem.push(b'\r\n+CUSD: 0,"Balance 12.34 GBP",15\r\n')
    await run_for(0.05)
    assert asking.result() == "Balance 12.34 GBP"


async def test_a_ussd_request_the_network_never_answers_ends_with_the_reason():
    modem, driver, _ = start()
    await run_for(0.2)
    with pytest.raises(UssdError, match="no USSD answer"):
        await driver.ussd("*100#", timeout=5.0)
    assert modem.commands[-1] == 'AT+CUSD=1,"*100#",15'
    with pytest.raises(UssdError, match="USSD failed"):
        asking = asyncio.ensure_future(driver.ussd("*100#"))
        await run_for(0.05)
        modem.push(b'\r\n+CUSD: 4\r\n')
        await asking


async def test_a_modem_left_waiting_for_a_pdu_is_brought_back_with_escape():
    modem, driver, _ = start({"pdu_input": True})  # its last client died after "> "
    await run_for(1.5)
    assert driver.state == ModemState.READY
    assert modem.commands[0] == "AT"  # the first AT went into the PDU; ESC freed the modem


async def test_a_procedure_that_breaks_is_reported_at_once_and_the_modem_starts_over(monkeypatch, caplog):
    from appliance.modem import health
    modem, _, states = start(health_interval=0.5)
    await run_for(0.2)
    monkeypatch.setattr(health, "parse_csq", lambda value: 1 / 0)  # a bug in the health check
    await run_for(0.5)
    assert "ZeroDivisionError" in caplog.text  # with its traceback, at once
    assert modem.details[2] == "internal error: ZeroDivisionError('division by zero')"
    assert states[:5] == [ModemState.INITIALISING, ModemState.READY, ModemState.FAILED,
                          ModemState.INITIALISING, ModemState.READY] and modem.opened >= 2


# -- replies as real modems write them (docs/modems.md §1 and §5) --------------------------

# unsolicited lines the driver has no handler for: a call, network notices, readiness codes
CHATTER = ("RING", "+CRING: VOICE", '+CLIP: "+447700900123",145,,,,0', "+CGREG: 1", "PB DONE",
           "+CPIN: READY", "^BOOT:20952832,0,0,0,75", "^RSSI:18", "+CIEV: 2,3")


@pytest.mark.parametrize("junk", ['"', ' "', "\x00", ",x", "0", "FF"], ids=repr)
async def test_a_pdu_read_with_junk_after_it_is_handed_over_whole_and_then_deleted(junk):
    handlers, received, _ = collecting()
    modem, _, _ = start({"pdu_junk": junk}, handlers=handlers)
    await run_for(0.2)
    modem.slots[1] = DELIVER
    modem.push(b'\r\n+CMTI: "SM",1\r\n')
    await run_for(0.2)
    assert received == [DELIVER]  # hex junk too: the +CMGR header's length cuts it off
    assert modem.slots == {} and modem.commands[-2:] == ["AT+CMGR=1", "AT+CMGD=1"]


@pytest.mark.parametrize("unreadable", ["", '"', "+CMGR: 0,,23"], ids=["nothing", "a quote", "a header"])
async def test_a_slot_whose_pdu_cannot_be_read_is_left_on_the_sim_and_logged(unreadable, caplog):
    handlers, received, _ = collecting()
    modem, driver, _ = start(handlers=handlers)
    await run_for(0.2)
    modem.slots[1] = DELIVER
    answer = modem.answer
    modem.answer = lambda command: (f"\r\n+CMGR: 0,,23\r\n{unreadable}\r\n\r\nOK\r\n"
                                    if command.startswith("AT+CMGR=") else answer(command))
    with caplog.at_level("WARNING"):
        modem.push(b'\r\n+CMTI: "SM",1\r\n')
        await run_for(0.2)
    assert received == [] and modem.slots == {1: DELIVER}
    assert not any(c.startswith("AT+CMGD") for c in modem.commands)
    assert "no PDU could be read from slot SM/1: left on the SIM" in caplog.text
    modem.answer = answer  # read as it should be, the next sweep takes it
    driver.receiver.sweep()
    await run_for(0.2)
    assert received == [DELIVER] and modem.slots == {}


async def test_a_sweep_takes_what_it_can_read_and_leaves_the_rest_on_the_sim():
    handlers, received, _ = collecting()
    other = DELIVER.replace("F6", "F7")
    modem, _, _ = start({"slots": {1: DELIVER, 2: "?", 3: other}, "pdu_junk": '"'}, handlers=handlers)
    await run_for(0.3)
    assert received == [DELIVER, other]
    assert modem.slots == {2: "?"}  # the unreadable one stays
    assert "AT+CMGD=2" not in modem.commands


async def test_unsolicited_lines_inside_every_reply_change_nothing():
    """RING, caller id, network notices and readiness codes before each line of every
    reply: the model, the registration, a sweep, a read and a send are all as without."""
    handlers, received, _ = collecting()
    other = DELIVER.replace("F6", "F7")
    modem, driver, _ = start({"chatter": CHATTER, "pdu_junk": '"', "slots": {1: DELIVER}}, handlers=handlers)
    await run_for(0.3)
    assert driver.state == ModemState.READY
    assert driver.model == "SIMCOM_SIM800L" and driver.dialect.name == "sim800"
    assert driver.status()["registration"] == "registered (home)" and driver.status()["smsc"] == "+447785016005"
    modem.slots[4] = other
    modem.push(b'\r\n+CMTI: "SM",4\r\n')
    await run_for(0.2)
    assert received == [DELIVER, other] and modem.slots == {}
    results = []
    send(driver, "0011000B916407281553F80000AA0AE8329BFD4697D9EC37", 23, results)
    await run_for(0.2)
    assert results[0].ok and results[0].reference == 42


@pytest.mark.parametrize("answer", ["+CGMM: EC25", '+CGMM: "EC25"', "EC25"])
async def test_the_model_is_read_from_the_line_that_names_it(answer):
    _, driver, _ = start({"chatter": ("PB DONE", "+CPIN: READY"), "model": answer})
    await run_for(0.3)
    assert driver.model == "EC25" and driver.dialect.name == "ec25"


@pytest.mark.parametrize("reply, stat", [
    ('2,6,"7D08","04E23C04",7', "registered for SMS only (home)"),   # a Fibocom L850
    ("1,7", "registered for SMS only (roaming)"),
])
async def test_a_modem_registered_for_sms_only_sends(reply, stat):
    modem, driver, _ = start()
    answer = modem.answer
    modem.answer = lambda command: (f"\r\n+CREG: {reply}\r\n\r\nOK\r\n" if command == "AT+CREG?"
                                    else answer(command))
    await run_for(0.3)
    assert driver.state == ModemState.READY and driver.status()["registration"] == stat
    results = []
    send(driver, "0011", 1, results)
    await run_for(0.2)
    assert results[0].ok


async def test_sms_only_registration_notices_resume_sending_on_both_domains():
    modem, driver, _ = start({"model": LTE_MODEL, "creg": 0, "cereg": 1})
    await run_for(0.2)
    modem.push(b"\r\n+CEREG: 2\r\n")
    await run_for(0.1)
    assert driver.state == ModemState.NOT_REGISTERED
    modem.push(b'\r\n+CEREG: 7,"7D08","04E23C04",7\r\n')
    await run_for(0.1)
    assert driver.state == ModemState.READY
    modem.push(b"\r\n+CEREG: 2\r\n")
    await run_for(0.1)
    modem.push(b"\r\n+CREG: 6\r\n")
    await run_for(0.1)
    assert driver.state == ModemState.READY


async def test_a_ussd_answer_that_comes_before_the_ok_is_not_lost():
    modem, driver, _ = start()
    await run_for(0.2)
    answer = modem.answer
    modem.answer = lambda command: ('\r\n+CUSD: 0,"Balance 12.34 GBP",15\r\n\r\nOK\r\n'
                                    if command.startswith("AT+CUSD=") else answer(command))
    assert await driver.ussd("*100#", timeout=5.0) == "Balance 12.34 GBP"
