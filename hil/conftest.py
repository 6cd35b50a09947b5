"""Fixtures shared by the simulator's tests: a SIM800 simulator and a port open on it, and
a factory of simulators of any kind."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import serial

# their asserts show both sides on failure
pytest.register_assert_rewrite("hil.at_client", "hil.record_traces")

from hil.at_client import echo_off, open_port  # noqa: E402
from hil.simulator import SimulatedModem  # noqa: E402


@pytest.fixture
def modem() -> Iterator[SimulatedModem]:
    with SimulatedModem() as simulator:
        yield simulator


@pytest.fixture
def port(modem: SimulatedModem) -> Iterator[serial.Serial]:
    with open_port(modem.path) as opened:
        yield opened


@pytest.fixture
def simulated() -> Iterator[Callable[..., tuple[SimulatedModem, serial.Serial]]]:
    """``simulated(**options)``: a started simulator (SimulatedModem's keyword arguments)
    and a port open on it with echo off; both closed after the test."""
    with contextlib.ExitStack() as stack:

        def make(**options: Any) -> tuple[SimulatedModem, serial.Serial]:
            modem = stack.enter_context(SimulatedModem(**options))
            port = stack.enter_context(open_port(modem.path))
            echo_off(port)
            return modem, port

        yield make
