"""Record the driver's session with the simulator to a CBOR trace, then replay the modem's
side byte-exact, with its timing, against a fresh driver: the driver must write exactly
the same bytes and end in the same state. A trace recorded from a real modem plays the
same way, so a field problem can be brought home and replayed until it is fixed."""

from appliance.modem.driver import ModemState
from appliance.store.models import MessageState
from appliance.store.queue import NewMessage
from hil.replay import ReplayModem
from hil.simulator import SimulatedModem

from .test_modem_path import Rig, wait_for

# long health and sweep intervals: nothing timer-driven may interleave differently on replay
QUIET = {"health_interval": 3600, "sweep_interval": 3600}


def session(rig):
    wait_for(lambda: rig.gateways[0].driver.state == ModemState.READY, what="ready")
    (message_id,) = rig.send(NewMessage("+447700900123", "recorded and replayed", id="replay-1"))
    wait_for(lambda: rig.state(message_id) == MessageState.SENT, what="sent")


def test_a_recorded_driver_session_replays_byte_exact_against_the_driver(tmp_path):
    trace = tmp_path / "session.cbor"
    with SimulatedModem(trace=trace, status_reports=False) as modem:
        rig = Rig(tmp_path / "first", [modem], **QUIET).start()
        try:
            session(rig)
        finally:
            rig.stop()
    with ReplayModem(trace) as replay:
        rig = Rig(tmp_path / "second", [replay], **QUIET).start()
        try:
            session(rig)
            replay.wait_done(timeout=10)
        finally:
            rig.stop()
