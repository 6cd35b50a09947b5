"""Replay every recorded trace (hil/traces, made by ``python -m hil.record_traces``)
against the appliance's ModemDriver: byte-exact, with the recorded timing. The driver
must write exactly the recorded bytes, in order, and reach the scenario's outcome (each
scenario script asserts it: the SMS handed over and the slots deleted, the send results
and references, the state reached, sending paused and resumed, ...). A trace recorded
from a real modem plays the same way, so a field problem can be brought home and replayed
until it is fixed."""

from pathlib import Path

import pytest

from hil.driver_session import DriverSession
from hil.record_traces import SCENARIOS, TRACES, Replayed, record
from hil.replay import ReplayModem


def replay(trace: Path, name: str) -> None:
    """Run scenario ``name``'s script with the driver against the replay of ``trace``."""
    scenario = SCENARIOS[name]
    with ReplayModem(trace) as modem, DriverSession(
        modem.path, watch=lambda: modem.mismatch, **scenario.driver
    ) as session:
        scenario.script(session, Replayed(session))
        modem.wait_done()


def test_every_trace_has_a_replay_case_and_every_case_a_trace():
    assert sorted(path.stem for path in TRACES.glob("*")) == sorted(SCENARIOS)
    assert all(path.suffix == ".cbor" for path in TRACES.iterdir())


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_driver_replays_the_recorded_trace_byte_exact(name):
    replay(TRACES / f"{name}.cbor", name)


def test_a_session_recorded_now_replays_too(tmp_path):
    """The recorder writes what the replay accepts (here: a fresh recording, whatever the
    driver writes today)."""
    replay(record("send_single", tmp_path), "send_single")
