"""CBOR traces: recording a session, and replaying the recorded ones against a raw client."""

from __future__ import annotations

import datetime
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hil.at_client import assert_quiet, exchange, expect, open_port
from hil.record_traces import TRACES
from hil.replay import ReplayMismatch, ReplayModem
from hil.simulator import SimulatedModem
from hil.trace import FORMAT, HOST, MODEM, read_trace

REPO = Path(__file__).resolve().parent.parent


def test_a_trace_holds_every_byte_each_side_wrote_with_its_time(tmp_path):
    path = tmp_path / "session.cbor"
    with SimulatedModem(model="ec25", trace=path, latency=0.05) as modem, open_port(modem.path) as port:
        before = time.monotonic()
        exchange(port, b"AT\r", b"AT\r\r\nOK\r\n")
        between = time.monotonic()
        exchange(port, b"AT+CGMM\r", b"AT+CGMM\r\r\nEC25\r\n\r\nOK\r\n")
    trace = read_trace(path)
    assert (trace.meta["format"], trace.meta["model"]) == (FORMAT, "ec25")
    started = datetime.datetime.fromisoformat(trace.meta["date"])
    assert abs((datetime.datetime.now(datetime.UTC) - started).total_seconds()) < 60
    assert trace.bytes_from(HOST) == b"AT\rAT+CGMM\r"
    assert trace.bytes_from(MODEM) == b"AT\r\r\nOK\r\nAT+CGMM\r\r\nEC25\r\n\r\nOK\r\n"
    times = [event.time for event in trace.events]
    assert times == sorted(times)
    first_host, echo, reply = trace.events[:3]
    assert (echo.data, reply.data) == (b"AT\r", b"\r\nOK\r\n")
    assert reply.time - first_host.time >= 0.045  # the latency is in the trace
    # clock_start puts the events on this process's monotonic clock (times are rounded
    # to the microsecond)
    second_host = next(e for e in trace.events if e.data == b"AT+CGMM\r")
    seen = [trace.meta["clock_start"] + e.time for e in (first_host, second_host)]
    assert before - 1e-6 <= seen[0] <= between + 1e-6
    assert between - 1e-6 <= seen[1]


def play_host_side(port, events, on_modem=lambda event, elapsed: None):
    """Write the host's side of a trace as recorded: each host write once the modem writes
    recorded before it have come (each checked byte for byte); ``on_modem(event, elapsed)``
    gets every modem write with the time since the last host write."""
    written = time.monotonic()
    for event in events:
        if event.source == HOST:
            written = time.monotonic()  # before: a late look would shorten the modem's time
            port.write(event.data)
        else:
            expect(port, event.data)
            on_modem(event, time.monotonic() - written)


def test_replay_keeps_the_recorded_timing():
    events = read_trace(TRACES / "send_single.cbor").events
    ctrl_z = next(e for e in events if e.source == HOST and e.data.endswith(b"\x1a"))
    result = next(e for e in events if e.source == MODEM and e.data.startswith(b"\r\n+CMGS"))
    recorded = result.time - ctrl_z.time
    assert recorded >= 0.25  # the scenario's send latency
    seen = []
    with ReplayModem(TRACES / "send_single.cbor") as replay, open_port(replay.path) as port:
        play_host_side(port, events, lambda event, elapsed: seen.append((event, elapsed)))
        replay.wait_done()
    assert dict(seen)[result] >= recorded - 0.02


def test_replay_fails_loudly_when_the_client_strays():
    first, *_ = read_trace(TRACES / "send_single.cbor").events
    assert first.source == HOST and first.data == b"AT\r"
    with ReplayModem(TRACES / "send_single.cbor") as replay, open_port(replay.path) as port:
        exchange(port, b"AT\r", b"AT\r\r\nOK\r\n")
        port.write(b"ATE1\r")  # the recording has ATE0
        with pytest.raises(ReplayMismatch, match=r"host byte 6: expected b'0\\r"):
            replay.wait_done()
        assert_quiet(port)  # silent from there on


def test_cli_records_and_the_replayer_plays_it_back(tmp_path):
    path, link = tmp_path / "cli.cbor", tmp_path / "modem"
    # leaving each ``with`` closes the pipes and reaps the process
    with subprocess.Popen([sys.executable, "-m", "hil.simulator", "--trace", str(path), "--link", str(link)],
                          cwd=REPO, stdout=subprocess.PIPE) as recorder:
        assert recorder.stdout is not None
        try:
            assert recorder.stdout.readline().decode().strip() == str(link)
            with open_port(str(link)) as port:
                exchange(port, b"AT+CSQ\r", b"AT+CSQ\r\r\n+CSQ: 21,0\r\n\r\nOK\r\n")
            recorder.send_signal(signal.SIGTERM)
            assert recorder.wait(10) == 0
        finally:
            if recorder.poll() is None:
                recorder.kill()
    with subprocess.Popen([sys.executable, "-m", "hil.replay", str(path), "--timeout", "10"],
                          cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as player:
        assert player.stdout is not None and player.stderr is not None
        try:
            assert select.select([player.stdout], [], [], 10)[0]
            with open_port(player.stdout.readline().decode().strip()) as port:
                exchange(port, b"AT+CSQ\r", b"AT+CSQ\r\r\n+CSQ: 21,0\r\n\r\nOK\r\n")
            assert player.wait(10) == 0, player.stderr.read()
        finally:
            if player.poll() is None:
                player.kill()
