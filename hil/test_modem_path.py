"""Hardware-in-loop: driver, modem gateway and router against the simulated modem.

The modem is a real pty speaking AT; the event loop runs in a thread of its own, the test
(like the service's HTTP threads) hands it work with ``call_soon_threadsafe``.
"""

from collections.abc import Iterable

import pytest

from appliance import pdu
from appliance.app.service import build_routing
from appliance.config.file import ConnectorConfig, GatewayUse, ModemConfig
from appliance.gateways.modem import ModemGateway
from appliance.gateways.router import Router
from appliance.modem.driver import ModemDriver, ModemState, Timings
from appliance.modem.transport import open_serial
from appliance.store import db as store_db
from appliance.store.inbox import Inbox
from appliance.store.models import MessagePart, MessageState, OutboundMessage
from appliance.store.queue import NewMessage, Queue
from appliance.store.reports import Reports
from hil.driver_session import Tap
from hil.loop_thread import LoopThread
from hil.simulator import SentPDU, SimulatedModem
from hil.waiting import wait_for


def sorted_texts(sent: Iterable[SentPDU]) -> list[str | None]:
    """The texts of the PDUs a modem was given, in sorted order, where the order is not the
    point. A PDU without a text (None) sorts as "None" and so fails the comparison with the
    expected texts rather than the sort."""
    return sorted((pdu.decode(s.pdu).text for s in sent), key=str)


class Rig:
    """A store, a loop on a thread, and one modem gateway per simulator; ``timings`` are
    the drivers' (:class:`~appliance.modem.driver.Timings` fields)."""

    def __init__(self, tmp_path, simulators, connectors=(), *, model="auto", pin=None, **timings):
        self.database = store_db.open_database(tmp_path)
        self.queue = Queue(self.database)
        self.inbox = Inbox(self.database)
        self.reports = Reports(self.queue)
        self.received: list[str] = []  # the ids of the messages the gateways stored
        self.written = []  # every byte each driver wrote, on any port it opened
        self.loop_thread = LoopThread("rig")
        self.loop = self.loop_thread.loop
        self.states: list[str] = []
        self.gateways = []
        for n, simulator in enumerate(simulators, start=1):
            self.written.append(bytearray())
            driver = ModemDriver(self.loop, ModemConfig(f"GSM{n}", simulator.path, model=model, pin=pin),
                                 on_state=self._on_state,
                                 open_transport=self._tapped(self.written[-1]), timings=Timings(**timings))
            self.gateways.append(ModemGateway(driver, inbox=self.inbox, reports=self.reports,
                                              on_received=self.received.extend))
        self.routing = build_routing(connectors, tuple(g.name for g in self.gateways))
        self.router = Router(self.loop, self.queue, self.gateways, self.routing, retry_delays=(0.2, 0.2, 0.2))

    @staticmethod
    def _tapped(written):
        """Opens the port, keeping a copy of what is written to it in ``written``."""
        return lambda path, baudrate: Tap(open_serial(path, baudrate), bytearray(), written)

    def _on_state(self, state: str) -> None:
        self.states.append(state)
        self.router.kick()

    def start(self):
        for gateway in self.gateways:
            self.loop.call_soon(gateway.start)
        self.loop_thread.start()
        return self

    def send(self, *messages):
        ids = self.queue.accept(list(messages))
        self.router.kick_threadsafe()
        return ids

    def state(self, message_id):
        return OutboundMessage.get_by_id(message_id).state

    def stop(self):
        for gateway in self.gateways:
            self.loop.call_soon_threadsafe(gateway.stop)
        self.loop_thread.stop()
        self.database.close()


def working(rig, simulators):
    """Wait until a first message went out through ``simulators``: the start-up commands
    (the SIM sweep among them, with its long timeout) are answered and the modem is idle, so
    a fault injected next hits the command the test means."""
    (message_id,) = rig.send(NewMessage("+440", "it works"))
    wait_for(lambda: rig.state(message_id) == MessageState.SENT, what="a first message sent")
    assert sum(len(s.sent) for s in simulators) == 1


@pytest.fixture
def modem():
    with SimulatedModem() as simulator:
        yield simulator


def test_driver_initialises_the_modem_as_a_real_one_needs(tmp_path, modem):
    rig = Rig(tmp_path, [modem]).start()
    try:
        wait_for(lambda: rig.gateways[0].driver.state == ModemState.READY, what="ready")
        commands = modem.commands
        assert commands[:3] == ["AT", "ATE0", "AT+CMEE=1"]
        assert "AT+CPIN?" in commands and "AT+CMGF=0" in commands
        assert rig.gateways[0].driver.model  # read from AT+CGMM
    finally:
        rig.stop()


def test_a_message_sent_costs_few_pages_of_the_write_ahead_log(tmp_path, modem):
    """The SD card wears by pages written: accept, claim with stored parts, and the
    reference with the outcome are three commits, none of them rewriting an index on the
    message's state or an event (20 pages a message before, 11 now)."""
    rig = Rig(tmp_path, [modem]).start()
    try:
        working(rig, [modem])  # the store's first pages written
        wal = tmp_path / (store_db.DATABASE_FILE + "-wal")
        page = rig.database.execute_sql("PRAGMA page_size").fetchone()[0]
        before = wal.stat().st_size
        (message_id,) = rig.send(NewMessage("+447700900123", "Server down: db1"))
        wait_for(lambda: rig.state(message_id) == MessageState.SENT, what="sent")
        assert (wal.stat().st_size - before) // (page + 24) <= 11
    finally:
        rig.stop()


def test_a_queued_message_reaches_the_network_and_ends_sent(tmp_path, modem):
    rig = Rig(tmp_path, [modem]).start()
    try:
        (message_id,) = rig.send(NewMessage("+447700900123", "Server down: db1"))
        (sent,) = modem.wait_sent(1)
        decoded = pdu.decode(sent.pdu)
        assert (decoded.number, decoded.text) == ("+447700900123", "Server down: db1")
        wait_for(lambda: rig.state(message_id) == MessageState.SENT, what="sent")
        (part,) = MessagePart.select().where(MessagePart.message == message_id)
        assert (part.state, part.reference, part.gateway) == ("sent", sent.reference, "GSM1")
    finally:
        rig.stop()


def test_a_report_right_behind_the_send_answer_finds_its_message(tmp_path):
    # the network reports at once: +CDS comes in the same read as the +CMGS answer, before
    # the send's coroutine has stored the reference the report is matched by
    with SimulatedModem(report_delay=0.0) as modem:
        rig = Rig(tmp_path, [modem]).start()
        try:
            ids = rig.send(*[NewMessage("+447700900123", f"reported at once {n}") for n in range(5)])
            wait_for(lambda: all(rig.state(i) == MessageState.DELIVERED for i in ids), what="all delivered")
        finally:
            rig.stop()


def test_a_long_message_goes_out_as_joined_parts_in_order(tmp_path, modem):
    rig = Rig(tmp_path, [modem]).start()
    text = "Ünïcödé " * 30  # 240 characters, UCS2: 4 parts of at most 67
    try:
        (message_id,) = rig.send(NewMessage("+441", text))
        sent = modem.wait_sent(4)
        decoded = [pdu.decode(s.pdu) for s in sent]
        assert [d.concat.sequence if d.concat else None for d in decoded] == [1, 2, 3, 4]
        assert len({d.concat.reference if d.concat else None for d in decoded}) == 1
        assert "".join(d.text or "" for d in decoded) == text
        wait_for(lambda: rig.state(message_id) == MessageState.SENT, what="sent")
    finally:
        rig.stop()


def test_transient_network_error_is_retried_and_then_sent(tmp_path, modem):
    modem.fail_next_send(42)  # congestion
    rig = Rig(tmp_path, [modem]).start()
    try:
        (message_id,) = rig.send(NewMessage("+441", "retry me"))
        wait_for(lambda: rig.state(message_id) == MessageState.SENT, what="sent after a retry")
        assert len(modem.sent) == 1
        assert OutboundMessage.get_by_id(message_id).attempts == 2
    finally:
        rig.stop()


@pytest.mark.parametrize("code, reason", [(28, "unidentified subscriber"), (196, "destination SME barred")])
def test_permanent_network_error_fails_the_message_with_its_reason(tmp_path, modem, code, reason):
    modem.fail_next_send(code)
    rig = Rig(tmp_path, [modem]).start()
    try:
        (message_id,) = rig.send(NewMessage("+441", "to nobody"))
        wait_for(lambda: rig.state(message_id) == MessageState.FAILED, what="failed")
        message = OutboundMessage.get_by_id(message_id)
        assert (message.error_code, message.error_text) == (code, reason)
        assert modem.sent == []
    finally:
        rig.stop()


def test_a_silent_modem_is_detected_the_part_is_sent_again_and_nothing_is_lost(tmp_path, modem):
    # short enough to notice the silence soon, long enough that a busy machine's late answer
    # is not taken for it (that would send the part twice)
    rig = Rig(tmp_path, [modem], send_timeout=1.0, command_timeout=1.0, restart_delay=0.2).start()
    try:
        working(rig, [modem])
        modem.set_silent(True)
        (message_id,) = rig.send(NewMessage("+441", "through the silence"))
        wait_for(lambda: rig.gateways[0].driver.state != ModemState.READY, what="silence noticed")
        modem.set_silent(False)
        wait_for(lambda: rig.state(message_id) == MessageState.SENT, what="sent after recovery")
        assert [pdu.decode(s.pdu).text for s in modem.sent] == ["it works", "through the silence"]
    finally:
        rig.stop()


def test_two_modems_share_the_queue_and_no_message_goes_out_twice(tmp_path):
    with SimulatedModem(send_latency=0.02) as first, SimulatedModem(send_latency=0.02) as second:
        rig = Rig(tmp_path, [first, second]).start()
        try:
            # both ready first: on a busy machine one could otherwise send all 40 alone
            wait_for(lambda: all(g.driver.state == ModemState.READY for g in rig.gateways), what="both ready")
            ids = rig.send(*[NewMessage(f"+44{n:04d}", f"message {n}") for n in range(40)])
            wait_for(lambda: all(rig.state(i) == MessageState.SENT for i in ids), what="all sent")
            assert sorted_texts(first.sent + second.sent) == sorted(f"message {n}" for n in range(40))
            assert first.sent and second.sent  # both modems did work
        finally:
            rig.stop()


def test_gateway_parameter_pins_a_message_to_one_modem(tmp_path):
    with SimulatedModem() as first, SimulatedModem() as second:
        rig = Rig(tmp_path, [first, second]).start()
        try:
            ids = rig.send(*[NewMessage(f"+44{n}", "pinned", gateways="GSM2") for n in range(5)])
            wait_for(lambda: all(rig.state(i) == MessageState.SENT for i in ids), what="all sent")
            assert len(second.sent) == 5 and first.sent == []
            assert {OutboundMessage.get_by_id(i).gateway for i in ids} == {"GSM2"}
        finally:
            rig.stop()


def test_a_port_that_does_not_exist_yet_is_retried_until_it_appears(tmp_path):
    link = tmp_path / "modem"
    rig = Rig(tmp_path, [type("Missing", (), {"path": str(link)})()], restart_delay=0.1).start()
    try:
        (message_id,) = rig.send(NewMessage("+441", "waiting for the modem"))
        wait_for(lambda: rig.gateways[0].driver.state == ModemState.FAILED, what="open failure")
        assert rig.state(message_id) == MessageState.QUEUED
        with SimulatedModem(link=link) as late:
            wait_for(lambda: rig.state(message_id) == MessageState.SENT, what="sent once the port exists")
            assert len(late.sent) == 1
    finally:
        rig.stop()


FAILOVER = (ConnectorConfig("HTTP API", max_send_attempts=2,
                            gateways=(GatewayUse("GSM1", "send-receive", "primary"),
                                      GatewayUse("GSM2", "send-receive", "backup"))),)


def test_failover_to_the_backup_after_the_primarys_attempts_and_status_names_it(tmp_path):
    with SimulatedModem() as primary, SimulatedModem() as backup:
        primary.fail_next_send(255)
        primary.fail_next_send(255)  # a cause of no known meaning, twice: the primary's two attempts
        rig = Rig(tmp_path, [primary, backup], connectors=FAILOVER).start()
        try:
            (message_id,) = rig.send(NewMessage("+441", "through the backup"))
            wait_for(lambda: rig.state(message_id) == MessageState.SENT, what="sent by the backup")
            message = OutboundMessage.get_by_id(message_id)
            assert message.gateway == "GSM2" and message.tried == "GSM1:2;GSM2:1"
            assert primary.sent == [] and len(backup.sent) == 1
        finally:
            rig.stop()


def test_a_primary_whose_sim_is_barred_hands_the_message_to_the_backup_without_retrying(tmp_path):
    with SimulatedModem() as primary, SimulatedModem() as backup:
        primary.fail_next_send(8)  # operator determined barring: this SIM may not send
        rig = Rig(tmp_path, [primary, backup], connectors=FAILOVER).start()
        try:
            (message_id,) = rig.send(NewMessage("+441", "not through a barred SIM"))
            wait_for(lambda: rig.state(message_id) == MessageState.SENT, what="sent by the backup")
            message = OutboundMessage.get_by_id(message_id)
            assert message.gateway == "GSM2" and message.attempts == 2
            assert primary.sent == [] and len(backup.sent) == 1
        finally:
            rig.stop()


def test_a_silent_primary_fails_over_to_the_backup(tmp_path):
    with SimulatedModem() as primary, SimulatedModem() as backup:
        rig = Rig(tmp_path, [primary, backup], connectors=FAILOVER, send_timeout=1.0, command_timeout=1.0,
                  restart_delay=0.1).start()
        try:
            working(rig, [primary])
            primary.set_silent(True)
            (message_id,) = rig.send(NewMessage("+441", "primary is mute"))
            wait_for(lambda: rig.state(message_id) == MessageState.SENT, timeout=20, what="sent by the backup")
            assert OutboundMessage.get_by_id(message_id).gateway == "GSM2"
            assert [pdu.decode(s.pdu).text for s in backup.sent] == ["primary is mute"]
        finally:
            rig.stop()


def test_backup_is_not_used_while_the_primary_works(tmp_path):
    with SimulatedModem() as primary, SimulatedModem() as backup:
        rig = Rig(tmp_path, [primary, backup], connectors=FAILOVER).start()
        try:
            ids = rig.send(*[NewMessage(f"+44{n}", "x") for n in range(10)])
            wait_for(lambda: all(rig.state(i) == MessageState.SENT for i in ids), what="all sent")
            assert len(primary.sent) == 10 and backup.sent == []
        finally:
            rig.stop()
