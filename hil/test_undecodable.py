"""Hardware-in-loop: what no decoder can read, and reports that name no part of ours, are
kept in the store, and a SIM slot is deleted only once what it held is committed.

The PDUs here are broken beyond any repair (cut inside a field a message cannot do
without, a reserved first octet, half an octet), so a more lenient decoder reads them no
better; each must come out as a received message that says it could not be decoded."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import peewee
import pytest

from appliance.modem.transport import open_serial
from appliance.store import db as store_db
from appliance.store.models import InboundMessage, MessagePart, MessageState, UnmatchedReport
from appliance.store.queue import NewMessage
from hil.driver_session import Tap
from hil.simulator import SimulatedModem

from .test_modem_faults import ready
from .test_modem_path import Rig, wait_for

BROKEN = {
    # the SMSC part, then the sender's address announced and cut off before its digits
    "truncated header": "0791447758100650040C91",
    # a reserved DCS (compressed, reserved alphabet), and the time stamp cut after 4 octets
    "bad DCS": "00040C91447700902132002C42101161",
    # a reserved message type, and nothing after it
    "garbage hex": "00FFEE",
    # half an octet at the end, inside the sender's address
    "odd length": "0791447758100650040C9144770",
}


class CommittedWhenDeleted:
    """Taps the driver's port: at every ``AT+CMGD`` it writes, notes which PDUs a separate
    connection (one that sees only what is committed) finds in the store, and which PDU
    the slot being deleted holds."""

    def __init__(self, data_dir: Path, modem: SimulatedModem, storage: str) -> None:
        self.path = data_dir / store_db.DATABASE_FILE
        self.modem = modem
        self.storage = storage
        self.deletes: list[tuple[str, set[str]]] = []  # (the slot's PDU, the PDUs committed)

    def opener(self, written: bytearray):
        def open_transport(path: str, baudrate: int) -> Tap:
            tap = Tap(open_serial(path, baudrate), bytearray(), written)
            write = tap.write

            def watched(data: bytes) -> int:
                if data.startswith(b"AT+CMGD="):
                    self._note(int(data[len(b"AT+CMGD="):].split(b",")[0].strip()))
                return write(data)

            tap.write = watched  # type: ignore[method-assign]
            return tap
        return open_transport

    def _note(self, index: int) -> None:
        held = {i: pdu_hex for i, _, pdu_hex in self.modem.messages(self.storage)}
        with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True) as connection:
            committed = {row[0] for row in connection.execute("SELECT pdu FROM inbound_message")}
        connection.close()
        self.deletes.append((held.get(index, ""), committed))


def undecodable(rig: Rig) -> dict[str, InboundMessage]:
    """The undecodable messages the gateway stored, by their PDU."""
    messages = (InboundMessage.get_by_id(i) for i in rig.received)
    return {m.pdu: m for m in messages if m.decode_error}


@pytest.fixture
def modem():
    with SimulatedModem() as simulator:
        yield simulator


def test_every_broken_pdu_is_stored_raw_and_its_slot_deleted_only_after_the_commit(tmp_path, modem,
                                                                                 monkeypatch):
    watch = CommittedWhenDeleted(tmp_path, modem, "SM")
    monkeypatch.setattr(Rig, "_tapped", staticmethod(watch.opener))
    rig = Rig(tmp_path, [modem]).start()
    try:
        ready(rig)
        assert rig.gateways[0].driver.dialect.storage == "SM"
        for pdu_hex in BROKEN.values():
            modem.deliver_pdu(pdu_hex, len(pdu_hex) // 2 if len(pdu_hex) % 2 else None)
        wanted = {pdu_hex.upper() for pdu_hex in BROKEN.values()}
        wait_for(lambda: set(undecodable(rig)) == wanted, what="every broken PDU stored")
        wait_for(lambda: modem.messages("SM") == [], what="every slot deleted")
        for pdu_hex, message in undecodable(rig).items():
            assert message.text == f"[undecodable SMS: {message.decode_error}] {pdu_hex}"
            assert message.gateway == "GSM1" and message.received_at > 0
        deleted = {held: committed for held, committed in watch.deletes if held}
        assert set(deleted) == wanted  # each slot's delete was seen ...
        assert all(held in committed for held, committed in deleted.items())  # ... after its commit
    finally:
        rig.stop()


def test_a_slot_stays_while_the_store_refuses_and_is_taken_once_it_accepts(tmp_path, modem):
    rig = Rig(tmp_path, [modem], sweep_interval=0.3).start()
    refused: list[Exception] = []
    store = rig.inbox.store

    def counted(gateway: str, pdu_hex: str) -> list[str]:
        try:
            return store(gateway, pdu_hex)
        except peewee.DatabaseError as error:
            refused.append(error)
            raise

    rig.inbox.store = counted

    async def on_the_loop(sql: str) -> None:  # the loop's own connection: the one that stores
        rig.database.execute_sql(sql)

    try:
        ready(rig)
        # the store refuses every write (an SD card remounted read-only after errors, say)
        rig.loop_thread.run(on_the_loop("PRAGMA query_only = 1"))
        modem.deliver_pdu(BROKEN["garbage hex"])
        wait_for(lambda: len(refused) >= 2, what="the store refusing the read and a sweep")
        assert [pdu_hex for _, _, pdu_hex in modem.messages("SM")] == [BROKEN["garbage hex"]]
        assert InboundMessage.select().count() == 0
        rig.loop_thread.run(on_the_loop("PRAGMA query_only = 0"))
        wait_for(lambda: undecodable(rig), what="the PDU stored once the store accepts")
        wait_for(lambda: modem.messages("SM") == [], what="its slot deleted")
        assert list(undecodable(rig)) == [BROKEN["garbage hex"]]
    finally:
        rig.stop()


def test_a_delivery_report_for_no_part_of_ours_is_kept_with_what_it_says(tmp_path):
    with SimulatedModem(report_delay=1.0) as modem:
        rig = Rig(tmp_path, [modem]).start()
        try:
            (message_id,) = rig.send(NewMessage("+447700900123", "whose report?"))
            wait_for(lambda: rig.state(message_id) == MessageState.SENT, what="sent")
            part = MessagePart.get(MessagePart.message == message_id)
            assert part.reference is not None
            # as if the store were restored from a backup older than the send
            MessagePart.update(reference=(part.reference + 1) % 256).where(MessagePart.id == part.id).execute()
            wait_for(lambda: UnmatchedReport.select().exists(), what="the report kept")
            (kept,) = UnmatchedReport.select()
            assert (kept.gateway, kept.reference, kept.recipient, kept.status, kept.decode_error) == (
                "GSM1", part.reference, "+447700900123", 0, "")
            assert kept.pdu and kept.received_at > 0
            assert rig.state(message_id) == MessageState.SENT  # and nothing else changed
        finally:
            rig.stop()
