"""The AT channel against scripted modem bytes: framing, echo, prompt, URCs, timeouts.

On the loop's virtual time (looptime): a timeout of seconds passes at once."""

import asyncio
import socket

import pytest

from appliance.modem.at import ATChannel, Response
from appliance.modem.transport import FdTransport

pytestmark = pytest.mark.looptime


class Harness:
    """A channel on one end of a socket pair; the test plays the modem on the other."""

    def __init__(self):
        self.loop = asyncio.get_running_loop()
        self.modem, ours = socket.socketpair()
        self._ours = ours
        self.closed_reasons = []
        self.unsolicited = []
        self.channel = ATChannel(self.loop, FdTransport(ours.fileno(), owner=ours), name="test",
                                 on_close=self.closed_reasons.append,
                                 on_unsolicited=lambda line, _: self.unsolicited.append(line))
        self.responses: list[Response] = []

    def command(self, text, **kwargs):
        """Queue ``text``; its Response joins ``responses`` when it ends (in that order)."""
        answer = self.channel.command(text, **kwargs)
        answer.add_done_callback(lambda done: self.responses.append(done.result()))
        return answer

    async def turn(self, seconds=0.02):
        """Let the loop run for a little while."""
        await asyncio.sleep(seconds)

    def written(self) -> bytes:
        self.modem.setblocking(False)
        try:
            return self.modem.recv(65536)
        except BlockingIOError:
            return b""

    async def reply(self, data: bytes, chunk: int | None = None):
        if chunk is None:
            self.modem.sendall(data)
            await self.turn()
            return
        for i in range(0, len(data), chunk):
            self.modem.sendall(data[i:i + chunk])
            await self.turn(0.002)

    def close(self):
        self.channel.close()
        self.modem.close()


@pytest.fixture
async def h():
    harness = Harness()
    yield harness
    harness.close()


async def test_command_is_written_with_cr_and_ok_completes_it(h):
    h.command("AT")
    await h.turn()
    assert h.written() == b"AT\r"
    await h.reply(b"\r\nOK\r\n")
    assert [r.result for r in h.responses] == ["OK"]
    assert h.responses[0].ok


@pytest.mark.parametrize("chunk", [None, 1, 3, 7])
async def test_echo_is_dropped_and_info_lines_collected_whatever_the_fragmentation(h, chunk):
    h.command("AT+CPMS?")
    await h.turn()
    await h.reply(b"AT+CPMS?\r\r\n+CPMS: \"SM\",0,20,\"SM\",0,20\r\n\r\nOK\r\n", chunk)
    (response,) = h.responses
    assert response.lines == ['+CPMS: "SM",0,20,"SM",0,20']
    assert response.info("+CPMS") == '"SM",0,20,"SM",0,20'


async def test_an_echoed_command_line_is_reported_and_its_reply_still_completes_it(h):
    echoed = []
    h.channel.on_echo = echoed.append
    h.command("AT+CMGS=23", body="0011")
    await h.turn()
    await h.reply(b"AT+CMGS=23\r\r\n> 0011\x1a\r\n+CMGS: 7\r\n\r\nOK\r\n", chunk=3)
    assert echoed == ["AT+CMGS=23"]  # the command line, not the echoed PDU
    (response,) = h.responses
    assert response.ok and response.lines == ["+CMGS: 7"]


async def test_cancelling_the_queue_leaves_the_command_in_progress_to_its_reply(h):
    first = h.command("AT+CSQ")
    second = h.command("AT+CREG?")
    await h.turn()
    h.channel.cancel_queued()
    assert second.result().result == "CANCELLED" and not first.done()
    await h.reply(b"\r\n+CSQ: 21,0\r\n\r\nOK\r\n")
    assert [(r.command, r.result) for r in h.responses][1:] == [("AT+CSQ", "OK")]
    assert h.responses[1].lines == ["+CSQ: 21,0"]
    assert h.written() == b"AT+CSQ\r"  # the cancelled one was never written


async def test_commands_are_sent_one_at_a_time_in_order(h):
    h.command("ATE0")
    h.command("AT+CMEE=1")
    await h.turn()
    assert h.written() == b"ATE0\r"  # the second waits for the first's final result
    await h.reply(b"\r\nOK\r\n")
    assert h.written() == b"AT+CMEE=1\r"
    await h.reply(b"\r\nOK\r\n")
    assert [r.command for r in h.responses] == ["ATE0", "AT+CMEE=1"]


@pytest.mark.parametrize("final, cms, cme", [
    ("ERROR", None, None),
    ("+CMS ERROR: 38", 38, None),
    ("+CME ERROR: 14", None, 14),
    ("+CME ERROR: SIM busy ", None, None),
])
async def test_error_finals_end_the_command_with_their_codes(h, final, cms, cme):
    h.command("AT+CSCA?")
    await h.turn()
    await h.reply(b"\r\n" + final.encode() + b"\r\n")
    (response,) = h.responses
    assert not response.ok
    assert response.cms_error == cms
    assert response.cme_error == cme


async def test_pdu_is_written_only_after_the_prompt_and_echo_is_ignored(h):
    pdu = "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"
    h.command("AT+CMGS=23", body=pdu)
    await h.turn()
    assert h.written() == b"AT+CMGS=23\r"
    await h.reply(b"AT+CMGS=23\r\r\n> ", chunk=2)
    assert h.written() == pdu.encode() + b"\x1a"
    await h.reply(pdu.encode() + b"\x1a\r\n+CMGS: 125\r\n\r\nOK\r\n")
    (response,) = h.responses
    assert response.ok and response.lines == ["+CMGS: 125"]


async def test_an_error_instead_of_the_prompt_never_writes_the_pdu(h):
    h.command("AT+CMGS=23", body="00")
    await h.turn()
    h.written()
    await h.reply(b"\r\n+CMS ERROR: 302\r\n")
    assert h.written() == b""
    assert h.responses[0].cms_error == 302


async def test_urcs_anywhere_go_to_their_handler_and_never_into_a_reply(h):
    seen = []
    h.channel.on_urc("+CMTI:", lambda line, extra: seen.append(line))
    h.command("AT+CSQ")
    await h.turn()
    await h.reply(b'\r\n+CMTI: "SM",3\r\n\r\n+CSQ: 21,0\r\n\r\n+CMTI: "SM",4\r\n\r\nOK\r\n\r\n+CMTI: "SM",5\r\n')
    assert h.responses[0].lines == ["+CSQ: 21,0"]
    assert seen == ['+CMTI: "SM",3', '+CMTI: "SM",4', '+CMTI: "SM",5']


async def test_two_line_urc_takes_the_next_line_as_its_pdu(h):
    seen = []
    h.channel.on_urc("+CMT:", lambda line, pdu: seen.append((line, pdu)), lines=2)
    await h.reply(b'\r\n+CMT: ,24\r\n07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07\r\n')
    assert seen == [("+CMT: ,24", "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07")]


async def test_unsolicited_lines_between_a_two_line_urc_and_its_pdu_leave_the_pdu_to_it(h):
    seen = []
    h.channel.on_urc("+CMT:", lambda line, pdu: seen.append((line, pdu)), lines=2)
    h.channel.on_urc("+CDS:", lambda line, pdu: seen.append((line, pdu)), lines=2)
    await h.reply(b'\r\n+CMT: ,24\r\nRING\r\n+CLIP: "+447700900123",145\r\n0791132604\r\n'
                  b'\r\n+CDS: 25\r\n\r\n+CMT: ,24\r\n0791447758\r\n', chunk=1)
    assert seen == [("+CMT: ,24", "0791132604"), ("+CDS: 25", None), ("+CMT: ,24", "0791447758")]
    assert h.unsolicited == ["RING", '+CLIP: "+447700900123",145']


async def test_a_urc_prefix_is_an_answer_when_the_pending_command_asked_for_it(h):
    urcs = []
    h.channel.on_urc("+CREG:", lambda line, _: urcs.append(line))
    h.command("AT+CREG?")
    await h.turn()
    await h.reply(b"\r\n+CREG: 0,1\r\n\r\nOK\r\n\r\n+CREG: 5\r\n")
    assert h.responses[0].lines == ["+CREG: 0,1"]
    assert urcs == ["+CREG: 5"]


@pytest.mark.parametrize("setting, urc", [
    ("AT+CREG=1", b"+CREG: 6"),
    ('AT+CUSD=1,"*100#",15', b'+CUSD: 0,"Balance 12.34",15'),  # some phones answer before the OK
])
async def test_a_urc_inside_the_reply_of_a_setting_goes_to_its_handler(h, setting, urc):
    """A setting is answered OK alone: a line with its URC's prefix inside that reply is news."""
    urcs = []
    for prefix in ("+CREG:", "+CUSD:"):
        h.channel.on_urc(prefix, lambda line, _: urcs.append(line))
    h.command(setting)
    await h.turn()
    await h.reply(b"\r\n" + urc + b"\r\n\r\nOK\r\n", chunk=1)
    assert h.responses[0].ok and h.responses[0].lines == []
    assert urcs == [urc.decode()]


async def test_unsolicited_lines_without_a_handler_stay_in_the_reply_whatever_the_fragmentation(h):
    """Lines nobody registered are kept in the reply, in order, for the reply's reader to
    pick its own by their shape (modem/replies.py); registered ones still go to theirs."""
    seen = []
    h.channel.on_urc("+CMTI:", lambda line, _: seen.append(line))
    h.command("AT+CMGR=1")
    await h.turn()
    await h.reply(b'\r\nRING\r\n\r\n+CMGR: 0,,23\r\n+CMTI: "SM",2\r\n+CLIP: "+44770",145\r\n'
                  b'0791447758100650040C914477\"\r\n\r\nOK\r\n', chunk=1)
    assert h.responses[0].lines == ["RING", "+CMGR: 0,,23", '+CLIP: "+44770",145', '0791447758100650040C914477"']
    assert seen == ['+CMTI: "SM",2']


async def test_lines_with_no_command_pending_are_reported_as_unsolicited(h):
    await h.reply(b"\r\nRDY\r\n\r\n+CME ERROR: 100\r\n")
    assert h.unsolicited == ["RDY", "+CME ERROR: 100"]


async def test_no_answer_times_out_and_the_next_command_goes_out(h):
    h.command("AT", timeout=0.05)
    h.command("ATI")
    await h.turn(0.1)
    assert h.responses[0].result == "TIMEOUT"
    assert h.written() == b"AT\rATI\r"


async def test_timeout_while_in_pdu_input_aborts_it_with_escape(h):
    h.command("AT+CMGS=1", body="0000", timeout=0.05)
    await h.turn()
    await h.reply(b"\r\n> ")
    await h.turn(0.1)
    assert h.responses[0].result == "TIMEOUT"
    assert h.written().endswith(b"\x1b")


async def test_after_escape_the_next_command_waits_so_the_aborts_own_ok_is_not_its_answer(h):
    """ESC leaves PDU input, and a modem that was in it answers the abort with OK. Written
    at once, the next command would take that OK for its answer, and every later reply
    would come one command late."""
    h.channel.leave_pdu_input()
    h.command("AT")
    h.command("AT+CPIN?")
    await h.reply(b"\r\nOK\r\n")  # the abort's own result
    assert h.written() == b"\x1b" and h.responses == [] and h.unsolicited == ["OK"]
    await h.turn(0.4)
    assert h.written() == b"AT\r"
    await h.reply(b"\r\nOK\r\n")
    assert h.written() == b"AT+CPIN?\r"
    await h.reply(b"\r\n+CPIN: READY\r\n\r\nOK\r\n")
    assert [(r.result, r.lines) for r in h.responses] == [("OK", []), ("OK", ["+CPIN: READY"])]


async def test_a_command_whose_caller_gave_up_before_it_was_written_is_never_written(h):
    h.command("AT+CSQ")
    dropped = h.command("AT+CREG?")
    await h.turn()
    dropped.cancel()  # its caller was cancelled: the modem restarted, say
    await h.reply(b"\r\n+CSQ: 21,0\r\n\r\nOK\r\n")
    h.command("ATI")
    await h.turn()
    assert h.written() == b"AT+CSQ\rATI\r"
    assert [r.command for r in h.responses] == ["AT+CSQ"]


async def test_silence_is_told_before_the_next_command_is_written(h):
    told = []
    h.command("AT", timeout=0.05, on_silence=lambda: told.append(h.written()))
    h.command("ATI")
    await h.turn(0.1)
    assert told == [b"AT\r"]  # while only the silent command was out: its owner may close the port
    assert h.written() == b"ATI\r"


async def test_port_closing_fails_pending_commands_and_reports_the_close(h):
    h.command("AT")
    h.command("ATI")
    await h.turn()
    h.modem.close()
    await h.turn()
    assert [r.result for r in h.responses] == ["CLOSED", "CLOSED"]
    assert len(h.closed_reasons) == 1
    h.command("AT")  # a closed channel answers at once, never hangs
    await h.turn()
    assert h.responses[-1].result == "CLOSED"
    h.modem = socket.socket()  # so that close() in the fixture has something to close


async def test_command_queued_while_closed_never_writes(h):
    h.channel.close()
    h.command("AT")
    await h.turn()
    assert h.responses[0].result == "CLOSED"
    assert h.written() == b""
