"""A raw serial client for the simulator's tests and the trace scenarios.

Plain functions over a pyserial port that write bytes and check the exact bytes that come
back, so framing bugs (a missing ``\\r\\n``, a stray byte) fail the test that meets them.
"""

from __future__ import annotations

import re

import serial

__all__ = [
    "FINAL",
    "assert_quiet",
    "at",
    "command",
    "echo_off",
    "exchange",
    "expect",
    "framed",
    "open_port",
    "read_final",
    "read_result",
    "read_until",
    "send_pdu",
]

# A final result code line (docs/modems.md §2).
FINAL = re.compile(rb"\r\n(OK|ERROR|\+CM[ES] ERROR: [^\r]*|COMMAND NOT SUPPORT)\r\n$")


def open_port(path: str, timeout: float = 3.0) -> serial.Serial:
    return serial.Serial(path, 115200, timeout=timeout)


def expect(port: serial.Serial, expected: bytes) -> None:
    """The next bytes from the modem are exactly ``expected``."""
    got = port.read(len(expected))
    assert got == expected


def exchange(port: serial.Serial, data: bytes, expected: bytes) -> None:
    """Write ``data``; the next bytes from the modem are exactly ``expected``."""
    port.write(data)
    expect(port, expected)


def at(port: serial.Serial, line: str, reply: bytes) -> None:
    """With echo off: ``line`` (without its CR) is answered exactly ``reply``."""
    exchange(port, line.encode() + b"\r", reply)


def echo_off(port: serial.Serial) -> None:
    exchange(port, b"ATE0\r", b"ATE0\r\r\nOK\r\n")


def framed(*lines: str) -> bytes:
    """Lines as a modem frames URCs and information: ``\\r\\n<line>\\r\\n`` each."""
    return b"".join(b"\r\n" + line.encode() + b"\r\n" for line in lines)


def assert_quiet(port: serial.Serial, seconds: float = 0.15) -> None:
    """Nothing more arrives (stray bytes would show framing bugs)."""
    old = port.timeout
    port.timeout = seconds
    try:
        assert port.read(64) == b""
    finally:
        port.timeout = old


def read_until(port: serial.Serial, terminator: bytes) -> bytes:
    data = port.read_until(terminator)
    assert data.endswith(terminator), data
    return data


def read_final(port: serial.Serial) -> bytes:
    """Everything up to and including the next final result code."""
    data = b""
    while not FINAL.search(data):
        data += read_until(port, b"\r\n")
    return data


def command(port: serial.Serial, line: str) -> bytes:
    """Write ``line`` + CR; return what follows up to the final result (echo included)."""
    port.write(line.encode("latin-1") + b"\r")
    return read_final(port)


def send_pdu(port: serial.Serial, pdu: str, n: int, *, echo: bool = True) -> bytes:
    """AT+CMGS with the exact prompt; write PDU + Ctrl-Z; return everything after the echo."""
    line = f"AT+CMGS={n}\r".encode()
    exchange(port, line, (line if echo else b"") + b"\r\n> ")
    body = pdu.encode() + b"\x1a"
    port.write(body)
    if echo:
        assert port.read(len(body)) == body
    return read_result(port)


def read_result(port: serial.Serial) -> bytes:
    """The reply after a Ctrl-Z: ``\\r\\n+CMGS: <mr>\\r\\n\\r\\nOK\\r\\n`` or one error line."""
    first = read_until(port, b"\r\n")  # the leading "\r\n" of the first line
    first += read_until(port, b"\r\n")
    if b"ERROR" in first:
        return first
    return first + read_until(port, b"OK\r\n")
